"""Schema step 2: a catalog whose run log is still `scrape_runs` keeps every row as `runs`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from registry.db import open_engine, session_factory
from registry.models import SCHEMA_VERSION, Run
from registry.runs import logged_run


def _version_1_catalog(path: Path) -> None:
    """A current catalog taken back to schema 1: the run log under its old name."""
    engine = open_engine(str(path))
    make = session_factory(engine)
    with logged_run(make, "ingest") as run:
        run.status = "ok"
        run.counts = {"new": 3}
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE runs RENAME TO scrape_runs")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def test_scrape_runs_becomes_runs_with_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _version_1_catalog(db)
    engine = open_engine(str(db))  # a writable open upgrades in place
    with session_factory(engine)() as session:
        runs = session.query(Run).all()
    assert [(r.kind, r.status, r.counts) for r in runs] == [("ingest", "ok", {"new": 3})]
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        fks = conn.execute("PRAGMA foreign_key_list(changes)").fetchall()
    assert "runs" in tables and "scrape_runs" not in tables
    assert int(version[0]) == SCHEMA_VERSION == 2
    assert {fk[2] for fk in fks} >= {"runs"}  # the changes table now references runs


def test_an_interrupted_job_closes_its_run_as_interrupted(tmp_path: Path) -> None:
    engine = open_engine(str(tmp_path / "c.db"))
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
