"""Reading the catalog: filtered model lists, one model in full, counts, and read-only SQL.

Every filter value is a bound parameter; no SQL text is ever built from user or model strings.
Context sizes use binary multiples: `128k` = 131072 tokens and `1M` = 1048576, because that is
what model configs declare (`max_position_embeddings: 131072` is the "128k" of model cards).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry.errors import BadFilter, BadQuery, ModelNotFound
from registry.models import (
    Change,
    ConfigSnapshot,
    FetchError,
    Model,
    PositionFacts,
    Verification,
)

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from registry.sqlguard import SqlLimits

# Keys of a `query_models` row, in order (the `--json` / `--csv` shape; do not reorder).
ROW_KEYS = (
    "repo_id",
    "author",
    "family",
    "model_type",
    "position_encoding",
    "rope_theta",
    "scaling_type",
    "scaling_factor",
    "original_context",
    "declared_context",
    "effective_context",
    "verdict",
    "downloads",
    "likes",
    "last_modified",
    "sha",
)

# Sort name -> (table, column, natural direction). `NAME:asc` / `NAME:desc` override it.
SORTS: dict[str, tuple[Any, str, str]] = {
    "downloads": (Model, "downloads", "desc"),
    "likes": (Model, "likes", "desc"),
    "modified": (Model, "last_modified", "desc"),
    "repo_id": (Model, "repo_id", "asc"),
    "context": (PositionFacts, "effective_context", "desc"),
    "theta": (PositionFacts, "rope_theta", "desc"),
    "factor": (PositionFacts, "scaling_factor", "desc"),
}
VERDICTS = ("pass", "warn", "fail", "unverified")
_CONTEXT_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmM]?)$")
_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}


def parse_context(text: str | int) -> int:
    """Tokens from `32768`, `128k` (131072) or `1M` (1048576); k and M are binary multiples.

    Raises:
        BadFilter: not a positive size.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = _CONTEXT_RE.match(str(text).strip().replace("_", "").replace(",", ""))
        if not match:
            raise BadFilter(
                f"Cannot read context size {text!r}; use a token count such as 32768, 128k or 1M "
                "(k = 1024 tokens)."
            )
        value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value <= 0 or value > 2**40:
        raise BadFilter(f"Context size {text!r} is out of range; use e.g. 4k, 128k or 1M.")
    return value


@dataclass
class ModelFilter:
    """What `query_models` selects. Empty fields do not filter."""

    pe: tuple[str, ...] = ()  # tags; `rope-yarn` also matches `rope-yarn+nope`
    family: str | None = None
    author: str | None = None  # case-insensitive
    model_type: str | None = None
    min_context: int | None = None  # effective context, in tokens
    scaling: str | None = None  # canonical rope type, or "none"
    verdict: str | None = None  # pass | warn | fail | unverified
    search: str | None = None  # substring of the repo id, case-insensitive
    sort: str = "downloads"  # a SORTS key, optionally `:asc` / `:desc`
    limit: int | None = None
    offset: int = 0


def _pe_values(tags: tuple[str, ...]) -> list[str]:
    from scrapers.tagger.vocabulary import NOPE_SUFFIX, TAGS

    values: list[str] = []
    for tag in tags:
        base = tag.removesuffix(NOPE_SUFFIX)
        if base not in TAGS or (base != tag and not base.startswith("rope")):
            raise BadFilter(
                f"Unknown position-encoding tag {tag!r}; known tags: {', '.join(sorted(TAGS))} "
                f"(any rope tag may end in {NOPE_SUFFIX})."
            )
        values.append(tag)
        if not tag.endswith(NOPE_SUFFIX):
            values.append(tag + NOPE_SUFFIX)
    return values


def _sort_parts(sort: str) -> tuple[str, str]:
    """(SORTS key, direction) of a sort name such as `context` or `likes:asc`.

    Raises:
        BadFilter: not a known sort.
    """
    name, _, direction = sort.partition(":")
    if name not in SORTS or direction not in ("", "asc", "desc"):
        raise BadFilter(
            f"Unknown sort {sort!r}; use one of {', '.join(SORTS)}, optionally with :asc or :desc."
        )
    return name, direction


