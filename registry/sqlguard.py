"""Bounds for `ropedex sql` on a SQLite catalog: time, rows, bytes and SQLite's own memory.

A statement typed by a user may never end (`WITH RECURSIVE` without a stop), return more rows
than fit in memory (a cross join) or build one huge value (`zeroblob(1e9)`). Each is stopped
with a `BadQuery` naming the limit and how to change it:

- time: a progress handler checked every few thousand virtual-machine steps interrupts the
  statement once `timeout` seconds have passed (fetching included);
- rows and bytes: results are fetched in chunks and counted; past `max_rows` rows or
  `max_bytes` bytes of values the statement is stopped;
- one value: SQLite's length limit (`SQLITE_LIMIT_LENGTH`) is lowered to `max_value_bytes`;
- SQLite's heap: a hard heap limit caps what SQLite itself may allocate (sorts, temp b-trees)
  for the statement's duration. The limit is process-wide and its PRAGMA can only lower it, so
  it is set through `sqlite3_hard_heap_limit64` (ctypes, on the library Python's sqlite3 module
  uses) and the previous value put back; without that symbol the PRAGMA lowers it for good.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from registry.errors import BadQuery

_STEPS = 10_000  # virtual-machine instructions between two clock checks


@dataclass(frozen=True)
class SqlLimits:
    timeout: float = 5.0  # seconds for the statement and its fetch
    max_rows: int = 100_000
    max_bytes: int = 256 * 1024 * 1024  # rough size of the values fetched
    max_value_bytes: int = 64 * 1024 * 1024  # one string or blob
    heap_bytes: int = 1024 * 1024 * 1024  # SQLite's own allocations


def _hard_heap_limit(conn: sqlite3.Connection, limit: int) -> int:
    """Set SQLite's process-wide hard heap limit (0: none); returns the previous one."""
    import _sqlite3
    import ctypes

    try:
        setter = ctypes.CDLL(_sqlite3.__file__).sqlite3_hard_heap_limit64
    except (OSError, AttributeError):
        (previous,) = conn.execute("PRAGMA hard_heap_limit").fetchone()
        if limit:
            conn.execute(f"PRAGMA hard_heap_limit = {int(limit)}")
        return int(previous)
    setter.restype = ctypes.c_int64
    setter.argtypes = [ctypes.c_int64]
    return int(setter(limit))


def _size(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value) + 16
    return 16


def run_sqlite(
    conn: sqlite3.Connection, cursor: Any, sql: str, limits: SqlLimits
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run `sql` on a read-only SQLite connection (through the DB-API `cursor` of `conn`) under
    `limits`; returns (column names, rows).

    Raises:
        BadQuery: a limit was hit (the message names it and the option that changes it).
        sqlite3.Error and others: the statement itself failed (the caller words these).
    """
    deadline = time.monotonic() + limits.timeout
    timed_out = False

    def progress() -> int:
        nonlocal timed_out
        if time.monotonic() > deadline:
            timed_out = True
            return 1  # SQLite stops the statement with "interrupted"
        return 0

    previous_heap = _hard_heap_limit(conn, limits.heap_bytes)
    previous_length = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.max_value_bytes)
    conn.set_progress_handler(progress, _STEPS)
    try:
        rows: list[tuple[Any, ...]] = []
        size = 0
        try:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description or ()]
            while chunk := cursor.fetchmany(1000):
                for row in chunk:
                    rows.append(tuple(row))
                    size += sum(_size(v) for v in row)
                if len(rows) > limits.max_rows:
                    raise BadQuery(
                        f"The statement returns more than {limits.max_rows} rows; add a LIMIT "
                        "or raise --max-rows."
                    )
                if size > limits.max_bytes:
                    raise BadQuery(
                        f"The statement returns more than {limits.max_bytes // 2**20} MiB; "
                        "select fewer columns or rows (LIMIT)."
                    )
        except BadQuery:
            raise
        except MemoryError:
            raise BadQuery(
                "The statement needs more memory than this machine gives it; add a LIMIT."
            ) from None
        except sqlite3.Error as exc:
            if timed_out:
                raise BadQuery(
                    f"The statement ran past its limit of {limits.timeout:g} s and was stopped; "
                    "narrow it or raise --timeout."
                ) from None
            message = str(exc)
            if "too big" in message:
                raise BadQuery(
                    f"A value would exceed {limits.max_value_bytes // 2**20} MiB ({message}); "
                    "select a shorter one."
                ) from None
            if "out of memory" in message:
                raise BadQuery(
                    f"The statement needs more than {limits.heap_bytes // 2**20} MiB of "
                    "SQLite memory and was stopped; add a LIMIT or narrow it."
                ) from None
            raise
        return names, rows
    finally:
        conn.set_progress_handler(None, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, previous_length)
        _hard_heap_limit(conn, previous_heap)
