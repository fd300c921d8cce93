"""Reading the catalog for the site: the last run's time, changes, verifier rows, and every model
joined with its snapshot, position facts and verification, streamed in repo id order.

`catalog_row` flattens one record into the catalog table's columns (`COLUMNS`), the rows every
page function works from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

# Catalog columns shared by the JSON shards, the CSV/JSON downloads and the browser script.
COLUMNS = (
    "repo_id",
    "page",
    "position_encoding",
    "rope_theta",
    "scaling_type",
    "scaling_factor",
    "declared_context",
    "original_context",
    "served_context",
    "verdict",
    "family",
    "model_type",
    "downloads",
    "likes",
    "drift",
)

# Not shown: row ids, and when a scrape last listed the model (it moves every night; keeping it
# off the page lets an incremental render reuse the page while nothing about the model changed).
MODEL_SKIP = ("id", "snapshot_id", "last_seen")


def read_stamp(conn: Any) -> str | None:
    from sqlalchemy import func, select

    from registry.models import Run

    table = Run.__table__  # type: ignore[attr-defined]
    ended = conn.execute(select(func.max(table.c.ended_at))).scalar()
    started = conn.execute(select(func.max(table.c.started_at))).scalar()
    return ended or started


def read_changes(conn: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from registry.models import Change

    table = Change.__table__  # type: ignore[attr-defined]
    query = select(table).order_by(table.c.changed_at.desc(), table.c.id.desc())
    return [dict(row) for row in conn.execute(query).mappings()]


def present_columns(conn: Any, table: Any) -> list[Any]:
    """The declared columns of `table` that the catalog file has (an older file may lack a
    column added since; a read-only render does not migrate)."""
    from sqlalchemy import inspect

    names = {c["name"] for c in inspect(conn).get_columns(table.name)}
    return [c for c in table.c if c.name in names]


def _model_query(conn: Any) -> Any:
    """Every model with its current snapshot and position facts (outer joins)."""
    from sqlalchemy import select

    from registry.models import ConfigSnapshot, Model, PositionFacts

    m = Model.__table__  # type: ignore[attr-defined]
    s = ConfigSnapshot.__table__  # type: ignore[attr-defined]
    f = PositionFacts.__table__  # type: ignore[attr-defined]
    facts = [
        c.label(f"f_{c.name}")
        for c in present_columns(conn, f)
        if c.name not in ("id", "snapshot_id")
    ]
    snap = [s.c.commit_sha, s.c.fetched_at, s.c.content_hash, s.c.config_text]
    return (
        select(*present_columns(conn, m), *[c.label(f"s_{c.name}") for c in snap], *facts)
        .select_from(m)
        .outerjoin(s, s.c.id == m.c.snapshot_id)
        .outerjoin(f, f.c.snapshot_id == m.c.snapshot_id)
        .order_by(m.c.repo_id)
    )


def verifications(conn: Any) -> dict[str, dict[str, Any]]:
    """Verifier rows by fingerprint, read once (many models share one)."""
    from sqlalchemy import select

    from registry.models import Verification

    table = Verification.__table__  # type: ignore[attr-defined]
    return {row["fingerprint"]: dict(row) for row in conn.execute(select(table)).mappings()}


def _split(row: dict[str, Any], verified: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One joined row as {'model', 'snapshot', 'facts', 'verification'} dicts."""
    parts: dict[str, dict[str, Any]] = {"model": {}, "s": {}, "f": {}}
    for key, value in row.items():
        prefix, _, rest = key.partition("_")
        if prefix in ("s", "f") and rest:
            parts[prefix][rest] = value
        else:
            parts["model"][key] = value
    facts = parts["f"] if parts["f"].get("position_encoding") else None
    return {
        "model": parts["model"],
        "snapshot": parts["s"] if parts["s"].get("content_hash") else None,
        "facts": facts,
        "verification": verified.get((facts or {}).get("verify_fingerprint") or ""),
    }


def iter_models(
    conn: Any, shard: tuple[int, int] | None = None, ids: list[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Joined model records in repo id order, streamed in batches; `shard=(k, n)` keeps the
    models whose id is k modulo n; `ids` keeps those models only (read in chunks)."""
    from registry.models import Model

    verified = verifications(conn)
    query = _model_query(conn)
    column = Model.__table__.c.id  # type: ignore[attr-defined]
    if shard is not None:
        query = query.where(column % shard[1] == shard[0])
    if ids is None:
        result = conn.execution_options(yield_per=2000).execute(query).mappings()
        for row in result:
            yield _split(row, verified)
        return
    for start in range(0, len(ids), ID_CHUNK):
        chunk = sorted(ids[start : start + ID_CHUNK])
        for row in conn.execute(query.where(column.in_(chunk))).mappings():
            yield _split(row, verified)


ID_CHUNK = 500  # model ids per IN (...) when reading chosen models


def catalog_row(record: dict[str, Any], has_page: bool) -> dict[str, Any]:
    """The flat row of the catalog table (COLUMNS order) for one joined record."""
    from registry.lead import build_lead

    model, facts = record["model"], record["facts"] or {}
    verification = record["verification"] or {}
    return {
        "repo_id": model["repo_id"],
        "page": has_page,
        "position_encoding": facts.get("position_encoding") or "untagged",
        "rope_theta": facts.get("rope_theta"),
        "scaling_type": facts.get("scaling_type"),
        "scaling_factor": facts.get("scaling_factor"),
        "declared_context": facts.get("declared_context"),
        "original_context": facts.get("original_context"),
        "served_context": (build_lead(facts, verification, model.get("model_type")) or {}).get(
            "served_context"
        ),
        "verdict": verification.get("verdict"),
        "family": model.get("family"),
        "model_type": model.get("model_type"),
        "downloads": model.get("downloads"),
        "likes": model.get("likes"),
        "drift": None,  # worst drift from its base; set by the model pages
    }


def popularity(row: dict[str, Any]) -> tuple[int, str]:
    """Default catalog order: most downloaded first, then repo id."""
    return (-(row["downloads"] or 0), row["repo_id"])


def tag_definitions() -> dict[str, str]:
    """Tag -> one-line definition from the tagger's vocabulary (`TAGS`)."""
    from scrapers.tagger.vocabulary import TAGS

    out: dict[str, str] = {}
    for tag, value in dict(TAGS).items():
        text = value if isinstance(value, str) else getattr(value, "definition", None)
        if text is None and isinstance(value, dict):
            text = value.get("definition") or value.get("summary")
        out[str(tag)] = str(text or "")
    return dict(sorted(out.items()))


def counts(rows: list[dict[str, Any]], key: str) -> list[tuple[str, int]]:
    """(value, count) most common first, then by value; None values left out."""
    tally = Counter(map(itemgetter(key), rows))  # counted in C: one call per facet
    tally.pop(None, None)
    return sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
