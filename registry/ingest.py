"""Storing configs in the catalog: validate the bytes, tag them, upsert the model, record changes.

`store_configs` is the one write path for fetched `config.json` files; the Hub scraper, the
nightly job and `ingest_tree` (a Hub-like folder) all go through it, a batch at a time
(`store_config` and `record_error` are its one-item forms). A batch reads what it needs in a few
IN (...) queries, tags and diffs plain dicts, and writes with bulk INSERT / UPDATE statements.
Bad input never raises: it becomes a `FetchError` row and the model's previous good snapshot
stays current.

NaN / Infinity: Python's json module (and so transformers) accepts these literals, so we accept
them too. The raw text is stored verbatim; in the derived facts a non-finite number becomes NULL
in a numeric column and the text "NaN" / "Infinity" inside JSON columns (which must stay valid
JSON for sqlite3 and Datasette), and the facts carry a warning saying so.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import BadInputDir
from registry.families import family_of
from registry.models import Change, ConfigSnapshot, FetchError, Model, PositionFacts, ScrapeRun

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Engine
    from sqlmodel import Session, SQLModel

    from scrapers.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]

MAX_CONFIG_BYTES = 4 * 1024 * 1024  # real configs are < 200 KiB; anything bigger is not a config
MAX_HUB_JSON_BYTES = 1024 * 1024
_MAX_DETAIL = 2000
NONFINITE_WARNING = "config contains NaN/Infinity literals; stored as NULL or text in the facts"

# TagResult fields that are never written as Change rows (hashes, provenance, prose).
_NOT_DIFFED = {
    "tagger_version",
    "evidence",
    "warnings",
    "reason",
    "rope_fingerprint",
    "verify_fingerprint",
    "raw_rope",
    "raw_rope_path",
    "source_of_truth",
}
_FACT_COLUMNS = set(PositionFacts.model_fields) - {"id", "snapshot_id", "details"}
_STATUS_OF_REASON = {"gated": "gated", "missing-config": "missing", "not-found": "missing"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clip(text: str | None, limit: int = _MAX_DETAIL) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Hub metadata -------------------------------------------------------------------------------


def _str(value: Any, limit: int = 512) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first_str(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v), None)
    return _str(value)


def _tag_value(tags: list[str], prefix: str) -> str | None:
    for tag in tags:
        if tag.startswith(prefix):
            rest = tag[len(prefix) :]
            kind, _, target = rest.partition(":")
            if target and kind in ("finetune", "quantized", "adapter", "merge"):
                return target
            return rest or None
    return None


@dataclass
class HubMeta:
    """Listing metadata of one repository, as the Hub's model-info JSON reports it."""

    sha: str | None = None
    last_modified: str | None = None
    downloads: int | None = None
    likes: int | None = None
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    gated: str | None = None  # None (open), "auto" or "manual"
    private: bool = False
    library_name: str | None = None
    license: str | None = None
    base_model: str | None = None
    author: str | None = None

    @classmethod
    def from_api(cls, d: Any) -> HubMeta:
        """Parse model-info JSON (`sha`, `lastModified`, `cardData`...); bad types become None."""
        if not isinstance(d, dict):
            return cls()
        raw_tags = d.get("tags")
        tags = (
            [t[:256] for t in raw_tags if isinstance(t, str)][:1000]
            if isinstance(raw_tags, list)
            else []
        )
        card_data = d.get("cardData")
        card: dict[str, Any] = card_data if isinstance(card_data, dict) else {}
        gated = d.get("gated")
        gated_value = gated if gated in ("auto", "manual") else ("auto" if gated is True else None)
        return cls(
            sha=_str(d.get("sha"), 64),
            last_modified=_str(d.get("lastModified") or d.get("last_modified"), 64),
            downloads=_int(d.get("downloads")),
            likes=_int(d.get("likes")),
            tags=tags,
            pipeline_tag=_str(d.get("pipeline_tag")),
            gated=gated_value,
            private=d.get("private") is True,
            library_name=_str(d.get("library_name")),
            license=_first_str(card.get("license")) or _tag_value(tags, "license:"),
            base_model=_first_str(card.get("base_model")) or _tag_value(tags, "base_model:"),
            author=_str(d.get("author"), 128),
        )


# --- validating the bytes -----------------------------------------------------------------------


