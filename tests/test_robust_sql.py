"""`ropedex sql` stops runaway statements with one line of error: time, rows, value size."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.db import open_engine

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"
NUMBERS = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM n LIMIT 1000) "


@pytest.fixture(name="db")
def db_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    open_engine(str(path)).dispose()
    return path


def _sql(db: Path, *args: str) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["--db", str(db), "sql", *args])
    return result.exit_code, result.output, time.monotonic() - started


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    assert "Traceback" not in output
    return lines[0]


def test_the_recursive_count_ends_within_the_default_limit(db: Path) -> None:
    code, output, elapsed = _sql(db, FOREVER)
    assert code != 0 and elapsed < 15
    assert "limit of 5 s" in _one_error_line(output)


def test_timeout_changes_the_limit(db: Path) -> None:
    code, output, elapsed = _sql(db, FOREVER, "--timeout", "0.5")
    assert code != 0 and elapsed < 5
    assert "0.5 s" in _one_error_line(output)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT zeroblob(1e9)", "MiB"),
        ("SELECT length(zeroblob(1e9))", "MiB"),
        ("SELECT hex(zeroblob(50000000))", "MiB"),
        (NUMBERS + "SELECT a.x, b.x FROM n a, n b", "more than 100000 rows"),
        (NUMBERS + "SELECT count(*) FROM n a, n b, n c, n d", "limit of"),
        (FOREVER.replace("count(*)", "x"), "rows"),
        (FOREVER.replace("count(*)", "x") + " ORDER BY x DESC LIMIT 1", "s"),
    ],
)
def test_runaway_statements_end_with_one_line(db: Path, statement: str, expected: str) -> None:
    code, output, elapsed = _sql(db, statement, "--timeout", "2")
    assert code != 0 and elapsed < 20
    assert expected in _one_error_line(output)


def test_max_rows_and_an_ordinary_statement(db: Path) -> None:
    code, output, _ = _sql(db, NUMBERS + "SELECT x FROM n", "--max-rows", "10")
    assert code != 0 and "more than 10 rows" in _one_error_line(output)
    code, output, _ = _sql(db, NUMBERS + "SELECT count(*) AS n FROM n", "--json")
    assert code == 0 and '"n": 1000' in output


def test_the_limits_are_put_back_after_the_statement(db: Path) -> None:
    from registry.queries import run_sql
    from registry.sqlguard import SqlLimits

    engine = open_engine(str(db), readonly=True)
    with pytest.raises(Exception, match="rows"):
        run_sql(engine, NUMBERS + "SELECT x FROM n", SqlLimits(max_rows=5))
    conn = sqlite3.connect(":memory:")
    assert conn.execute("PRAGMA hard_heap_limit").fetchone() == (0,)
    names, rows = run_sql(engine, "SELECT length(zeroblob(1000)) AS n", SqlLimits())
    assert (names, rows) == (["n"], [(1000,)])
