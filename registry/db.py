"""Opening the catalog: a path or any SQLAlchemy URL; SQLite in WAL mode with foreign keys on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from registry.errors import (
    BadDatabaseURL,
    CatalogMissing,
    CatalogUnreadable,
    SchemaOutdated,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

DEFAULT_DB = "catalog.db"
_NEXT_STEP = "run `ropedex ingest DIR` or `ropedex nightly --offline` to build one, or pass --db"


def db_url(target: str) -> str:
    """Turn a `--db` value (path or URL) into a SQLAlchemy URL."""
    if "://" in target:
        return target
    return f"sqlite:///{Path(target)}"


def sqlite_path(url: str) -> str | None:
    """The file a SQLite URL names; None for other databases and for in-memory SQLite."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return database


def _pragmas(readonly: bool) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if readonly:
            cur.execute("PRAGMA query_only=ON")
        else:
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return on_connect


def _create(url: str, target: str, *, memory: bool) -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import StaticPool

    kwargs: dict[str, Any] = {}
    if memory:
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    try:
        return create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as exc:
        hint = "a SQLAlchemy URL such as sqlite:///catalog.db"
        if url.startswith("postgres"):
            hint = (
                "for PostgreSQL a SQLAlchemy URL such as postgresql+psycopg://USER@HOST/DB, with "
                "the driver from `pip install 'ropedex[postgres]'`"
            )
        raise BadDatabaseURL(
            f"Cannot use database {target!r} ({type(exc).__name__}: {exc}); pass a file path "
            f"or {hint}."
        ) from None


def open_engine(target: str, *, create: bool = True, readonly: bool = False) -> Engine:
    """Open the catalog at `target` (path or URL); a writable open also upgrades its schema.

    `create=True` is for commands that write: it may make a new file, adds any declared column
    or index the catalog lacks, and switches SQLite to WAL (a setting stored in the file).
    `create=False` (commands that read) refuses to make a file and writes only when the schema
    version is older, so reading a committed catalog leaves its bytes alone. `readonly=True`
    opens SQLite with `mode=ro` and `query_only`, so no statement can write; it never migrates.

    Raises:
        CatalogMissing: the SQLite file does not exist and `create` is false (or `readonly`).
        BadDatabaseURL: the URL names no usable database.
        CatalogUnreadable: the file is not a SQLite database.
        SchemaTooNew / SchemaOutdated: the catalog's schema version does not match.
    """
    from sqlalchemy import event
    from sqlalchemy.exc import ArgumentError

    url = db_url(target)
    try:
        path = sqlite_path(url)
    except ArgumentError:
        raise BadDatabaseURL(
            f"Cannot parse database URL {target!r}; pass a file path or a SQLAlchemy URL "
            "such as sqlite:///catalog.db."
        ) from None
    is_sqlite = url.startswith("sqlite")
    if path is not None:
        if Path(path).is_dir():
            raise CatalogUnreadable(f"{path} is a directory, not a catalog; pass a file to --db.")
        if (readonly or not create) and not Path(path).exists():
            raise CatalogMissing(f"No catalog at {path}; {_NEXT_STEP}.")
        if readonly:
            url = f"sqlite:///file:{quote(str(Path(path).resolve()))}?mode=ro&uri=true"
    engine = _create(url, target, memory=is_sqlite and path is None and "file:" not in url)
    if is_sqlite:
        event.listen(engine, "connect", _pragmas(readonly))
    _check_usable(engine, target, path)
    if readonly:
        _check_version(engine)
    else:
        from registry.migrations import migrate

        migrate(engine, repair=create)
        if create and path is not None:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    return engine


def _check_usable(engine: Engine, target: str, path: str | None) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            if path is not None:
                conn.execute(text("SELECT count(*) FROM sqlite_master"))
    except DBAPIError as exc:
        first = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        engine.dispose()
        if path is not None:
            raise CatalogUnreadable(
                f"Cannot open {path} as a catalog ({first}); pass another file to --db."
            ) from None
        raise BadDatabaseURL(
            f"Cannot connect to {target!r} ({first}); check the URL or pass a file path to --db."
        ) from None


def _check_version(engine: Engine) -> None:
    from registry.migrations import current_version, too_new
    from registry.models import SCHEMA_VERSION

    with engine.connect() as conn:
        version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise too_new(version)
    if version < SCHEMA_VERSION:
        raise SchemaOutdated(
            f"This catalog has schema version {version}, older than this ropedex "
            f"({SCHEMA_VERSION}); run `ropedex stats` once to upgrade it in place."
        )


def session_factory(engine: Engine) -> Callable[[], Session]:
    """A callable that opens a new session on `engine` (objects stay usable after commit)."""
    from sqlmodel import Session

    def make() -> Session:
        return Session(engine, expire_on_commit=False)

    return make


def as_session_factory(target: Engine | Callable[[], Session]) -> Callable[[], Session]:
    """`target` as a session factory: an engine gets `session_factory`, a factory is kept."""
    from sqlalchemy.engine import Engine

    return session_factory(target) if isinstance(target, Engine) else target


def refresh_statistics(engine: Engine) -> None:
    """Update the query planner's statistics after a batch of writes. SQLite keeps none until
    ANALYZE runs (sampled here, so it costs about the same at any size), and without them it
    picks the first index on a join key rather than the covering one. On PostgreSQL, VACUUM
    also marks the pages an index-only scan may skip (autovacuum would, later)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
        return
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")


__all__ = [
    "DEFAULT_DB",
    "as_session_factory",
    "db_url",
    "open_engine",
    "refresh_statistics",
    "session_factory",
    "sqlite_path",
]
