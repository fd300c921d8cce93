"""Silent or stalling Hubs end a scrape or a nightly in bounded time, under the stated policy."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.db import open_engine
from registry.errors import ScrapeFailed
from registry.locks import catalog_lock
from registry.sync import scrape
from scrapers.download import RetryPolicy
from scrapers.faults import Fault, FaultPlan
from scrapers.hub import Selection
from scrapers.mirror import serve_in_thread
from tests.conftest import REPO_ROOT
from tests.helpers import options, small_tree


@pytest.fixture(name="silent_port")
def silent_port_fixture() -> Iterator[int]:
    """A port whose kernel accepts connections that nobody ever reads from or answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "registry", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def test_a_scrape_against_a_silent_port_ends_with_a_clear_message(
    tmp_path: Path, silent_port: int
) -> None:
    started = time.monotonic()
    proc = _cli(
        "--db", str(tmp_path / "c.db"), "scrape", "--endpoint", f"http://127.0.0.1:{silent_port}",
        "--no-cache", "--timeout", "5", "--retries", "1",
        cwd=tmp_path,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert elapsed < 60, elapsed
    assert elapsed >= 10  # two attempts of 5 s each: the timeout really applied
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "timeout" in lines[0] and "Listing models" in lines[0], lines


def test_a_nightly_against_a_silent_port_ends_and_releases_its_lock(
    tmp_path: Path, silent_port: int
) -> None:
    db = tmp_path / "c.db"
    follow = tmp_path / "f.toml"
    follow.write_text("[[select]]\n", encoding="utf-8")
    started = time.monotonic()
    proc = _cli(
        "--db", str(db), "nightly", "--follow", str(follow), "--out", str(tmp_path / "site"),
        "--endpoint", f"http://127.0.0.1:{silent_port}", "--no-cache", "--device", "cpu",
        "--timeout", "5", "--retries", "1", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert time.monotonic() - started < 60
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    scrape_stage = summary["stages"][0]
    assert scrape_stage["status"] == "failed" and "timeout" in scrape_stage["error"]
    with catalog_lock(str(db)):  # free again: taken at once
        pass


def test_a_stage_past_its_deadline_is_recorded_failed(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    small_tree(root, 8)
    db = tmp_path / "c.db"
    follow = tmp_path / "f.toml"
    follow.write_text("[[select]]\n", encoding="utf-8")
    with serve_in_thread(root, faults=FaultPlan(latency_ms=1500)) as (_server, url):
        started = time.monotonic()
        proc = _cli(
            "--db", str(db), "nightly", "--follow", str(follow), "--out", str(tmp_path / "site"),
            "--endpoint", url, "--no-cache", "--device", "cpu", "--workers", "1",
            "--stage-timeout", "4", "--json",
            cwd=tmp_path,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert elapsed < 30, elapsed  # eight downloads at 1.5 s each, plus the listing: > 12 s
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    stage = summary["stages"][0]
    assert stage["status"] == "failed" and "deadline" in stage["error"], stage
    assert [s["status"] for s in summary["stages"][1:]] != ["failed"] * 3  # the run went on
    with catalog_lock(str(db)):
        pass


def test_a_listing_rate_limit_asking_too_long_fails_at_once(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    small_tree(root, 2)
    plan = FaultPlan(faults=[Fault("ratelimit", kind="list", retry_after=3600)])
    engine = open_engine(str(tmp_path / "c.db"))
    with serve_in_thread(root, faults=plan) as (server, url):
        started = time.monotonic()
        with pytest.raises(ScrapeFailed, match="rate-limited"):
            scrape(engine, options(url), Selection())
        assert time.monotonic() - started < 5
        assert server.counts["list"] == 1


@pytest.mark.parametrize("retries", [0, 2])
def test_listing_retries_follow_the_policy(tmp_path: Path, retries: int) -> None:
    root = tmp_path / "hub"
    small_tree(root, 2)
    plan = FaultPlan(faults=[Fault("status", status=503, kind="list")])
    engine = open_engine(str(tmp_path / "c.db"))
    policy = RetryPolicy(max_retries=retries, backoff_base=0.01, backoff_max=0.02)
    with serve_in_thread(root, faults=plan) as (server, url):
        with pytest.raises(ScrapeFailed, match="http-503"):
            scrape(engine, options(url, retry=policy), Selection())
        assert server.counts["list"] == retries + 1


def test_a_next_page_link_to_another_host_is_not_followed(tmp_path: Path) -> None:
    """The mirror builds its links from its bound address, never from the request's Host."""
    import httpx2

    root = tmp_path / "hub"
    small_tree(root, 3)
    with serve_in_thread(root, page_size=1) as (_server, url):
        response = httpx2.get(f"{url}/api/models", headers={"Host": "evil.example:80"})
    assert "evil.example" not in response.headers["Link"]
    assert response.headers["Link"].startswith(f"<{url}/api/models?")
