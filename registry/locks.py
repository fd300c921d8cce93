"""One nightly run per catalog: a lock that belongs to the catalog, not to a working directory.

- SQLite: an exclusive `flock` on a file beside the catalog's *real* file (symlinks and `..`
  resolved), so every spelling of one file (`x.db`, `./x.db`, `sqlite+pysqlite:///x.db`, a
  symlink to it) takes the same lock. The kernel drops it when the holder dies, kill -9 too.
- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a key derived from the
  database, held by one dedicated connection for the whole run. Advisory locks live in the
  server, so runs from any directory or machine see each other; the server drops the lock when
  the holder's connection ends, which a killed process's does at once.

A run that finds the lock taken gets `LockHeld` at once; it never waits.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from registry.errors import BadDatabaseURL, LockHeld

LOCK_SUFFIX = ".lock"
_LOCK_NAME = "ropedex:nightly"


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (plain or `file:` URI form); None for in-memory SQLite."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    if database.startswith("file:"):
        parts = urlsplit(database)
        if "mode=memory" in parts.query or parsed.query.get("mode") == "memory":
            return None
        database = unquote(parts.path)
    if database in ("", ":memory:"):
        return None
    return Path(database)


def lock_file_for(url: str) -> Path | None:
    """The lock file of a SQLite catalog: beside its resolved real path. None when in memory."""
    path = sqlite_file(url)
    if path is None:
        return None
    return Path(os.path.realpath(path)).with_name(Path(os.path.realpath(path)).name + LOCK_SUFFIX)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive, non-blocking `flock` on `path`, which then holds the holder's pid.

    Raises:
        LockHeld: another process holds it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise LockHeld(
                f"Another ropedex nightly run holds {path} (pid {holder}); it will finish on its "
                "own, or wait and run again."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def advisory_key(database: str) -> int:
    """The signed 64-bit advisory-lock key of a catalog database (stable across runs)."""
    digest = hashlib.sha256(f"{_LOCK_NAME}:{database}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _holder_name() -> str:
    return f"ropedex nightly pid {os.getpid()} on {socket.gethostname()}"[:63]


@contextmanager
def advisory_lock(url: str) -> Iterator[None]:
    """Hold the catalog's advisory lock on a PostgreSQL server for the block.

    Raises:
        LockHeld: another session holds it.
        BadDatabaseURL: the server cannot be reached.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        engine = create_engine(
            url, poolclass=NullPool, connect_args={"application_name": _holder_name()}
        )
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise BadDatabaseURL(
            f"Cannot use database URL ({type(exc).__name__}: {exc}); for PostgreSQL use "
            "postgresql+psycopg://USER@HOST/DB with the postgres extra installed."
        ) from None
    try:
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            raise BadDatabaseURL(f"Cannot connect to the catalog's server ({first}).") from None
        try:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            key = advisory_key(str(database))
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
            if not got:
                holder = _advisory_holder(conn, key) or "another session"
                raise LockHeld(
                    f"Another ropedex nightly run holds the lock of database {database!r} "
                    f"({holder}); it will finish on its own, or wait and run again."
                )
            try:
                yield
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                except DBAPIError:
                    pass  # the connection is gone, and the server dropped the lock with it
        finally:
            conn.close()
    finally:
        engine.dispose()


def _advisory_holder(conn: object, key: int) -> str | None:
    """The application name of the session holding advisory lock `key`, if it can be seen."""
    from sqlalchemy import text

    unsigned = key % 2**64
    row = conn.execute(  # type: ignore[attr-defined]
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :hi AND l.objid = :lo "
            "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())"
        ),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
    ).first()
    return str(row[0]) if row is not None and row[0] else None


@contextmanager
def catalog_lock(target: str) -> Iterator[None]:
    """The nightly lock of the catalog `target` (a path or SQLAlchemy URL names).

    Raises:
        LockHeld: another run holds it.
        BadDatabaseURL: a backend with no lock (neither SQLite nor PostgreSQL).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from registry.db import db_url

    url = db_url(target)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise BadDatabaseURL(
            f"Cannot parse database URL {target!r}; pass a file path or a SQLAlchemy URL "
            "such as sqlite:///catalog.db."
        ) from None
    if backend == "sqlite":
        path = lock_file_for(url)
        if path is None:  # an in-memory catalog is private to this process
            yield
            return
        with file_lock(path):
            yield
        return
    if backend == "postgresql":
        with advisory_lock(url):
            yield
        return
    raise BadDatabaseURL(
        f"The nightly run can lock SQLite and PostgreSQL catalogs only, not {backend!r}."
    )
