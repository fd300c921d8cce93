"""Schema step 2: a catalog whose run log is still `scrape_runs` keeps every row as `runs`
(on SQLite and on PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from registry.db import open_engine, session_factory
from registry.models import SCHEMA_VERSION, Run
from registry.runs import logged_run


def _version_1_catalog(url: str) -> None:
    """A current catalog taken back to schema 1: the run log under its old name."""
    engine = open_engine(url)
    make = session_factory(engine)
    with logged_run(make, "ingest") as run:
        run.status = "ok"
        run.counts = {"new": 3}
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE runs RENAME TO scrape_runs"))
        conn.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()


def test_scrape_runs_becomes_runs_with_its_rows(catalog_url: str) -> None:
    _version_1_catalog(catalog_url)
    engine = open_engine(catalog_url)  # a writable open upgrades in place
    try:
        with session_factory(engine)() as session:
            runs = session.query(Run).all()
        assert [(r.kind, r.status, r.counts) for r in runs] == [("ingest", "ok", {"new": 3})]
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            version = conn.execute(text("SELECT value FROM meta WHERE key='schema_version'")).one()
            fks = inspect(conn).get_foreign_keys("changes")
    finally:
        engine.dispose()
    assert "runs" in tables and "scrape_runs" not in tables
    assert int(version[0]) == SCHEMA_VERSION == 2
    assert {fk["referred_table"] for fk in fks} >= {"runs"}  # changes now references runs


def test_an_interrupted_job_closes_its_run_as_interrupted(catalog_url: str) -> None:
    engine = open_engine(catalog_url)
    make = session_factory(engine)
    try:
        with logged_run(make, "verify") as run:
            run.counts = {"checked": 1}
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    with make() as session:
        (row,) = session.query(Run).all()
    assert (row.status, row.counts, row.ended_at is not None) == (
        "interrupted",
        {"checked": 1},
        True,
    )
