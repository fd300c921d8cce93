"""The catalog of any backend as a SQLite file: what `publish-db` and the site's
`downloads/catalog.db` hand out when the catalog lives on a server.

Every table the models declare is copied in primary-key order (ids kept, so the file answers
the same queries with the same ties), read inside one snapshot of the source; the file gets its
schema, indexes and version from `open_engine`, the same way a new local catalog does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

BATCH_ROWS = 2000


def export_to_sqlite(engine: Engine, dest: Path, *, batch_rows: int = BATCH_ROWS) -> dict[str, int]:
    """Write the catalog behind `engine` to a new SQLite file `dest` (replaced if present);
    returns rows copied per table.

    Raises:
        RuntimeError: the copy fails SQLite's foreign-key check.
    """
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import registry.models  # noqa: F401  (registers the tables)
    from registry.db import open_engine

    dest.unlink(missing_ok=True)
    out = open_engine(str(dest), create=True)
    counts: dict[str, int] = {}
    try:
        src_conn = engine.connect()
        if engine.dialect.name == "postgresql":  # one snapshot for every table
            src_conn = src_conn.execution_options(isolation_level="REPEATABLE READ")
        with src_conn as src, out.connect() as dst:
            dst.exec_driver_sql("PRAGMA foreign_keys=OFF")  # models <-> config_snapshots cycle
            dst.exec_driver_sql("PRAGMA synchronous=OFF")  # a new file, renamed in when done
            dst.commit()
            with src.begin(), dst.begin():
                dst.execute(text("DELETE FROM meta"))
                for name in sorted(SQLModel.metadata.tables):
                    table = SQLModel.metadata.tables[name]
                    counts[name] = _copy_table(src, dst, table, batch_rows)
            problems = dst.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            dst.exec_driver_sql("PRAGMA journal_mode=DELETE")
            dst.commit()
    finally:
        out.dispose()
    if problems:
        raise RuntimeError(f"the exported catalog breaks {len(problems)} foreign keys")
    return counts


def _copy_table(src: Connection, dst: Connection, table: Any, batch_rows: int) -> int:
    """Copy `table` in primary-key order as plain tuples: JSON columns travel as their stored
    text (what SQLAlchemy writes on either backend), so no value is parsed and serialized
    again on the way."""
    from sqlalchemy import JSON, Text, cast, select

    quote = dst.dialect.identifier_preparer.quote
    selected = [cast(c, Text) if isinstance(c.type, JSON) else c for c in table.columns]
    names = ", ".join(quote(c.name) for c in table.columns)
    marks = ", ".join("?" for _ in table.columns)
    insert = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"
    order = list(table.primary_key.columns)
    query = select(*selected).order_by(*order)
    copied = 0
    for part in src.execution_options(yield_per=batch_rows).execute(query).partitions():
        rows = [tuple(row) for row in part]
        dst.exec_driver_sql(insert, rows)
        copied += len(rows)
    return copied