class ConfigRejected(Exception):
    """Raised by `parse_config`: the bytes are not a usable config (`reason` is a short code)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class ParsedConfig:
    config: dict[str, Any]
    text: str
    nonfinite: bool


def parse_config(raw: bytes) -> ParsedConfig:
    """Decode and parse config bytes. Raises ConfigRejected: too-large, not-utf8, invalid-json,
    not-object."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigRejected("too-large", f"more than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigRejected("not-utf8", f"byte {exc.start} is not UTF-8") from None
    seen_nonfinite = False

    def constant(name: str) -> float:
        nonlocal seen_nonfinite
        seen_nonfinite = True
        return float(name.replace("Infinity", "inf"))

    try:
        value = json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise ConfigRejected("invalid-json", detail) from None
    except RecursionError:
        raise ConfigRejected("invalid-json", "nested too deeply") from None
    if not isinstance(value, dict):
        raise ConfigRejected("not-object", f"top level is a JSON {type(value).__name__}, not {{}}")
    return ParsedConfig(value, text, seen_nonfinite)


# --- facts from a tag result --------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def facts_from_tag(tag: TagResult, *, nonfinite: bool = False) -> dict[str, Any]:
    """PositionFacts column values for a tag result: columns where they exist, `details` for
    every other field, so nothing the tagger says is lost."""
    from scrapers.result import TAGGER_VERSION

    data = tag.to_dict()
    values: dict[str, Any] = {"tagger_version": TAGGER_VERSION, "details": {}}
    for key, value in data.items():
        if key in _FACT_COLUMNS:
            is_json = isinstance(value, dict | list | tuple)
            values[key] = _json_safe(value) if is_json else _scalar(value)
        else:
            values["details"][key] = _json_safe(value)
    if nonfinite:
        values["warnings"] = [*(values.get("warnings") or []), NONFINITE_WARNING]
    return values


def fact_paths(values: dict[str, Any]) -> dict[str, str]:
    """Flatten facts into field path -> JSON text (`rope_parameters.default.factor`); nulls left
    out, so a missing key and a null compare equal."""
    out: dict[str, str] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                walk(f"{path}.{key}", value[key])
        elif value is not None and value != {}:
            out[path] = json.dumps(value, sort_keys=True)

    for key, value in values.items():
        if key in ("id", "snapshot_id") or key in _NOT_DIFFED:
            continue
        if key == "details":
            for sub, sub_value in (value or {}).items():
                if sub not in _NOT_DIFFED:
                    walk(sub, sub_value)
        else:
            walk(key, value)
    return out


def diff_facts(
    old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[str, str | None, str | None]]:
    """(field path, old JSON, new JSON) for every fact that differs, sorted by path."""
    before, after = fact_paths(old), fact_paths(new)
    paths = sorted(set(before) | set(after))
    return [(p, before.get(p), after.get(p)) for p in paths if before.get(p) != after.get(p)]


# --- models ------------------------------------------------------------------------------------


def _hub_values(row: dict[str, Any], hub: HubMeta | None, now: str) -> None:
    """Refresh a model row's listing metadata in place (the last seen time always)."""
    row["last_seen"] = now
    if hub is None:
        return
    row["sha"] = hub.sha or row["sha"]
    row["last_modified"] = hub.last_modified or row["last_modified"]
    row["downloads"] = hub.downloads
    row["likes"] = hub.likes
    row["tags"] = hub.tags or None
    row["pipeline_tag"] = hub.pipeline_tag
    row["gated"] = hub.gated
    row["private"] = hub.private
    row["library_name"] = hub.library_name
    row["license"] = hub.license
    row["base_model"] = hub.base_model
    row["author"] = hub.author or row["author"]


def _config_values(row: dict[str, Any], config: dict[str, Any], tag: TagResult | None) -> None:
    model_type = tag.model_type if tag is not None and tag.model_type else None
    model_type = model_type or _str(config.get("model_type"), 128)
    row["model_type"] = model_type
    archs = config.get("architectures")
    row["architectures"] = (
        [a[:128] for a in archs if isinstance(a, str)][:16] if isinstance(archs, list) else None
    )
    row["family"] = family_of(row["repo_id"], model_type)


# --- runs ---------------------------------------------------------------------------------------


def known_shas(session: Session) -> dict[str, str | None]:
    """Repo id -> commit sha of its current snapshot (None when unknown or never fetched)."""
    from sqlmodel import col, select

    stmt = select(Model.repo_id, ConfigSnapshot.commit_sha).outerjoin(
        ConfigSnapshot, col(Model.snapshot_id) == col(ConfigSnapshot.id)
    )
    return {str(repo_id): sha for repo_id, sha in session.exec(stmt)}


