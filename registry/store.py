"""Storing configs in the catalog: validate the bytes, tag them, upsert the model, record changes.

`store_configs` is the one write path for fetched `config.json` files; the Hub scrape, the
nightly job and folder ingest (`registry.sync`) all go through it, a batch at a time
(`store_config` and `record_error` are its one-item forms). A batch reads what it needs in a few
IN (...) queries, tags and diffs plain dicts, and writes with bulk INSERT / UPDATE statements.
Bad input never raises: it becomes a `FetchError` row and the model's previous good snapshot
stays current. The raw text is stored verbatim."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from registry.facts import diff_facts, facts_from_tag
from registry.families import family_of
from registry.models import Change, ConfigSnapshot, FetchError, Model, PositionFacts
from registry.runs import clip, now_iso
from scrapers.configfile import ConfigRejected, parse_config
from scrapers.hub import KnownFailure
from scrapers.records import HubMeta, RepoItem, text_or_none

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlmodel import Session, SQLModel

    from scrapers.tagger.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]


_STATUS_OF_REASON = {"gated": "gated", "missing-config": "missing", "not-found": "missing"}


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
    model_type = model_type or text_or_none(config.get("model_type"), 128)
    row["model_type"] = model_type
    archs = config.get("architectures")
    row["architectures"] = (
        [a[:128] for a in archs if isinstance(a, str)][:16] if isinstance(archs, list) else None
    )
    row["family"] = family_of(row["repo_id"], model_type)


def known_shas(session: Session) -> dict[str, str | None]:
    """Repo id -> commit sha of its current snapshot (None when unknown or never fetched)."""
    from sqlmodel import col, select

    stmt = select(Model.repo_id, ConfigSnapshot.commit_sha).outerjoin(
        ConfigSnapshot, col(Model.snapshot_id) == col(ConfigSnapshot.id)
    )
    return {str(repo_id): sha for repo_id, sha in session.exec(stmt)}


class CatalogShas:
    """Repo id -> commit sha of its current snapshot, read from the catalog one listing page at a
    time (`prefetch`), so a scrape's memory follows what it lists, not the catalog's size.

    The fetcher calls `get` from worker threads; a repo id that no prefetched page held is read
    alone. The last `keep` pages stay cached, enough for the repos still in flight."""

    def __init__(self, make: Callable[[], Session], keep: int = 4) -> None:
        from collections import deque

        self._make = make
        self._pages: deque[dict[str, str | None]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def prefetch(self, repo_ids: list[str]) -> None:
        page: dict[str, str | None] = dict.fromkeys(repo_ids)
        with self._make() as session:
            for start in range(0, len(repo_ids), 500):
                page.update(_shas(session, repo_ids[start : start + 500]))
        with self._lock:
            self._pages.append(page)

    def get(self, repo_id: str) -> str | None:
        with self._lock:
            for page in reversed(self._pages):
                if repo_id in page:
                    return page[repo_id]
        with self._make() as session:
            return _shas(session, [repo_id]).get(repo_id)


def _shas(session: Session, repo_ids: list[str]) -> dict[str, str | None]:
    from sqlmodel import col, select

    stmt = (
        select(Model.repo_id, ConfigSnapshot.commit_sha)
        .outerjoin(ConfigSnapshot, col(Model.snapshot_id) == col(ConfigSnapshot.id))
        .where(col(Model.repo_id).in_(repo_ids))
    )
    return {str(repo_id): sha for repo_id, sha in session.exec(stmt)}


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


# Failures that depend only on the repo's files at one commit: the same commit gives the same
# answer, so the commit is remembered (`models.failed_sha`) and the scraper does not fetch it
# again. Network failures (5xx, timeouts, rate limits) and access answers (gated) are not here.
# The field path of a model's first sighting in the change log (new value: its encoding tag).
ADDED_FIELD = "added"
REMEMBERED_REASONS = frozenset(
    {
        "too-large",
        "not-utf8",
        "invalid-json",
        "not-object",
        "missing-config",
        "too-deep",
        "number-too-long",
    }
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


def _default_tagger() -> Tagger:
    from scrapers.tagger import tag_config

    return tag_config


def run_tagger(
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
        self.now = now_iso()
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

    def store(self, item: RepoItem) -> None:
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
            row["error"] = clip(f"{reason}: {detail}" if detail else reason, 500)
            if reason in REMEMBERED_REASONS and sha:
                row["failed_sha"] = sha
        self.errors.append(
            {
                "run_id": self.run_id,
                "repo_id": row["repo_id"],
                "reason": reason,
                "detail": clip(detail),
                "at": self.now,
            }
        )

    def store_bytes(self, entry: _Entry, item: RepoItem) -> None:
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
        tag, tag_error = run_tagger(self.tagger, parsed.config)
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
        # No history against a snapshot that never had facts (its tagging failed); a model's
        # first tagged snapshot is an event of its own (feeds and recent changes show it).
        changes = diff_facts(old_values, new_values) if old_values and new_values else []
        if current is None and new_values:
            encoding = json.dumps(new_values.get("position_encoding"))
            changes = [(ADDED_FIELD, None, encoding)]
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
        self, entry: _Entry, item: RepoItem, text: str, content_hash: str, size: int
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
            "etag": text_or_none(item.etag, 256),
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
    items: list[RepoItem],
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
    item = RepoItem(repo_id, raw=raw, hub=hub, etag=etag, commit_sha=commit_sha)
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
    item = RepoItem(repo_id, hub=hub, failure=(reason, detail))
    return store_configs(session, [item], run_id=run_id)[0]
