"""What the PostgreSQL backend does its own way: `ropedex sql` in a read-only transaction with a
statement timeout (SQLite's read-only file mode has no server counterpart)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registry.errors import BadQuery

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

SQL_TIMEOUT_S = 30.0


def run_sql_postgresql(
    engine: Engine, sql: str, *, timeout_s: float = SQL_TIMEOUT_S
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one statement on a PostgreSQL catalog, read-only; returns (column names, rows).

    The statement runs alone (a prepared statement refuses several commands) inside a
    `READ ONLY` transaction whose `statement_timeout` is `timeout_s`, on a connection that is
    closed afterwards instead of going back to the pool, so nothing it sets outlives it.

    Raises:
        BadQuery: the statement failed, tried to write, or ran past the timeout.
    """
    timeout_ms = max(1, int(timeout_s * 1000))
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        driver.rollback()  # idle, so the next transaction takes the settings below
        driver.autocommit = False
        driver.read_only = True  # psycopg opens each transaction with BEGIN READ ONLY
        cur = driver.cursor()
        try:
            cur.execute("SELECT set_config('statement_timeout', %s, true)", (f"{timeout_ms}ms",))
            cur.execute(sql, prepare=True)
            names = [d[0] for d in cur.description or ()]
            rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        except Exception as exc:  # psycopg's own errors
            raise _bad_query(exc, timeout_s) from None
        finally:
            cur.close()
    finally:
        raw.invalidate()
    return names, rows


def _bad_query(exc: Exception, timeout_s: float) -> BadQuery:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "read-only transaction" in message:
        return BadQuery(
            f"`ropedex sql` is read-only ({message}); change the catalog with `ropedex ingest` "
            "or `ropedex nightly`."
        )
    if "statement timeout" in message:
        return BadQuery(
            f"`ropedex sql` stopped the statement after {timeout_s:g} s ({message}); "
            "narrow it with WHERE or LIMIT."
        )
    if "multiple commands" in message:
        return BadQuery(f"`ropedex sql` runs one statement at a time ({message}).")
    return BadQuery(
        f'SQL error: {message}; list tables with `ropedex sql "SELECT table_name FROM '
        "information_schema.tables WHERE table_schema = 'public'\"`."
    )
