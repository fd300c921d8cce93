"""Opening the catalog: SQLite settings, schema versions, upgrades in place, and clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from registry.db import db_url, open_engine, sqlite_path
from registry.errors import (
    BadDatabaseURL,
    CatalogMissing,
    CatalogUnreadable,
    SchemaOutdated,
    SchemaTooNew,
)
from registry.migrations import current_version, migrate
from registry.models import SCHEMA_VERSION

TABLES = {
    "models",
    "config_snapshots",
    "position_facts",
    "verifications",
    "runs",
    "changes",
    "fetch_errors",
    "meta",
}


def test_new_catalog_is_wal_with_foreign_keys_and_versioned(tmp_path: Path) -> None:
    engine = open_engine(str(tmp_path / "c.db"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert current_version(conn) == SCHEMA_VERSION
        assert TABLES <= set(inspect(conn).get_table_names())


def test_catalog_opens_in_plain_sqlite3(tmp_path: Path) -> None:
    open_engine(str(tmp_path / "c.db")).dispose()
    conn = sqlite3.connect(tmp_path / "c.db")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    cols = {r[1] for r in conn.execute("PRAGMA table_info(position_facts)")}
    conn.close()
    assert TABLES <= names
    assert {"position_encoding", "rope_theta", "scaling_type", "effective_context"} <= cols


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    engine = open_engine(str(tmp_path / "c.db"))
    with pytest.raises(Exception, match="FOREIGN KEY"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO config_snapshots (model_id, repo_id, fetched_at, content_hash, size)"
                " VALUES (999, 'a/b', 'now', 'h', 1)"
            )
        )


def test_migrate_twice_is_a_no_op(tmp_path: Path) -> None:
    engine = open_engine(str(tmp_path / "c.db"))
    assert migrate(engine) == SCHEMA_VERSION


def _version0_catalog(path: Path) -> None:
    """A catalog from before the schema had a version: fewer columns, no meta table."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE models (id INTEGER PRIMARY KEY, repo_id VARCHAR NOT NULL UNIQUE,
                             author VARCHAR, downloads INTEGER);
        INSERT INTO models (repo_id, author, downloads) VALUES ('org/one', 'org', 10);
        INSERT INTO models (repo_id, author, downloads) VALUES ('org/two', 'org', 20);
        """
    )
    conn.commit()
    conn.close()


def test_version0_catalog_is_upgraded_in_place_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _version0_catalog(path)
    engine = open_engine(str(path), create=False)
    with engine.connect() as conn:
        assert current_version(conn) == SCHEMA_VERSION
        rows = conn.execute(
            text("SELECT repo_id, downloads, family, status FROM models ORDER BY repo_id")
        ).all()
        indexes = {i["name"] for i in inspect(conn).get_indexes("models")}
    # Old rows keep their values; new columns take the column default (status "ok") or NULL.
    assert [tuple(r) for r in rows] == [("org/one", 10, None, "ok"), ("org/two", 20, None, "ok")]
    assert "ix_models_family_snapshot" in indexes
    assert "ix_models_downloads" in indexes


def test_upgraded_catalog_accepts_new_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _version0_catalog(path)
    engine = open_engine(str(path))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO models (repo_id, family) VALUES ('org/three', 'llama')"))
        assert conn.execute(text("SELECT count(*) FROM models")).scalar() == 3


def _set_version(path: Path, version: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("readonly", [False, True])
def test_too_new_catalog_is_refused_with_a_clear_error(tmp_path: Path, readonly: bool) -> None:
    path = tmp_path / "c.db"
    open_engine(str(path)).dispose()
    _set_version(path, str(SCHEMA_VERSION + 1))
    with pytest.raises(SchemaTooNew, match="upgrade ropedex"):
        open_engine(str(path), readonly=readonly)


def test_readonly_open_of_an_old_catalog_says_how_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _version0_catalog(path)
    with pytest.raises(SchemaOutdated, match="ropedex stats"):
        open_engine(str(path), readonly=True)


def test_garbage_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    open_engine(str(path)).dispose()
    _set_version(path, "banana")
    with pytest.raises(CatalogUnreadable, match="schema_version"):
        open_engine(str(path))


def test_missing_catalog_without_create(tmp_path: Path) -> None:
    with pytest.raises(CatalogMissing, match="ropedex ingest"):
        open_engine(str(tmp_path / "nope.db"), create=False)
    assert not (tmp_path / "nope.db").exists()


def test_readonly_engine_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    open_engine(str(path)).dispose()
    engine = open_engine(str(path), readonly=True)
    with pytest.raises(Exception, match="readonly|read-only|query_only"), engine.begin() as c:
        c.execute(text("INSERT INTO meta (key, value) VALUES ('x', 'y')"))


@pytest.mark.parametrize("url", ["foo://bar", "postgresql+nosuchdriver://u@h/db", "sqlite:///"])
def test_bad_urls_are_clear_errors(url: str) -> None:
    if url == "sqlite:///":
        engine = open_engine(url)  # in-memory SQLite is a valid catalog
        engine.dispose()
        return
    with pytest.raises(BadDatabaseURL, match="SQLAlchemy URL"):
        open_engine(url)


def test_unopenable_sqlite_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogUnreadable, match="Cannot open"):
        open_engine(f"sqlite:///{tmp_path}/no/such/dir/c.db")


def test_directory_and_non_database_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogUnreadable, match="directory"):
        open_engine(str(tmp_path))
    junk = tmp_path / "junk.db"
    junk.write_text("not a database, just text " * 100)
    with pytest.raises(CatalogUnreadable, match="not a database"):
        open_engine(str(junk))
    assert junk.read_text().startswith("not a database")  # nothing was overwritten


def test_url_helpers() -> None:
    assert db_url("catalog.db") == "sqlite:///catalog.db"
    assert db_url("sqlite:////abs/c.db") == "sqlite:////abs/c.db"
    assert sqlite_path("sqlite:////abs/c.db") == "/abs/c.db"
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("postgresql://u@h/db") is None


def test_reopening_restores_a_declared_index_without_touching_rows(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    engine = open_engine(str(path))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO models (repo_id, status, private) VALUES ('a/b', 'ok', 0)"))
        conn.execute(text("DROP INDEX ix_facts_pe_ctx"))
    engine.dispose()
    engine = open_engine(str(path))
    with engine.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("position_facts")}
        assert conn.execute(text("SELECT repo_id FROM models")).all() == [("a/b",)]
    assert "ix_facts_pe_ctx" in indexes


def test_a_superseded_index_is_replaced_on_reopening(catalog_url: str) -> None:
    """A catalog made when the popularity join index had its earlier name and columns gets the
    declared one instead, its rows untouched, on SQLite and on PostgreSQL."""
    engine = open_engine(catalog_url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO models (repo_id, status, private) VALUES ('a/b', 'ok', false)")
        )
        conn.execute(text("DROP INDEX ix_models_snapshot_rank"))
        conn.execute(
            text(
                "CREATE INDEX ix_models_snapshot_popularity "
                "ON models (snapshot_id, downloads, likes)"
            )
        )
    engine.dispose()
    engine = open_engine(catalog_url)
    with engine.connect() as conn:
        indexes = {i["name"]: i for i in inspect(conn).get_indexes("models")}
        assert conn.execute(text("SELECT repo_id FROM models")).all() == [("a/b",)]
    engine.dispose()
    assert "ix_models_snapshot_popularity" not in indexes
    rank = indexes["ix_models_snapshot_rank"]
    assert rank["column_names"] == ["snapshot_id", "downloads", "likes"]
    if catalog_url.startswith("postgresql"):  # the id rides along: an index-only join there
        assert rank["dialect_options"]["postgresql_include"] == ["id"]


def test_a_reading_open_leaves_a_current_catalog_byte_for_byte(tmp_path: Path) -> None:
    """A committed catalog (DELETE journal, say) is not rewritten by query/show/stats."""
    path = tmp_path / "c.db"
    open_engine(str(path)).dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("DROP INDEX ix_models_downloads")  # as if built before this index existed
    conn.close()
    before = path.read_bytes()
    engine = open_engine(str(path), create=False)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM models")).scalar() == 0
    engine.dispose()
    assert path.read_bytes() == before
    open_engine(str(path), create=True).dispose()  # a writing open repairs and switches to WAL
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert "ix_models_downloads" in names


def test_a_reading_open_adds_a_declared_column_the_file_lacks(tmp_path: Path) -> None:
    """A catalog at the current version but missing a column (made before the column was
    declared) is repaired even by a reading command, which could not read it otherwise."""
    from sqlmodel import Session, select

    from registry.models import Model

    path = tmp_path / "c.db"
    open_engine(str(path)).dispose()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO models (repo_id, status, private) VALUES ('a/b', 'ok', 0)")
    conn.execute("ALTER TABLE models DROP COLUMN failed_sha")
    conn.commit()
    conn.close()
    engine = open_engine(str(path), create=False)
    with Session(engine) as session:
        model = session.exec(select(Model)).one()
    assert model.repo_id == "a/b" and model.failed_sha is None
    with engine.connect() as c:
        assert "failed_sha" in {col["name"] for col in inspect(c).get_columns("models")}


def test_a_server_catalog_first_does_not_drop_sqlite_foreign_keys(
    pg_cluster: Any, tmp_path: Path
) -> None:
    """Creating a PostgreSQL catalog in the same process (publish-db from a server) must not
    leave the next SQLite catalog without its foreign keys."""
    open_engine(pg_cluster.create_database()).dispose()
    engine = open_engine(str(tmp_path / "after.db"))
    with engine.connect() as conn:
        ddl = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'config_snapshots'"
        ).scalar()
    assert "FOREIGN KEY" in str(ddl)
