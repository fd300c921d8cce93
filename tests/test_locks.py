"""The nightly lock belongs to the catalog: one file lock per real SQLite file whatever its
spelling, one advisory lock per PostgreSQL database whatever the working directory; a killed
holder never blocks the next run. Real processes, a real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.db import db_url
from registry.errors import LockHeld
from registry.locks import advisory_key, catalog_lock, lock_file_for
from registry.nightly import EXIT_LOCKED
from scrapers.faults import FaultPlan
from scrapers.mirror import serve_in_thread
from tests.test_nightly import follow_all, make_tree, nightly_args


def _sqlite_spellings(tmp_path: Path) -> tuple[Path, list[str]]:
    real = tmp_path / "data" / "cat.db"
    real.parent.mkdir()
    (tmp_path / "link.db").symlink_to(real)
    return real, [
        str(real),
        "data/cat.db",
        "./data/../data/cat.db",
        f"sqlite:///{real}",
        f"sqlite+pysqlite:///{real}",
        "sqlite+pysqlite:///data/cat.db",
        str(tmp_path / "link.db"),
        f"sqlite:///file:{real}?uri=true",
    ]


def test_every_spelling_of_one_sqlite_file_names_one_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, spellings = _sqlite_spellings(tmp_path)
    monkeypatch.chdir(tmp_path)
    locks = {lock_file_for(db_url(s)) for s in spellings}
    assert locks == {Path(os.path.realpath(real.parent)) / "cat.db.lock"}
    assert lock_file_for("sqlite://") is None
    assert lock_file_for("sqlite:///file:x?mode=memory&cache=shared&uri=true") is None
    assert lock_file_for(db_url(str(tmp_path / "other.db"))) not in locks


def test_a_held_sqlite_lock_refuses_every_other_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _real, spellings = _sqlite_spellings(tmp_path)
    monkeypatch.chdir(tmp_path)
    with catalog_lock(spellings[0]):
        for spelling in spellings[1:]:
            with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
                with catalog_lock(spelling):
                    pass
        with catalog_lock(str(tmp_path / "other.db")):
            pass  # another catalog, another lock
    with catalog_lock(spellings[-1]):
        pass  # released on exit


def _other_spelling(url: str) -> str:
    """The same PostgreSQL database named another way (query-string user and host)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.query["host"]
    return f"postgresql+psycopg:///{parsed.database}?user={parsed.username}&host={host}"


def test_a_held_advisory_lock_refuses_a_second_session(pg_cluster: Any) -> None:
    url, other_db = pg_cluster.create_database(), pg_cluster.create_database()
    try:
        with catalog_lock(url):
            with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
                with catalog_lock(_other_spelling(url)):
                    pass
            with catalog_lock(other_db):
                pass  # another catalog on the same server is not blocked
        with catalog_lock(_other_spelling(url)):
            pass  # released on exit
    finally:
        pg_cluster.drop_database(url)
        pg_cluster.drop_database(other_db)


def test_advisory_keys_differ_per_database_and_are_stable() -> None:
    assert advisory_key("a") == advisory_key("a")
    assert advisory_key("a") != advisory_key("b")
    assert -(2**63) <= advisory_key("catalog") < 2**63


# --- real nightly processes --------------------------------------------------------------------


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "registry", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _holding(backend: str, db: str, pid: int) -> Callable[[], bool]:
    """Whether process `pid` now holds the nightly lock of catalog `db`."""
    if backend == "sqlite":
        lock = lock_file_for(db_url(db))
        assert lock is not None
        return lambda: lock.exists() and lock.read_text().strip() == str(pid)

    def held() -> bool:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(db, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                names = conn.execute(
                    text(
                        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                        "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                    )
                ).scalars()
                return any(f"pid {pid} " in str(n) for n in names)
        finally:
            engine.dispose()

    return held


def _wait_for(check: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 120
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"{what} never happened (exit {proc.returncode}): {err[-2000:]}")
        time.sleep(0.05)


@pytest.fixture(name="spelled")
def spelled_fixture(catalog_url: str, backend: str, tmp_path: Path) -> tuple[str, str]:
    """One catalog named two ways: an absolute path and a `sqlite+pysqlite` URL through a
    symlink, or two PostgreSQL URL forms."""
    if backend == "sqlite":
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "alias.db").symlink_to(catalog_url)
        return catalog_url, "sqlite+pysqlite:///alias.db"  # relative to the second run's cwd
    return catalog_url, _other_spelling(catalog_url)


def test_two_nightlies_from_two_directories_one_runs_one_exits_75(
    spelled: tuple[str, str], backend: str, tmp_path: Path
) -> None:
    first_db, second_db = spelled
    tree = tmp_path / "hub"
    make_tree(tree)
    follow = follow_all(tmp_path / "f.toml")
    first_dir, second_dir = tmp_path / "one", tmp_path / "elsewhere"
    first_dir.mkdir()
    second_dir.mkdir(exist_ok=True)
    with serve_in_thread(tree, faults=FaultPlan(latency_ms=40)) as (_server, url):
        first = _spawn(nightly_args(first_db, follow, tmp_path / "s1", url), first_dir)
        _wait_for(_holding(backend, first_db, first.pid), first, "the first run taking the lock")
        second = _spawn(nightly_args(second_db, follow, tmp_path / "s2", url), second_dir)
        second_out, second_err = second.communicate(timeout=120)
        first_out, first_err = first.communicate(timeout=300)
    assert second.returncode == EXIT_LOCKED, second_err
    assert "holds" in second_err and f"pid {first.pid}" in second_err
    assert "Traceback" not in second_err
    assert first.returncode == 0, first_out[-3000:] + first_err[-3000:]
    assert json.loads(first_out.strip().splitlines()[-1])["status"] == "ok"
    assert not (tmp_path / "s2").exists(), "the refused run rendered nothing"


def test_a_killed_holder_never_blocks_the_next_run(
    catalog_url: str, backend: str, tmp_path: Path
) -> None:
    tree = tmp_path / "hub"
    make_tree(tree, extra=2)
    ingest = CliRunner().invoke(cli, ["--db", catalog_url, "ingest", str(tree)])
    assert ingest.exit_code == 0, ingest.output
    args = ["--db", catalog_url, "nightly", "--offline", "--device", "cpu", "--json"]
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    holder = _spawn([*args, "--out", str(tmp_path / "s1")], tmp_path / "one")
    _wait_for(_holding(backend, catalog_url, holder.pid), holder, "the run taking the lock")
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)
    assert holder.returncode == -signal.SIGKILL
    started = time.monotonic()
    nxt = _spawn([*args, "--out", str(tmp_path / "s2")], tmp_path / "two")
    out, err = nxt.communicate(timeout=300)
    assert nxt.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["status"] == "ok"
    assert time.monotonic() - started < 240
    assert (tmp_path / "s2" / "index.html").is_file()
