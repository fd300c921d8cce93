"""Catalog tables (SQLModel): plain tables with readable column names for sqlite3 and Datasette.

JSON-shaped values (lists, per-layer details, evidence) are stored in JSON columns; everything a
query filters or sorts on is a plain indexed column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 2


class Model(SQLModel, table=True):
    """One Hub repository."""

    __tablename__ = "models"
    __table_args__ = (
        Index("ix_models_downloads", "downloads"),
        Index("ix_models_likes", "likes"),
        Index("ix_models_last_modified", "last_modified"),
        # Covering indexes for the facts -> model join step of filtered queries: the join key
        # plus what the popular sorts and filters read, so no table row is touched per candidate.
        # The model id rides along on PostgreSQL (SQLite keeps the rowid in every index), so the
        # join reads no table row there either.
        Index(
            "ix_models_snapshot_rank",
            "snapshot_id",
            "downloads",
            "likes",
            postgresql_include=["id"],
        ),
        Index("ix_models_family_snapshot", "family", "snapshot_id"),
        Index("ix_models_author_snapshot", "author", "snapshot_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo_id: str = Field(unique=True, index=True)
    author: str | None = None  # indexed with snapshot_id (ix_models_author_snapshot)
    family: str | None = None  # indexed with snapshot_id (ix_models_family_snapshot)
    model_type: str | None = Field(default=None, index=True)
    architectures: list[str] | None = Field(default=None, sa_column=Column(JSON))
    pipeline_tag: str | None = Field(default=None, index=True)
    library_name: str | None = None
    license: str | None = Field(default=None, index=True)
    gated: str | None = None  # None (open), "auto" or "manual"
    private: bool = False
    downloads: int | None = None
    likes: int | None = None
    last_modified: str | None = None  # ISO 8601, as the Hub reports it
    sha: str | None = Field(default=None)  # current commit sha
    failed_sha: str | None = None  # commit whose config failed for good; not fetched again
    base_model: str | None = Field(default=None, index=True)  # lineage (first base model)
    tags: list[str] | None = Field(default=None, sa_column=Column(JSON))
    snapshot_id: int | None = Field(default=None, foreign_key="config_snapshots.id")
    status: str = "ok"  # ok | error | gated | missing
    error: str | None = None  # last per-model error, e.g. "invalid-json: ..."
    first_seen: str | None = None
    last_seen: str | None = None


class ConfigSnapshot(SQLModel, table=True):
    """A config.json as fetched at one commit."""

    __tablename__ = "config_snapshots"
    __table_args__ = (UniqueConstraint("model_id", "content_hash", "commit_sha"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="models.id", index=True)
    repo_id: str = Field(index=True)
    commit_sha: str | None = None
    etag: str | None = None
    fetched_at: str
    content_hash: str = Field(index=True)  # sha256 of the raw bytes
    size: int
    config_text: str | None = Field(default=None, sa_column=Column(Text))  # None when stripped


class PositionFacts(SQLModel, table=True):
    """Position-encoding facts of one snapshot, as the tagger derived them."""

    __tablename__ = "position_facts"
    __table_args__ = (
        # Covering for the tag + context filters: the join key rides along in the index.
        Index("ix_facts_pe_ctx", "position_encoding", "effective_context", "snapshot_id"),
        Index("ix_facts_effective_context", "effective_context", "snapshot_id"),
        Index("ix_facts_scaling", "scaling_type", "verify_fingerprint", "snapshot_id"),
        # The join key with a sort key: a filter on models sorted by context (family=qwen)
        # joins its matches to their contexts without reading the facts rows.
        Index("ix_facts_snapshot_context", "snapshot_id", "effective_context"),
    )

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="config_snapshots.id", unique=True, index=True)
    tagger_version: int
    position_encoding: str = Field(index=True)
    rope_theta: float | None = None
    rope_theta_local: float | None = None
    rotary_dim: int | None = None
    rotary_fraction: float | None = None
    head_dim: int | None = None
    pairing: str | None = None
    scaling_type: str | None = None  # indexed with verify_fingerprint (ix_facts_scaling)
    scaling_factor: float | None = None
    scaling_params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    original_context: int | None = None
    declared_context: int | None = None
    effective_context: int | None = None
    usable_context: int | None = None
    sliding_window: int | None = None
    per_layer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    nope_layers: list[int] | None = Field(default=None, sa_column=Column(JSON))
    mrope_section: list[int] | None = Field(default=None, sa_column=Column(JSON))
    attention_temperature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    torch_dtype: str | None = None
    rope_parameters: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    rope_fingerprint: str | None = Field(default=None, index=True)
    verify_fingerprint: str | None = Field(default=None, index=True)  # -> verifications
    evidence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    warnings: list[str] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = None
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # the rest


class Verification(SQLModel, table=True):
    """Verifier result for one verification fingerprint (shared by every model with it)."""

    __tablename__ = "verifications"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(unique=True, index=True)
    verdict: str = Field(index=True)  # pass | warn | fail
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    runtimes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    device: str
    core_version: str
    verified_at: str


class Run(SQLModel, table=True):
    """One run of a job (ingest, scrape, verify, nightly): the run log."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # ingest | scrape | verify | nightly
    started_at: str
    ended_at: str | None = None
    status: str = "running"  # running | ok | partial | failed | interrupted
    counts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = None


class Change(SQLModel, table=True):
    """A field-level change of a model's position-encoding facts between two snapshots."""

    __tablename__ = "changes"

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="models.id", index=True)
    repo_id: str = Field(index=True)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    commit_sha: str | None = None
    field_path: str
    old_value: str | None = None  # JSON text
    new_value: str | None = None  # JSON text
    changed_at: str = Field(index=True)


class FetchError(SQLModel, table=True):
    """A per-model failure recorded during a run (the run goes on)."""

    __tablename__ = "fetch_errors"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    repo_id: str = Field(index=True)
    reason: str  # short code: invalid-json, not-object, too-large, not-utf8, unreadable, ...
    detail: str | None = None
    at: str


class Meta(SQLModel, table=True):
    """Key/value facts about the catalog itself, e.g. schema_version."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


class GGUFHeader(SQLModel, table=True):
    """One GGUF file's header as last read (re-read only when the file's sha changes): its rope
    keys, lineage and the check against its source config."""

    __tablename__ = "gguf_headers"
    __table_args__ = (UniqueConstraint("repo_id", "filename", name="uq_gguf_file"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: str = Field(index=True)
    filename: str
    file_sha: str | None = Field(default=None, index=True)  # the Hub's ETag (sha256 for LFS)
    commit_sha: str | None = None  # the repo commit it was last seen at
    fetched_at: str
    architecture: str | None = None
    header_bytes: int
    file_size: int
    fetched_bytes: int
    rope: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    base_models: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    verdict: str | None = Field(default=None, index=True)  # pass | warn | fail | n/a
    check: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