@dataclass(frozen=True)
class KnownFailure:
    """A commit whose config failed for good, and why (`models.failed_sha` and `models.error`)."""

    sha: str
    reason: str
    detail: str | None


def known_failures(session: Session) -> dict[str, KnownFailure]:
    """Repo id -> the commit that failed for good (a reason in REMEMBERED_REASONS)."""
    from sqlmodel import col, select

    stmt = select(Model.repo_id, Model.failed_sha, Model.error).where(
        col(Model.failed_sha).is_not(None)
    )
    out: dict[str, KnownFailure] = {}
    for repo_id, sha, error in session.exec(stmt):
        reason, _, detail = (error or "unknown").partition(": ")  # written by _Batch.fail
        out[repo_id] = KnownFailure(str(sha), reason, detail or None)
    return out


def start_run(session: Session, kind: str) -> ScrapeRun:
    """Add a running ScrapeRun row (flushed, so it has an id)."""
    run = ScrapeRun(kind=kind, started_at=_now())
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    run: ScrapeRun,
    *,
    status: str,
    counts: dict[str, Any],
    error: str | None = None,
) -> ScrapeRun:
    """Close a run: end time, final status (ok | partial | failed | interrupted) and counts."""
    run.ended_at = _now()
    run.status = status
    run.counts = dict(counts)
    run.error = _clip(error)
    session.add(run)
    return run


# --- storing configs ----------------------------------------------------------------------------

# Failures that depend only on the repo's files at one commit: the same commit gives the same
# answer, so the commit is remembered (`models.failed_sha`) and the scraper does not fetch it
# again. Network failures (5xx, timeouts, rate limits) and access answers (gated) are not here.
REMEMBERED_REASONS = frozenset(
    {"too-large", "not-utf8", "invalid-json", "not-object", "missing-config"}
)
_IN_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit


@dataclass
class StoreOutcome:
    """What `store_configs` did for one item: status new | changed | unchanged | error."""

    repo_id: str
    status: str
    reason: str | None = None
    detail: str | None = None
    snapshot_id: int | None = None
    changed_fields: list[str] = field(default_factory=list)


@dataclass
class StoreItem:
    """One repo for `store_configs`.

    With `raw`: fetched config bytes. With `failure` (reason, detail): a failure seen before any
    bytes. With neither: only the Hub metadata is refreshed (a repo whose commit is unchanged).
    `recalled` marks a failure remembered from an earlier run at the same commit: it is recorded
    for this run, and the model's own error text stays as it is.
    """

    repo_id: str
    raw: bytes | None = None
    hub: HubMeta | None = None
    etag: str | None = None
    commit_sha: str | None = None
    failure: tuple[str, str | None] | None = None
    recalled: bool = False

    @property
    def sha(self) -> str | None:
        return self.commit_sha or (self.hub.sha if self.hub is not None else None)


def _default_tagger() -> Tagger:
    from scrapers.tagger import tag_config

    return tag_config


def _run_tagger(
    tagger: Tagger | None, config: dict[str, Any]
) -> tuple[TagResult | None, str | None]:
    """The tag result, or None and the error text when the tagger failed (a bug, kept visible)."""
    try:
        return (tagger or _default_tagger())(config), None
    except Exception as exc:  # the tagger promises never to raise; if it does, keep the bytes
        return None, f"{type(exc).__name__}: {exc}"


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def _new_facts_row() -> dict[str, Any]:
    """Column values of a facts row before the tag result is applied."""
    facts = PositionFacts(snapshot_id=0, tagger_version=0, position_encoding="unknown")
    return facts.model_dump(exclude={"id"})


@dataclass(eq=False)
class _Snap:
    """A snapshot of a batch's model: stored (`id` set) or new (`insert` holds its columns)."""

    id: int | None
    content_hash: str
    commit_sha: str | None
    insert: dict[str, Any] | None = None
    facts: dict[str, Any] | None = None  # its facts row, once known
    facts_known: bool = False
    facts_id: int | None = None  # the stored facts row to update; None: insert
    write_facts: dict[str, Any] | None = None  # facts columns to write at the end


@dataclass(eq=False)
class _Entry:
    """A batch's copy of one `models` row, with its snapshots."""

    row: dict[str, Any]
    snaps: list[_Snap]
    current: _Snap | None = None
    new: bool = False


