"""Versioned schema upgrades: a user's existing catalog is upgraded in place, never thrown away.

Each step is a numbered function that takes a connection; `migrate` runs the ones newer than the
catalog's `meta.schema_version`, each in its own transaction, and records the new version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from registry.errors import SchemaTooNew
from registry.models import SCHEMA_VERSION

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


def m001_initial(conn: Connection) -> None:
    """Create every table of schema version 1."""
    from sqlmodel import SQLModel

    import registry.models  # noqa: F401  (registers the tables)

    SQLModel.metadata.create_all(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [m001_initial]
assert len(MIGRATIONS) == SCHEMA_VERSION


def current_version(conn: Connection) -> int:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("meta"):
        return 0
    row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else 0


def migrate(engine: Engine) -> int:
    """Bring the catalog up to SCHEMA_VERSION; returns the version it had before."""
    from sqlalchemy import text

    with engine.begin() as conn:
        before = current_version(conn)
    if before > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"This catalog has schema version {before}, newer than this ropedex "
            f"({SCHEMA_VERSION}); upgrade ropedex (pip install -U ropedex)."
        )
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
