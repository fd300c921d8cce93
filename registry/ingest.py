"""Storing configs in the catalog: validate the bytes, tag them, upsert the model, record changes.

`store_config` is the one write path for a fetched `config.json`; the Hub scraper, the nightly
job and `ingest_tree` (a Hub-like folder) all go through it. Bad input never raises: it becomes
a `FetchError` row and the model's previous good snapshot stays current.

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
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

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


def _facts_dict(facts: PositionFacts | None) -> dict[str, Any]:
    return facts.model_dump() if facts is not None else {}


# --- models, runs and errors --------------------------------------------------------------------


def _model(session: Session, repo_id: str) -> Model | None:
    from sqlmodel import select

    return session.exec(select(Model).where(Model.repo_id == repo_id)).first()


def _upsert_model(session: Session, repo_id: str, hub: HubMeta | None, now: str) -> Model:
    model = _model(session, repo_id)
    if model is None:
        model = Model(repo_id=repo_id, author=repo_id.split("/", 1)[0], first_seen=now)
    model.last_seen = now
    if hub is not None:
        model.sha = hub.sha or model.sha
        model.last_modified = hub.last_modified or model.last_modified
        model.downloads = hub.downloads
        model.likes = hub.likes
        model.tags = hub.tags or None
        model.pipeline_tag = hub.pipeline_tag
        model.gated = hub.gated
        model.private = hub.private
        model.library_name = hub.library_name
        model.license = hub.license
        model.base_model = hub.base_model
        model.author = hub.author or model.author
    session.add(model)
    session.flush()
    return model


def _error_row(
    session: Session, model: Model, run_id: int | None, reason: str, detail: str | None
) -> FetchError:
    now = _now()
    model.status = _STATUS_OF_REASON.get(reason, "error")
    model.error = _clip(f"{reason}: {detail}" if detail else reason, 500)
    row = FetchError(
        run_id=run_id, repo_id=model.repo_id, reason=reason, detail=_clip(detail), at=now
    )
    session.add(model)
    session.add(row)
    return row


def record_error(
    session: Session,
    *,
    run_id: int | None,
    repo_id: str,
    reason: str,
    detail: str | None = None,
    hub: HubMeta | None = None,
) -> FetchError:
    """Record a failure seen before any bytes (gated, missing config, HTTP error, truncated body).

    The model's last good snapshot stays current; its `status` says what went wrong.
    """
    model = _upsert_model(session, repo_id, hub, _now())
    return _error_row(session, model, run_id, reason, detail)


def known_shas(session: Session) -> dict[str, str | None]:
    """Repo id -> commit sha of its current snapshot (None when unknown or never fetched)."""
    from sqlmodel import col, select

    stmt = select(Model.repo_id, ConfigSnapshot.commit_sha).outerjoin(
        ConfigSnapshot, col(Model.snapshot_id) == col(ConfigSnapshot.id)
    )
    return {str(repo_id): sha for repo_id, sha in session.exec(stmt)}


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


# --- storing one config -------------------------------------------------------------------------


@dataclass
class StoreOutcome:
    """What `store_config` did: status new | changed | unchanged | error."""

    repo_id: str
    status: str
    reason: str | None = None
    detail: str | None = None
    snapshot_id: int | None = None
    changed_fields: list[str] = field(default_factory=list)


def _default_tagger() -> Tagger:
    from scrapers.tagger import tag_config

    return tag_config


def _snapshot_for(
    session: Session, model: Model, content_hash: str, sha: str | None
) -> ConfigSnapshot | None:
    from sqlmodel import select

    stmt = select(ConfigSnapshot).where(
        ConfigSnapshot.model_id == model.id,
        ConfigSnapshot.content_hash == content_hash,
        ConfigSnapshot.commit_sha == sha,
    )
    return session.exec(stmt).first()


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


def _apply_config_fields(model: Model, config: dict[str, Any], tag: TagResult | None) -> None:
    model_type = tag.model_type if tag is not None and tag.model_type else None
    model_type = model_type or _str(config.get("model_type"), 128)
    model.model_type = model_type
    archs = config.get("architectures")
    model.architectures = (
        [a[:128] for a in archs if isinstance(a, str)][:16] if isinstance(archs, list) else None
    )
    model.family = family_of(model.repo_id, model_type)
    model.status = "ok"
    model.error = None


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
    """Validate, tag and store one config.json; never raises on bad input and never commits.

    A new snapshot (with its facts and Change rows) is written when the content hash or the
    commit sha differs from the current one; otherwise only the Hub metadata is refreshed.
    """
    now = _now()
    model = _upsert_model(session, repo_id, hub, now)
    try:
        parsed = parse_config(raw)
    except ConfigRejected as exc:
        _error_row(session, model, run_id, exc.reason, exc.detail)
        return StoreOutcome(repo_id, "error", exc.reason, exc.detail, model.snapshot_id)
    sha = commit_sha or (hub.sha if hub is not None else None)
    content_hash = hashlib.sha256(raw).hexdigest()
    current = session.get(ConfigSnapshot, model.snapshot_id) if model.snapshot_id else None
    same = (
        current is not None and current.content_hash == content_hash and current.commit_sha == sha
    )
    if same and current is not None and _facts_of(session, current.id) is not None:
        model.status, model.error = "ok", None
        model.sha = sha or model.sha
        session.add(model)
        return StoreOutcome(repo_id, "unchanged", snapshot_id=current.id)
    old_values = _facts_dict(_facts_of(session, current.id if current else None))
    snapshot = _snapshot_for(session, model, content_hash, sha)
    if snapshot is None:
        snapshot = ConfigSnapshot(
            model_id=model.id or 0,
            repo_id=repo_id,
            commit_sha=sha,
            etag=_str(etag, 256),
            fetched_at=now,
            content_hash=content_hash,
            size=len(raw),
            config_text=parsed.text,
        )
        session.add(snapshot)
        session.flush()
    assert snapshot.id is not None
    tag, tag_error = _run_tagger(tagger, parsed.config)
    _apply_config_fields(model, parsed.config, tag)
    model.snapshot_id = snapshot.id
    model.sha = sha or model.sha
    new_values: dict[str, Any] = {}
    if tag is not None:
        new_values = facts_from_tag(tag, nonfinite=parsed.nonfinite)
        _write_facts(session, snapshot.id, new_values)
    else:
        _error_row(session, model, run_id, "tagger-error", tag_error)
    session.add(model)
    # No history against a snapshot that never had facts (its tagging failed): nothing to compare.
    changes = diff_facts(old_values, new_values) if old_values and new_values else []
    for path, old, new in changes:
        session.add(
            Change(
                model_id=model.id or 0,
                repo_id=repo_id,
                run_id=run_id,
                commit_sha=sha,
                field_path=path,
                old_value=old,
                new_value=new,
                changed_at=now,
            )
        )
    session.flush()
    status = "new" if current is None else ("unchanged" if same else "changed")
    return StoreOutcome(
        repo_id, status, snapshot_id=snapshot.id, changed_fields=[c[0] for c in changes]
    )


def _run_tagger(
    tagger: Tagger | None, config: dict[str, Any]
) -> tuple[TagResult | None, str | None]:
    """The tag result, or None and the error text when the tagger failed (a bug, kept visible)."""
    try:
        return (tagger or _default_tagger())(config), None
    except Exception as exc:  # the tagger promises never to raise; if it does, keep the bytes
        return None, f"{type(exc).__name__}: {exc}"


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


def ingest_item(
    session: Session, item: TreeItem, root: Path, *, run_id: int | None, tagger: Tagger | None
) -> StoreOutcome:
    """Read and store one `ORG/NAME` folder of a tree."""
    from scrapers.hubtree import is_valid_repo_id

    if not is_valid_repo_id(item.repo_id):
        return StoreOutcome(item.repo_id, "skipped", "invalid-repo-id", "folder names no repo id")
    if item.outside:
        detail = "the folder links outside the ingested tree"
        record_error(
            session, run_id=run_id, repo_id=item.repo_id, reason="unsafe-path", detail=detail
        )
        return StoreOutcome(item.repo_id, "error", "unsafe-path", detail)
    hub, hub_problem = _read_hub(item.folder, root)
    if hub_problem is not None:
        record_error(
            session, run_id=run_id, repo_id=item.repo_id, reason="bad-hub-json", detail=hub_problem
        )
    try:
        raw = _read_capped(item.folder / "config.json", root, MAX_CONFIG_BYTES)
    except ConfigRejected as exc:
        record_error(
            session,
            run_id=run_id,
            repo_id=item.repo_id,
            reason=exc.reason,
            detail=exc.detail,
            hub=hub,
        )
        return StoreOutcome(item.repo_id, "error", exc.reason, exc.detail)
    return store_config(
        session, repo_id=item.repo_id, raw=raw, hub=hub, run_id=run_id, tagger=tagger
    )


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
            with make() as session:
                for item in items[start : start + max(1, batch_size)]:
                    summary.add(ingest_item(session, item, real_root, run_id=run_id, tagger=tagger))
                    if progress is not None:
                        progress(summary.done, summary.total, item.repo_id)
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