class _Batch:
    """Stores a batch: a few IN (...) reads, work on plain dicts, then bulk INSERT / UPDATE.

    Items are handled in order against the batch's copy of the catalog, so one repo may appear
    more than once. Ids of new rows are known only after `write`, which resolves them.
    """

    def __init__(self, session: Session, *, run_id: int | None, tagger: Tagger | None) -> None:
        self.session = session
        self.run_id = run_id
        self.tagger = tagger
        self.now = _now()
        self.entries: dict[str, _Entry] = {}
        self.errors: list[dict[str, Any]] = []
        self.changes: list[tuple[_Entry, dict[str, Any]]] = []
        self.pending: list[tuple[StoreOutcome, _Snap | None]] = []

    # reading ---------------------------------------------------------------------------------

    def load(self, repo_ids: list[str]) -> None:
        from sqlalchemy import select

        models, snaps, facts = _table(Model), _table(ConfigSnapshot), _table(PositionFacts)
        execute = self.session.execute
        by_id: dict[int, _Entry] = {}
        for chunk in _chunks(repo_ids):
            for mapping in execute(select(models).where(models.c.repo_id.in_(chunk))).mappings():
                entry = _Entry(dict(mapping), [])
                self.entries[entry.row["repo_id"]] = by_id[entry.row["id"]] = entry
        current: dict[int, _Snap] = {}
        cols = (snaps.c.id, snaps.c.model_id, snaps.c.content_hash, snaps.c.commit_sha)
        for chunk in _chunks(list(by_id)):
            for sid, model_id, content_hash, sha in execute(
                select(*cols).where(snaps.c.model_id.in_(chunk))
            ):
                snap = _Snap(sid, content_hash, sha)
                entry = by_id[model_id]
                entry.snaps.append(snap)
                if sid == entry.row["snapshot_id"]:
                    entry.current = current[sid] = snap
                    snap.facts_known = True
        for chunk in _chunks(list(current)):
            for mapping in execute(select(facts).where(facts.c.snapshot_id.in_(chunk))).mappings():
                snap = current[mapping["snapshot_id"]]
                snap.facts, snap.facts_id = dict(mapping), mapping["id"]

    def _ensure_facts(self, snap: _Snap) -> None:
        """Read the facts of a snapshot that was not current when the batch was loaded."""
        if snap.facts_known:
            return
        from sqlalchemy import select

        table = _table(PositionFacts)
        stmt = select(table).where(table.c.snapshot_id == snap.id)
        mapping = self.session.execute(stmt).mappings().first()
        if mapping is not None:
            snap.facts, snap.facts_id = dict(mapping), mapping["id"]
        snap.facts_known = True

    def entry(self, repo_id: str) -> _Entry:
        entry = self.entries.get(repo_id)
        if entry is None:
            row = Model(repo_id=repo_id, author=repo_id.split("/", 1)[0], first_seen=self.now)
            entry = self.entries[repo_id] = _Entry(row.model_dump(), [], new=True)
        return entry

    # deciding --------------------------------------------------------------------------------

    def store(self, item: StoreItem) -> None:
        entry = self.entry(item.repo_id)
        _hub_values(entry.row, item.hub, self.now)
        if item.failure is not None:
            reason, detail = item.failure
            self.fail(entry, reason, detail, item.sha, recalled=item.recalled)
            self.done(StoreOutcome(item.repo_id, "error", reason, detail), entry.current)
        elif item.raw is None:
            self.done(StoreOutcome(item.repo_id, "unchanged"), entry.current)
        else:
            self.store_bytes(entry, item)

    def done(self, outcome: StoreOutcome, snap: _Snap | None) -> None:
        self.pending.append((outcome, snap))

    def fail(
        self,
        entry: _Entry,
        reason: str,
        detail: str | None,
        sha: str | None,
        *,
        recalled: bool = False,
    ) -> None:
        """A fetch_errors row; the model's status says what went wrong, its snapshot stays."""
        row = entry.row
        if not recalled:
            row["status"] = _STATUS_OF_REASON.get(reason, "error")
            row["error"] = _clip(f"{reason}: {detail}" if detail else reason, 500)
            if reason in REMEMBERED_REASONS and sha:
                row["failed_sha"] = sha
        self.errors.append(
            {
                "run_id": self.run_id,
                "repo_id": row["repo_id"],
                "reason": reason,
                "detail": _clip(detail),
                "at": self.now,
            }
        )

    def store_bytes(self, entry: _Entry, item: StoreItem) -> None:
        """Validate, compare with the current snapshot, tag, and queue what changed."""
        raw, row, sha = item.raw or b"", entry.row, item.sha
        try:
            parsed = parse_config(raw)
        except ConfigRejected as exc:
            self.fail(entry, exc.reason, exc.detail, sha)
            self.done(StoreOutcome(item.repo_id, "error", exc.reason, exc.detail), entry.current)
            return
        content_hash = hashlib.sha256(raw).hexdigest()
        current = entry.current
        same = (
            current is not None
            and current.content_hash == content_hash
            and current.commit_sha == sha
        )
        if current is not None:
            self._ensure_facts(current)
        row["status"], row["error"], row["failed_sha"] = "ok", None, None
        row["sha"] = sha or row["sha"]
        if same and current is not None and current.facts is not None:
            self.done(StoreOutcome(item.repo_id, "unchanged"), current)
            return
        old_values = (current.facts if current is not None else None) or {}
        snap = self.snapshot(entry, item, parsed.text, content_hash, len(raw))
        tag, tag_error = _run_tagger(self.tagger, parsed.config)
        _config_values(row, parsed.config, tag)
        entry.current = snap
        new_values: dict[str, Any] = {}
        if tag is not None:
            new_values = facts_from_tag(tag, nonfinite=parsed.nonfinite)
            self._ensure_facts(snap)
            base = snap.facts or _new_facts_row()
            snap.facts = snap.write_facts = {**base, **new_values}
        else:
            self.fail(entry, "tagger-error", tag_error, sha)
        # No history against a snapshot that never had facts (its tagging failed).
        changes = diff_facts(old_values, new_values) if old_values and new_values else []
        self.record_changes(entry, sha, changes)
        status = "new" if current is None else ("unchanged" if same else "changed")
        fields = [c[0] for c in changes]
        self.done(StoreOutcome(item.repo_id, status, changed_fields=fields), snap)

    def record_changes(
        self, entry: _Entry, sha: str | None, changes: list[tuple[str, str | None, str | None]]
    ) -> None:
        for path, old, new in changes:
            row = {
                "repo_id": entry.row["repo_id"],
                "run_id": self.run_id,
                "commit_sha": sha,
                "field_path": path,
                "old_value": old,
                "new_value": new,
                "changed_at": self.now,
            }
            self.changes.append((entry, row))

    def snapshot(
        self, entry: _Entry, item: StoreItem, text: str, content_hash: str, size: int
    ) -> _Snap:
        """The model's snapshot with these bytes at this commit: reused, or a new one."""
        sha = item.sha
        for snap in entry.snaps:
            if snap.content_hash == content_hash and snap.commit_sha == sha:
                return snap
        snap = _Snap(None, content_hash, sha, facts_known=True)
        snap.insert = {
            "repo_id": item.repo_id,
            "commit_sha": sha,
            "etag": _str(item.etag, 256),
            "fetched_at": self.now,
            "content_hash": content_hash,
            "size": size,
            "config_text": text,
        }
        entry.snaps.append(snap)
        return snap

    # writing ---------------------------------------------------------------------------------

    def write(self) -> list[StoreOutcome]:
        """Write the batch with one bulk statement per table; the outcomes, with snapshot ids."""
        from sqlalchemy import bindparam, insert, update

        execute = self.session.execute
        models = _table(Model)
        entries = list(self.entries.values())
        self._insert_new(entries)
        self._write_facts_rows(entries)
        rows = []
        for entry in entries:
            entry.row["snapshot_id"] = entry.current.id if entry.current is not None else None
            values = {k: v for k, v in entry.row.items() if k != "id"}
            rows.append({"_id": entry.row["id"], **values})
        execute(update(models).where(models.c.id == bindparam("_id")), rows)
        if self.changes:
            changes = [c | {"model_id": e.row["id"]} for e, c in self.changes]
            execute(insert(_table(Change)), changes)
        if self.errors:
            execute(insert(_table(FetchError)), self.errors)
        for outcome, at in self.pending:
            outcome.snapshot_id = at.id if at is not None else None
        return [outcome for outcome, _at in self.pending]

    def _insert_new(self, entries: list[_Entry]) -> None:
        """Insert new models, then new snapshots, taking their ids (INSERT ... RETURNING)."""
        from sqlalchemy import insert

        execute = self.session.execute
        models, snaps = _table(Model), _table(ConfigSnapshot)
        new_models = [e for e in entries if e.new]
        if new_models:
            rows = [{k: v for k, v in e.row.items() if k != "id"} for e in new_models]
            stmt = insert(models).returning(models.c.id, sort_by_parameter_order=True)
            for entry, (new_id,) in zip(new_models, execute(stmt, rows), strict=True):
                entry.row["id"] = new_id
        new_snaps = [(e, s) for e in entries for s in e.snaps if s.id is None]
        if new_snaps:
            rows = [{**(s.insert or {}), "model_id": e.row["id"]} for e, s in new_snaps]
            stmt = insert(snaps).returning(snaps.c.id, sort_by_parameter_order=True)
            for (_entry, snap), (new_id,) in zip(new_snaps, execute(stmt, rows), strict=True):
                snap.id = new_id

    def _write_facts_rows(self, entries: list[_Entry]) -> None:
        from sqlalchemy import bindparam, insert, update

        table = _table(PositionFacts)
        inserts, updates = [], []
        for entry in entries:
            for snap in entry.snaps:
                if snap.write_facts is None:
                    continue
                values = {k: v for k, v in snap.write_facts.items() if k != "id"}
                values["snapshot_id"] = snap.id
                if snap.facts_id is None:
                    inserts.append(values)
                else:
                    updates.append({"_id": snap.facts_id, **values})
        if inserts:
            self.session.execute(insert(table), inserts)
        if updates:
            self.session.execute(update(table).where(table.c.id == bindparam("_id")), updates)


