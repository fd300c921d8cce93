"""Opening the catalog: a path or any SQLAlchemy URL; SQLite in WAL mode with foreign keys on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import BadDatabaseURL, CatalogMissing

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DEFAULT_DB = "catalog.db"


def db_url(target: str) -> str:
    """Turn a `--db` value (path or URL) into a SQLAlchemy URL."""
    if "://" in target:
        return target
    return f"sqlite:///{Path(target)}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    try:
        cur.execute("PRAGMA journal_mode=WAL")
    except Exception:  # read-only connections cannot switch the journal mode
        pass
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def open_engine(target: str, *, create: bool = True, readonly: bool = False) -> Engine:
    """Open the catalog at `target` (path or URL), creating and migrating it when `create`.

    Raises:
        CatalogMissing: the SQLite file does not exist and `create` is false.
        BadDatabaseURL: the URL names no usable database.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    url = db_url(target)
    is_sqlite = url.startswith("sqlite")
    if is_sqlite and not create:
        path = url.split(":///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not Path(path).exists():
            raise CatalogMissing(
                f"No catalog at {path}; run `ropedex nightly --offline` or `ropedex ingest DIR` "
                "to build one, or pass --db."
            )
    connect_args: dict[str, Any] = {}
    if is_sqlite and readonly:
        path = url.split(":///", 1)[-1].split("?", 1)[0]
        url = f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true"
    try:
        engine = create_engine(url, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise BadDatabaseURL(
            f"Cannot use database {target!r} ({exc}); pass a file path or a SQLAlchemy URL "
            "such as sqlite:///catalog.db."
        ) from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    if create and not readonly:
        from registry.migrations import migrate

        migrate(engine)
    return engine