def _order_by(sort: str, *, split: bool = False) -> list[Any]:
    """ORDER BY terms of a sort: the key with NULL last, then a tie-break in the key's
    direction. A models column breaks ties by model id; a facts column by the facts row's
    snapshot id, so that an index on (column, snapshot_id) yields the key and its tie-break in
    order.

    With facts joined outer (some matches may have no facts row), the models without facts
    come after every model with one, by model id; `split` leaves that part out, for a page
    chosen among the models that have facts (`_statement`)."""
    from sqlmodel import col

    name, direction = _sort_parts(sort)
    table, column_name, natural = SORTS[name]
    column = col(getattr(table, column_name))
    direction = direction or natural

    def way(term: Any) -> Any:
        return term.desc() if direction == "desc" else term.asc()

    # NULLS LAST spelled out both ways: SQLite sorts NULL lowest, PostgreSQL highest.
    key = column.desc().nulls_last() if direction == "desc" else column.asc().nulls_last()
    if table is not PositionFacts:
        return [key, way(col(Model.id))]
    if split:
        return [key, way(col(PositionFacts.snapshot_id))]
    lacks_facts = col(PositionFacts.snapshot_id).is_(None)
    return [lacks_facts.asc(), key, way(col(PositionFacts.snapshot_id)), way(col(Model.id))]


def _sorts_on_facts(sort: str) -> bool:
    """Whether `sort` orders by a position-facts column (context, theta, factor)."""
    return SORTS[_sort_parts(sort)[0]][0] is PositionFacts


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_folded(column: Any, pattern: Any) -> ColumnElement[bool]:
    """`column LIKE pattern`, ignoring case the same way on every backend (SQLite's LIKE folds
    ASCII case, PostgreSQL's does not): the column is lower-cased here, the pattern (a value or
    a bound parameter) must already be."""
    from sqlalchemy import func

    return func.lower(column).like(pattern, escape="\\")