def _expire_stored(session: Session) -> None:
    """ORM objects of the tables just written directly are reloaded on their next use."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Model | ConfigSnapshot | PositionFacts):
            session.expire(obj)


def store_configs(
    session: Session,
    items: list[StoreItem],
    *,
    run_id: int | None,
    tagger: Tagger | None = None,
) -> list[StoreOutcome]:
    """Validate, tag and store a batch of repos; one outcome per item, in order. Never raises
    on bad input and never commits (the caller commits the batch as one transaction).

    A new snapshot (with its facts and Change rows) is written when the content hash or the
    commit sha differs from the current one; otherwise only the Hub metadata is refreshed. Bad
    bytes and failures become `fetch_errors` rows; the previous good snapshot stays current.
    """
    if not items:
        return []
    session.flush()  # pending ORM changes first: the batch reads and writes the tables directly
    batch = _Batch(session, run_id=run_id, tagger=tagger)
    batch.load(list(dict.fromkeys(item.repo_id for item in items)))
    for item in items:
        batch.store(item)
    outcomes = batch.write()
    _expire_stored(session)
    return outcomes


def store_config(
    session: Session,
    *,
    repo_id: str,
    raw: bytes,
    hub: HubMeta | None,
    run_id: int | None,
    etag: str | None = None,
    commit_sha: str | None = None,
    tagger: Tagger | None = None,
) -> StoreOutcome:
    """Validate, tag and store one config.json (`store_configs` with one item)."""
    item = StoreItem(repo_id, raw=raw, hub=hub, etag=etag, commit_sha=commit_sha)
    return store_configs(session, [item], run_id=run_id, tagger=tagger)[0]


def record_error(
    session: Session,
    *,
    run_id: int | None,
    repo_id: str,
    reason: str,
    detail: str | None = None,
    hub: HubMeta | None = None,
) -> StoreOutcome:
    """Record a failure seen before any bytes (gated, missing config, HTTP error, truncated body).

    The model's last good snapshot stays current; its `status` says what went wrong.
    """
    item = StoreItem(repo_id, hub=hub, failure=(reason, detail))
    return store_configs(session, [item], run_id=run_id)[0]


def _facts_of(session: Session, snapshot_id: int | None) -> PositionFacts | None:
    from sqlmodel import select

    if snapshot_id is None:
        return None
    stmt = select(PositionFacts).where(PositionFacts.snapshot_id == snapshot_id)
    return session.exec(stmt).first()


def _write_facts(session: Session, snapshot_id: int, values: dict[str, Any]) -> PositionFacts:
    facts = _facts_of(session, snapshot_id) or PositionFacts(
        snapshot_id=snapshot_id, tagger_version=0, position_encoding="unknown"
    )
    for key, value in values.items():
        setattr(facts, key, value)
    session.add(facts)
    return facts


_RETAG_CHUNK = 500


def retag_all(session: Session, *, tagger: Tagger | None = None, force: bool = False) -> int:
    """Re-run the tagger over stored config texts whose facts came from an older tagger (or all
    with `force`); facts rows are updated in place. Returns how many were re-tagged.

    Works in chunks of snapshots, so memory stays flat on a large catalog; never commits.
    """
    from sqlmodel import col, or_, select

    from scrapers.result import TAGGER_VERSION

    stmt = select(ConfigSnapshot.id).outerjoin(
        PositionFacts, col(PositionFacts.snapshot_id) == col(ConfigSnapshot.id)
    )
    if not force:
        stmt = stmt.where(
            or_(col(PositionFacts.id).is_(None), PositionFacts.tagger_version != TAGGER_VERSION)
        )
    ids = [i for i in session.exec(stmt.order_by(col(ConfigSnapshot.id))) if i is not None]
    done = 0
    for start in range(0, len(ids), _RETAG_CHUNK):
        chunk = ids[start : start + _RETAG_CHUNK]
        snapshots = session.exec(select(ConfigSnapshot).where(col(ConfigSnapshot.id).in_(chunk)))
        for snapshot in list(snapshots):
            done += _retag_one(session, snapshot, tagger)
            session.expunge(snapshot)  # drop the config text from the session
        session.flush()
    return done


def _retag_one(session: Session, snapshot: ConfigSnapshot, tagger: Tagger | None) -> int:
    if snapshot.config_text is None or snapshot.id is None:
        return 0
    try:
        parsed = parse_config(snapshot.config_text.encode("utf-8"))
    except ConfigRejected:
        return 0
    tag, _err = _run_tagger(tagger, parsed.config)
    if tag is None:
        return 0
    _write_facts(session, snapshot.id, facts_from_tag(tag, nonfinite=parsed.nonfinite))
    return 1


# --- a Hub-like folder --------------------------------------------------------------------------


@dataclass
class IngestSummary:
    """Counts and per-model errors of one `ingest_tree` run."""

    run_id: int | None
    total: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"new": 0, "changed": 0, "unchanged": 0, "error": 0, "skipped": 0}
    )
    errors: list[StoreOutcome] = field(default_factory=list)

    def add(self, outcome: StoreOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.status in ("error", "skipped"):
            self.errors.append(outcome)

    @property
    def done(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class TreeItem:
    repo_id: str
    folder: Path
    outside: bool = False  # the folder is a symlink leading out of the root: never read


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def iter_tree(root: Path) -> Iterator[TreeItem]:
    """Every `ORG/NAME` folder under `root` holding a config.json or hub.json, sorted. A NAME
    symlink leading out of `root` is yielded with `outside` set and never entered; an ORG
    symlink leading out is not listed at all."""
    real_root = root.resolve()
    for org in sorted(root.iterdir(), key=lambda p: p.name):
        if org.name.startswith(".") or not org.is_dir() or not _inside(org, real_root):
            continue
        for name in sorted(org.iterdir(), key=lambda p: p.name):
            if name.name.startswith(".") or not name.is_dir():
                continue
            repo_id = f"{org.name}/{name.name}"
            if not _inside(name, real_root):
                yield TreeItem(repo_id, name, outside=True)
            elif os.path.lexists(name / "config.json") or os.path.lexists(name / "hub.json"):
                yield TreeItem(repo_id, name)


def _read_capped(path: Path, root: Path, cap: int) -> bytes:
    """Bytes of a tree file (at most cap + 1). Raises ConfigRejected when it cannot be read."""
    if not os.path.lexists(path):
        raise ConfigRejected("missing-config", f"no {path.name} in the folder")
    if path.is_symlink():
        if not path.exists():
            raise ConfigRejected("unreadable", f"{path.name} is a broken symlink")
        if not _inside(path, root):
            raise ConfigRejected("unsafe-path", f"{path.name} links outside the ingested folder")
    if path.is_dir():
        raise ConfigRejected("unreadable", f"{path.name} is a directory, not a file")
    if not path.is_file():  # a FIFO or device would block or never end
        raise ConfigRejected("unreadable", f"{path.name} is not a regular file")
    try:
        with open(path, "rb") as fh:
            return fh.read(cap + 1)
    except OSError as exc:
        raise ConfigRejected("unreadable", exc.strerror or type(exc).__name__) from None


def _read_hub(folder: Path, root: Path) -> tuple[HubMeta | None, str | None]:
    path = folder / "hub.json"
    if not os.path.lexists(path):
        return None, None
    try:
        raw = _read_capped(path, root, MAX_HUB_JSON_BYTES)
        if len(raw) > MAX_HUB_JSON_BYTES:
            return None, f"hub.json is larger than {MAX_HUB_JSON_BYTES} bytes"
        value = json.loads(raw.decode("utf-8-sig"))
    except ConfigRejected as exc:
        return None, f"hub.json: {exc.detail}"
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return None, f"hub.json is not valid JSON ({type(exc).__name__})"
    if not isinstance(value, dict):
        return None, "hub.json is not a JSON object"
    return HubMeta.from_api(value), None


def read_tree_item(item: TreeItem, root: Path) -> list[StoreItem] | StoreOutcome:
    """What to store for one `ORG/NAME` folder (a bad hub.json adds a failure before the
    config), or the outcome of a folder that is skipped without any row."""
    from scrapers.hubtree import is_valid_repo_id

    if not is_valid_repo_id(item.repo_id):
        return StoreOutcome(item.repo_id, "skipped", "invalid-repo-id", "folder names no repo id")
    if item.outside:
        detail = "the folder links outside the ingested tree"
        return [StoreItem(item.repo_id, failure=("unsafe-path", detail))]
    hub, hub_problem = _read_hub(item.folder, root)
    items = []
    if hub_problem is not None:
        items.append(StoreItem(item.repo_id, failure=("bad-hub-json", hub_problem)))
    try:
        raw = _read_capped(item.folder / "config.json", root, MAX_CONFIG_BYTES)
    except ConfigRejected as exc:
        items.append(StoreItem(item.repo_id, hub=hub, failure=(exc.reason, exc.detail)))
    else:
        items.append(StoreItem(item.repo_id, raw=raw, hub=hub))
    return items


def ingest_items(
    session: Session,
    items: list[TreeItem],
    root: Path,
    *,
    run_id: int | None,
    tagger: Tagger | None = None,
) -> list[StoreOutcome]:
    """Read and store `ORG/NAME` folders of a tree as one batch; one outcome per folder."""
    plan: list[StoreOutcome | int] = []
    batch: list[StoreItem] = []
    for item in items:
        read = read_tree_item(item, root)
        if isinstance(read, StoreOutcome):
            plan.append(read)
        else:
            batch.extend(read)
            plan.append(len(batch) - 1)  # the folder's outcome is its last item's
    stored = store_configs(session, batch, run_id=run_id, tagger=tagger)
    return [p if isinstance(p, StoreOutcome) else stored[p] for p in plan]


def _session_maker(target: Engine | Callable[[], Session]) -> Callable[[], Session]:
    from sqlalchemy.engine import Engine

    if isinstance(target, Engine):
        from registry.db import session_factory

        return session_factory(target)
    return target


def check_tree_root(root: Path) -> Path:
    """`root` as a Path. Raises BadInputDir when it is not a directory."""
    root = Path(root)
    if not root.is_dir():
        raise BadInputDir(
            f"{root} is not a directory; pass a folder laid out as ORG/NAME/config.json."
        )
    return root


def ingest_tree(
    target: Engine | Callable[[], Session],
    root: Path,
    *,
    batch_size: int = 200,
    progress: Callable[[int, int, str], None] | None = None,
    tagger: Tagger | None = None,
) -> IngestSummary:
    """Ingest every `ORG/NAME/config.json` (+ optional `hub.json`) under `root`, one transaction
    per batch. `target` is an engine or a session factory.

    Raises:
        BadInputDir: `root` is not a readable directory.
    """
    root = check_tree_root(root)
    make = _session_maker(target)
    try:
        items = list(iter_tree(root))
    except OSError as exc:
        raise BadInputDir(f"Cannot read {root} ({exc.strerror}); check its permissions.") from None
    real_root = root.resolve()
    with make() as session:
        run_id = start_run(session, "ingest").id
        session.commit()
    summary = IngestSummary(run_id=run_id, total=len(items))
    status = "failed"
    try:
        for start in range(0, len(items), max(1, batch_size)):
            chunk = items[start : start + max(1, batch_size)]
            with make() as session:
                outcomes = ingest_items(session, chunk, real_root, run_id=run_id, tagger=tagger)
                for outcome in outcomes:  # before the commit: an interrupt drops the batch
                    summary.add(outcome)
                    if progress is not None:
                        progress(summary.done, summary.total, outcome.repo_id)
                session.commit()
        status = "partial" if summary.errors else "ok"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        with make() as session:
            run = session.get(ScrapeRun, run_id)
            if run is not None:
                finish_run(session, run, status=status, counts=summary.counts)
                session.commit()
    return summary
