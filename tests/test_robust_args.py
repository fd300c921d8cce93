"""Bad arguments end with a one-line usage error (exit status 2), never a traceback or a hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.db import open_engine
from scrapers.tagger import tag_file
from tests.conftest import REPO_ROOT


def _usage_error(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output
    return errors[0]


@pytest.fixture(name="db")
def db_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    open_engine(str(path)).dispose()
    return path


@pytest.mark.parametrize("endpoint", ["127.0.0.1:8080", "ftp://host", "http://", "http://h:99999"])
def test_an_endpoint_that_is_no_url_is_a_usage_error(db: Path, endpoint: str) -> None:
    line = _usage_error(["--db", str(db), "scrape", "--endpoint", endpoint, "--no-cache"])
    assert "http(s) URL" in line
    with open_engine(str(db)).connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 0  # no run row


def test_an_endpoint_from_the_environment_is_checked_too(db: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--db", str(db), "scrape", "--no-cache"], env={"HF_ENDPOINT": "localhost:1"}
    )
    assert result.exit_code == 2 and "HF_ENDPOINT" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--limit", "100000000000000000000"],
        ["--offset", "1e20"],
        ["--offset", "100000000000000000000"],
        ["--limit", "-5"],
    ],
)
def test_huge_or_odd_query_bounds_are_usage_errors(db: Path, args: list[str]) -> None:
    _usage_error(["--db", str(db), "query", *args])


@pytest.mark.parametrize("command", ["tag", "rope", "check"])
def test_tag_refuses_devices_and_directories(tmp_path: Path, command: str) -> None:
    assert "not a regular file" in _usage_error([command, "/dev/zero"])
    assert "directory" in _usage_error([command, str(tmp_path)])


def test_tag_on_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "registry", "tag", str(fifo)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,  # a hang fails here
    )
    assert proc.returncode == 2 and "not a regular file" in proc.stderr
    assert "Traceback" not in proc.stderr
    result, readable = tag_file(str(fifo))  # the library refuses it too, without blocking
    assert not readable and "not a regular file" in str(result)


def test_tag_file_reads_at_most_the_cap(tmp_path: Path) -> None:
    from scrapers.configfile import MAX_CONFIG_BYTES

    big = tmp_path / "config.json"
    with open(big, "wb") as fh:
        fh.write(b'{"a": "' + b"x" * (MAX_CONFIG_BYTES + 10) + b'"}')
    result, readable = tag_file(str(big))
    assert not readable and "too-large" in str(result)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b'{"max_position_embeddings": ' + b"9" * 5000 + b"}")
    result, readable = tag_file(str(huge))
    assert not readable and "number-too-long" in str(result)
