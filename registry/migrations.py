"""Versioned schema upgrades: a user's existing catalog is upgraded in place, never thrown away.

Each step is a numbered function that takes a connection; `migrate` runs the ones newer than the
catalog's `meta.schema_version`, each in its own transaction, and records the new version.
Version 0 is a catalog written before the schema carried a version: its tables may lack columns
and indexes, which step 1 adds while keeping every row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from registry.errors import CatalogUnreadable, SchemaTooNew
from registry.models import SCHEMA_VERSION

if TYPE_CHECKING:
    from sqlalchemy import Column, Table
    from sqlalchemy.engine import Connection, Engine


def _column_ddl(conn: Connection, column: Column) -> str:
    """`ALTER TABLE ... ADD COLUMN` clause for a column added to an existing table."""
    from sqlalchemy.schema import CreateColumn

    ddl = str(CreateColumn(column).compile(dialect=conn.dialect))
    if column.server_default is not None:
        return ddl
    default = column.default
    arg = getattr(default, "arg", None) if default is not None and default.is_scalar else None
    if isinstance(arg, bool | int | float | str):
        # Existing rows take the column's Python default, so NOT NULL can stay.
        literal = str(int(arg)) if isinstance(arg, bool) else repr(arg)
        if isinstance(arg, str):
            literal = "'" + arg.replace("'", "''") + "'"
        return f"{ddl} DEFAULT {literal}"
    # SQLite cannot add a NOT NULL column without a default; existing rows get NULL instead.
    return ddl.replace(" NOT NULL", "")


def _add_missing(conn: Connection, table: Table) -> None:
    from sqlalchemy import inspect

    existing = {c["name"] for c in inspect(conn).get_columns(table.name)}
    preparer = conn.dialect.identifier_preparer
    for column in table.columns:
        if column.name not in existing:
            conn.exec_driver_sql(
                f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN {_column_ddl(conn, column)}"
            )
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        index.create(conn, checkfirst=True)


def reconcile(conn: Connection) -> None:
    """Create missing tables, and add the columns and indexes the code declares but the file
    lacks. No row or column is dropped or rewritten; a superseded index is dropped."""
    from sqlalchemy import MetaData, inspect
    from sqlmodel import SQLModel

    import registry.models  # noqa: F401  (registers the tables)

    before = set(inspect(conn).get_table_names())
    # On a server, SQLAlchemy adds the models <-> config_snapshots foreign keys with ALTER and
    # marks the constraint objects as added (AddConstraint), which would leave them out of any
    # later CREATE TABLE in this process, a SQLite catalog's included: create from a copy.
    # Indexes are created apart, sorted by name: `Table.indexes` is a set, and its order would
    # otherwise change the schema text of each new file (the published download included).
    scratch = MetaData()
    indexes: list[Any] = []
    for table in SQLModel.metadata.tables.values():
        copy = table.to_metadata(scratch)
        if table.name not in before:  # an old table gets its indexes after its new columns
            indexes += copy.indexes
        copy.indexes = set()
    scratch.create_all(conn)
    for index in sorted(indexes, key=lambda i: str(i.name)):
        index.create(conn, checkfirst=True)
    for table in SQLModel.metadata.tables.values():
        if table.name in before:
            _add_missing(conn, table)
    if conn.dialect.name == "postgresql":
        for name, ddl in sorted(POSTGRES_INDEXES.items()):
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {ddl}")
    for name in SUPERSEDED_INDEXES:  # no data lives in an index: the new one replaces it
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


# PostgreSQL sorts NULL first in a descending scan; the catalog's sorts put NULL last, so the
# most-downloaded page (the default) needs an index in that order there (SQLite's plain index
# on the column already reads in it). Without it an unfiltered page is a sort of every row.
# Not for likes: with it, a rare filter sorted by likes was planned as a walk of that index
# through every row (1.8 s at 1,000,000 models, against a sort of the few matches).
# The context sort (ties broken by snapshot id) reads the facts' context index in the same
# order from its top, and probes each model: 3 ms for family=qwen at 1,000,000 models, where
# joining every qwen model's facts row and sorting took 220 ms.
POSTGRES_INDEXES = {
    "ix_models_downloads_nulls_last": "models (downloads DESC NULLS LAST, id DESC)",
    "ix_facts_context_nulls_last": (
        "position_facts (effective_context DESC NULLS LAST, snapshot_id DESC)"
    ),
}

# Indexes an earlier catalog may have, each replaced by a declared one.
SUPERSEDED_INDEXES = ("ix_models_snapshot_popularity",)  # by ix_models_snapshot_rank


def lacks_columns(conn: Connection) -> bool:
    """Whether a declared table or column is missing from the file (indexes are not checked)."""
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    import registry.models  # noqa: F401  (registers the tables)

    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    for table in SQLModel.metadata.tables.values():
        if table.name not in tables:
            return True
        existing = {c["name"] for c in inspector.get_columns(table.name)}
        if any(column.name not in existing for column in table.columns):
            return True
    return False


def m001_initial(conn: Connection) -> None:
    """Create every table of schema version 1; add missing columns and indexes to old tables."""
    reconcile(conn)


def m002_runs_table(conn: Connection) -> None:
    """The run log `scrape_runs` becomes `runs` (it logs every job, not only scrapes).

    Foreign keys of `changes` and `fetch_errors` follow the rename on SQLite and PostgreSQL. A
    version-0 catalog upgraded by step 1 may have gained an empty `runs` beside its old table:
    the old table, with its rows, wins.
    """
    from sqlalchemy import inspect, text

    tables = set(inspect(conn).get_table_names())
    if "scrape_runs" not in tables:
        return
    if "runs" in tables:
        if conn.execute(text("SELECT COUNT(*) FROM runs")).scalar():
            return
        conn.execute(text("DROP TABLE runs"))
    conn.execute(text("ALTER TABLE scrape_runs RENAME TO runs"))
    reconcile(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [m001_initial, m002_runs_table]
assert len(MIGRATIONS) == SCHEMA_VERSION


def too_new(version: int) -> SchemaTooNew:
    """The error for a catalog written by a newer ropedex."""
    return SchemaTooNew(
        f"This catalog has schema version {version}, newer than this ropedex "
        f"({SCHEMA_VERSION}); upgrade ropedex (pip install -U ropedex)."
    )


def current_version(conn: Connection) -> int:
    """The catalog's schema version; 0 when it predates versioning (or is empty)."""
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("meta"):
        return 0
    row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
    if row is None:
        return 0
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise CatalogUnreadable(
            f"The catalog's meta.schema_version is {row[0]!r}, not a number; "
            "restore it or pass another file to --db."
        ) from None


def migrate(engine: Engine, *, repair: bool = True) -> int:
    """Bring the catalog up to SCHEMA_VERSION; returns the version it had before.

    With `repair`, a catalog already at SCHEMA_VERSION also gets any declared column or index it
    lacks; without it, such a catalog is written only when it lacks a declared table or column.
    """
    from sqlalchemy import text

    with engine.begin() as conn:
        before = current_version(conn)
    if before > SCHEMA_VERSION:
        raise too_new(before)
    if before == SCHEMA_VERSION:
        # Same version: still add any index or column declared since the file was made (cheap,
        # and lets a catalog built during development pick up new indexes). A reading command
        # writes only when a declared column is missing, since it could not read the file else.
        with engine.begin() as conn:
            if repair or lacks_columns(conn):
                reconcile(conn)
    for version in range(before + 1, SCHEMA_VERSION + 1):
        with engine.begin() as conn:
            MIGRATIONS[version - 1](conn)
            conn.execute(
                text(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', :v) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
                ),
                {"v": str(version)},
            )
    return before