def _bind(f: ModelFilter) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The shape of `f` (what decides its SQL text: which values are bound, whether it asks for
    no scaling or for unverified models, the sort) and its bound values by parameter name.

    Raises:
        BadFilter: a filter, sort, limit or offset value is not understood.
    """
    from yarn_core.params import ROPE_TYPES

    if f.limit is not None and f.limit < 0:
        raise BadFilter(f"--limit must be 0 or more, not {f.limit}.")
    if f.offset < 0:
        raise BadFilter(f"--offset must be 0 or more, not {f.offset}.")
    _sort_parts(f.sort)
    values: dict[str, Any] = {}
    for i, tag in enumerate(_pe_values(tuple(f.pe)) if f.pe else ()):
        values[f"pe_{i}"] = tag
    if f.family:
        values["family"] = f.family.lower()
    if f.author:
        values["author"] = f.author.lower()
    if f.model_type:
        values["model_type"] = f.model_type
    if f.min_context is not None:
        values["min_context"] = parse_context(f.min_context)
    scaling = (f.scaling or "").lower()
    no_scaling = scaling == "none"
    if scaling and not no_scaling:
        if scaling not in ROPE_TYPES:
            raise BadFilter(
                f"Unknown scaling type {f.scaling!r}; use one of {', '.join(ROPE_TYPES)} or none."
            )
        values["scaling"] = scaling
    if f.verdict and f.verdict not in VERDICTS:
        raise BadFilter(f"Unknown verdict {f.verdict!r}; use one of {', '.join(VERDICTS)}.")
    unverified = f.verdict == "unverified"
    if f.verdict and not unverified:
        values["verdict"] = f.verdict
    if f.search:
        values["search"] = f"%{_escape_like(f.search)}%".lower()  # `%` and `_` literal
    if f.limit:
        values["limit"] = f.limit
    if f.offset:
        values["offset"] = f.offset
    return (tuple(sorted(values)), no_scaling, unverified, f.sort), values


def _needs_facts(shape: tuple[Any, ...]) -> bool:
    """Whether a `_bind` shape filters on the facts row (or on the verdict it leads to)."""
    names, no_scaling, unverified, _sort = shape
    return bool(
        no_scaling or unverified or set(names) & {"min_context", "scaling", "verdict"}
    ) or any(n.startswith("pe_") for n in names)


def _splits(shape: tuple[Any, ...]) -> bool:
    """Whether a page of this shape is chosen in two parts: sorted by a facts column while
    no filter needs the facts row, so that matches without one exist. The page is chosen
    among the models with facts, over the facts column's index, and filled up with the models
    without facts (which sort after them) only when it runs past those."""
    names, _no_scaling, _unverified, sort = shape
    return _sorts_on_facts(sort) and "limit" in names and not _needs_facts(shape)


def _conditions(shape: tuple[Any, ...]) -> list[ColumnElement[bool]]:
    """WHERE terms of a `_bind` shape, over named bind parameters."""
    from sqlalchemy import bindparam, func
    from sqlmodel import col

    names, no_scaling, unverified, _sort = shape
    bound = set(names)
    terms: list[ColumnElement[bool]] = []
    tags: list[Any] = [bindparam(n) for n in names if n.startswith("pe_")]
    if tags:
        terms.append(col(PositionFacts.position_encoding).in_(tags))
    if "family" in bound:
        terms.append(col(Model.family) == bindparam("family"))
    if "author" in bound:
        terms.append(func.lower(col(Model.author)) == bindparam("author"))
    if "model_type" in bound:
        terms.append(col(Model.model_type) == bindparam("model_type"))
    if "min_context" in bound:
        terms.append(col(PositionFacts.effective_context) >= bindparam("min_context"))
    if no_scaling:
        terms.append(col(PositionFacts.scaling_type).is_(None))
    elif "scaling" in bound:
        terms.append(col(PositionFacts.scaling_type) == bindparam("scaling"))
    if unverified:
        terms.append(col(Verification.id).is_(None))
    elif "verdict" in bound:
        terms.append(col(Verification.verdict) == bindparam("verdict"))
    if "search" in bound:
        terms.append(_like_folded(col(Model.repo_id), bindparam("search")))
    return terms


_COLUMNS = (
    Model.repo_id,
    Model.author,
    Model.family,
    Model.model_type,
    PositionFacts.position_encoding,
    PositionFacts.rope_theta,
    PositionFacts.scaling_type,
    PositionFacts.scaling_factor,
    PositionFacts.original_context,
    PositionFacts.declared_context,
    PositionFacts.effective_context,
    Verification.verdict,
    Model.downloads,
    Model.likes,
    Model.last_modified,
    Model.sha,
)


def _statement(shape: tuple[Any, ...], part: str = "main") -> Select[Any]:
    """The SELECT of a `_bind` shape, its values left as named bind parameters.

    With a limit it runs in two steps: the ids of the page are chosen first over narrow
    (covering) indexes, then only those rows are read in full and joined to their verdicts.
    A shape that `_splits` has two more parts: `tail`, the models without facts that follow
    the last model with facts (bound `limit` and `offset` are counted within them), and
    `count`, how many models with facts match.
    """
    from sqlalchemy import bindparam, func, select
    from sqlmodel import col

    terms = _conditions(shape)
    needs_facts = _needs_facts(shape)
    names, _no_scaling, unverified, sort = shape
    on_facts = col(PositionFacts.snapshot_id) == col(Model.snapshot_id)
    on_verify = col(Verification.fingerprint) == col(PositionFacts.verify_fingerprint)
    full: Select[Any] = select(*[col(c) for c in _COLUMNS]).select_from(Model)  # type: ignore[assignment]
    full = full.join(PositionFacts, on_facts, isouter=not needs_facts)
    full = full.join(Verification, on_verify, isouter=True)
    skip: Any = bindparam("offset") if "offset" in names else None
    if part == "tail":
        by_id = _order_by(sort)[-1]  # the models without facts: by model id
        lacking = [*terms, col(PositionFacts.snapshot_id).is_(None)]
        tail = full.where(*lacking).order_by(by_id).limit(bindparam("limit"))
        return tail.offset(bindparam("offset"))
    on_facts_sort = _sorts_on_facts(sort)
    if part == "count":
        counted = select(func.count()).select_from(Model).join(PositionFacts, on_facts)
        return counted.where(*terms)
    if "limit" not in names:
        return full.where(*terms).order_by(*_order_by(sort)).offset(skip)
    page = select(col(Model.id)).select_from(Model)
    if needs_facts or on_facts_sort:
        page = page.join(PositionFacts, on_facts)  # `_splits`: the models with facts only
    if unverified or "verdict" in names:
        page = page.join(Verification, on_verify, isouter=True)
    page_order = _order_by(sort, split=on_facts_sort)
    page = page.where(*terms).order_by(*page_order).limit(bindparam("limit")).offset(skip)
    return full.where(col(Model.id).in_(page)).order_by(*_order_by(sort))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # its parameters, in order where the driver takes them by position
    positional: bool
    fixed: dict[str, Any]  # values the dialect itself bound (SQLite's `OFFSET 0`)

    def args(self, values: dict[str, Any]) -> Any:
        merged = {**self.fixed, **values}
        if self.positional:
            return tuple(merged[name] for name in self.names)
        return {name: merged[name] for name in self.names}


# (shape, part, dialect name, driver) -> the statement compiled for that dialect.
_COMPILED: dict[tuple[Any, ...], _Compiled] = {}


def _compiled(shape: tuple[Any, ...], dialect: Any, part: str = "main") -> _Compiled:
    """The SQL text of a `_bind` shape (or of its `part`) for `dialect`, compiled once per
    process."""
    key = (shape, part, dialect.name, dialect.driver)
    found = _COMPILED.get(key)
    if found is None:
        compiled = _statement(shape, part).compile(dialect=dialect)
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.params)
        fixed = {k: v for k, v in compiled.params.items() if v is not None}
        found = _COMPILED[key] = _Compiled(compiled.string, names, positional, fixed)
    return found


def compiled_sql(f: ModelFilter, dialect: str = "sqlite") -> tuple[str, Any]:
    """The SQL text and parameters `query_models` runs for `f` on `dialect` ("sqlite":
    positional, "postgresql": psycopg's named form), for EXPLAIN and the raw-driver baseline
    of the benchmark.

    Raises:
        BadFilter: a filter, sort, limit or offset value is not understood.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    chosen = postgresql.psycopg.dialect() if dialect == "postgresql" else sqlite.dialect()
    shape, values = _bind(f)
    compiled = _compiled(shape, chosen)
    args = compiled.args(values)
    return compiled.sql, list(args) if compiled.positional else args


def query_models(session: Session, f: ModelFilter) -> list[dict[str, Any]]:
    """Flat rows (keys in ROW_KEYS order) of the models matching `f`.

    The SQL text is compiled once per filter shape and backend; each call binds its values.

    Raises:
        BadFilter: a filter or sort value is not understood.
    """
    shape, values = _bind(f)
    conn = session.connection()

    def run(part: str, bound: dict[str, Any]) -> list[Any]:
        compiled = _compiled(shape, conn.dialect, part)
        return list(conn.exec_driver_sql(compiled.sql, compiled.args(bound)).fetchall())

    rows = run("main", values)
    if _splits(shape) and len(rows) < values["limit"]:
        # The page ran past the models with facts: the models without follow them.
        offset = values.get("offset", 0)
        with_facts = offset + len(rows) if rows or not offset else run("count", values)[0][0]
        tail = {**values, "limit": values["limit"] - len(rows)}
        rows += run("tail", {**tail, "offset": max(0, offset - with_facts)})
    return [dict(zip(ROW_KEYS, row, strict=True)) for row in rows]


def _public(obj: Any, drop: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    """A row as a dict in column-definition order, without `drop`."""
    return {k: getattr(obj, k) for k in type(obj).model_fields if k not in drop}


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _close_ids(session: Session, repo_id: str) -> list[str]:
    """Up to three stored ids that look like `repo_id`: same id in another case, same name,
    or a near spelling within the same organisation."""
    import difflib

    from sqlmodel import col, select

    def like(pattern: str, limit: int) -> list[str]:
        stmt = select(Model.repo_id).where(_like_folded(col(Model.repo_id), pattern.lower()))
        stmt = stmt.order_by(col(Model.repo_id))
        return list(session.exec(stmt.limit(limit)))

    org, _, name = repo_id.rpartition("/")
    found = like(_escape_like(repo_id), 3) or like(f"%{_escape_like(name)}%", 3)
    if not found and org:
        same_org = like(f"{_escape_like(org)}/%", 500)
        found = difflib.get_close_matches(repo_id, same_org, n=3, cutoff=0.6)
    return found


def _not_found(session: Session, repo_id: str) -> ModelNotFound:
    name = repo_id.rsplit("/", 1)[-1]
    close = _close_ids(session, repo_id)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ModelNotFound(
        f"No model {repo_id!r} in the catalog.{hint} Find ids with `ropedex query --search "
        f"{name}`, or add it with `ropedex ingest DIR`."
    )


def get_model(session: Session, repo_id: str) -> dict[str, Any]:
    """Everything known about one model: metadata, facts (evidence, warnings), the verification
    shared through `verify_fingerprint`, snapshots, change history, errors and the config.

    Raises:
        ModelNotFound: no such repo id.
    """
    from sqlmodel import col, select

    model = session.exec(select(Model).where(Model.repo_id == repo_id)).first()
    if model is None:
        raise _not_found(session, repo_id)
    facts = session.exec(
        select(PositionFacts).where(PositionFacts.snapshot_id == model.snapshot_id)
    ).first()
    verification = None
    if facts is not None and facts.verify_fingerprint:
        verification = session.exec(
            select(Verification).where(Verification.fingerprint == facts.verify_fingerprint)
        ).first()
    snapshots = session.exec(
        select(ConfigSnapshot)
        .where(ConfigSnapshot.model_id == model.id)
        .order_by(col(ConfigSnapshot.id).desc())
    ).all()
    changes = session.exec(
        select(Change)
        .where(Change.model_id == model.id)
        .order_by(col(Change.changed_at).desc(), col(Change.field_path))
    ).all()
    errors = session.exec(
        select(FetchError)
        .where(FetchError.repo_id == model.repo_id)
        .order_by(col(FetchError.id).desc())
        .limit(50)
    ).all()
    current = next((s for s in snapshots if s.id == model.snapshot_id), None)
    return {
        "model": _public(model, ("id", "snapshot_id")),
        "facts": _public(facts, ("id", "snapshot_id")) if facts is not None else None,
        "verification": _public(verification) if verification is not None else None,
        "snapshots": [
            {**_public(s, ("model_id", "repo_id", "config_text")), "current": s is current}
            for s in snapshots
        ],
        "changes": [
            {
                **_public(c, ("id", "model_id", "repo_id")),
                "old_value": _loads(c.old_value),
                "new_value": _loads(c.new_value),
            }
            for c in changes
        ],
        "errors": [_public(e, ("id", "repo_id")) for e in errors],
        "config": _loads(current.config_text) if current is not None else None,
    }


def _counts(session: Session, column: Any, *, missing: str) -> dict[str, int]:
    from sqlalchemy import func, select
    from sqlmodel import col

    stmt = (
        select(column, func.count())
        .select_from(Model)
        .join(PositionFacts, col(PositionFacts.snapshot_id) == col(Model.snapshot_id))
        .join(
            Verification,
            col(Verification.fingerprint) == col(PositionFacts.verify_fingerprint),
            isouter=True,
        )
        .group_by(column)
    )
    rows = [(missing if key is None else str(key), int(n)) for key, n in session.execute(stmt)]
    return dict(sorted(rows, key=lambda kv: (-kv[1], kv[0])))


def stats(session: Session) -> dict[str, Any]:
    """Model counts overall and per tag, scaling type, family and verdict (current facts)."""
    from sqlalchemy import func, select
    from sqlmodel import col

    total = session.execute(select(func.count()).select_from(Model)).scalar_one()
    not_ok = session.execute(
        select(func.count()).select_from(Model).where(col(Model.status) != "ok")
    ).scalar_one()
    return {
        "models": int(total),
        "not_ok": int(not_ok),
        "position_encoding": _counts(session, PositionFacts.position_encoding, missing="unknown"),
        "scaling_type": _counts(session, PositionFacts.scaling_type, missing="none"),
        "family": _counts(session, Model.family, missing="unknown"),
        "verdict": _counts(session, Verification.verdict, missing="unverified"),
    }


def run_sql(
    engine: Engine, sql: str, limits: SqlLimits | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one statement on a catalog opened read-only, under `limits` (time, rows, memory;
    see `registry.sqlguard`); returns (column names, rows).

    Raises:
        BadQuery: the statement failed, tried to write, attached another database or hit a
            limit.
    """
    import sqlite3

    from registry.sqlguard import SqlLimits, run_sqlite

    limits = limits or SqlLimits()
    if engine.dialect.name == "postgresql":
        from registry.postgres import run_sql_postgresql

        names, rows = run_sql_postgresql(engine, sql, timeout_s=limits.timeout)
        if len(rows) > limits.max_rows:
            raise BadQuery(
                f"the statement returned more than {limits.max_rows:,} rows (--max-rows)"
            )
        return names, rows
    if engine.dialect.name != "sqlite":
        raise BadQuery(
            "`ropedex sql` works on SQLite and PostgreSQL catalogs only; pass a catalog file "
            "to --db."
        )
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        conn.set_authorizer(_deny_attach)
        cur = raw.cursor()
        try:
            names, rows = run_sqlite(conn, cur, sql, limits)
        except BadQuery:
            raise
        except Exception as exc:  # the DB-API's own errors differ per driver
            raise _bad_query(exc) from None
        finally:
            cur.close()
    finally:
        raw.close()
    return names, rows


def _deny_attach(action: int, *_args: Any) -> int:
    import sqlite3

    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _bad_query(exc: Exception) -> BadQuery:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "readonly" in message or "read-only" in message or "not authorized" in message:
        return BadQuery(
            f"`ropedex sql` is read-only ({message}); change the catalog with `ropedex ingest` "
            "or `ropedex nightly`."
        )
    return BadQuery(
        f'SQL error: {message}; list tables with `ropedex sql "SELECT name FROM '
        "sqlite_master WHERE type='table'\"`."
    )
