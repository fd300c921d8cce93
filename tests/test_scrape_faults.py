"""Every injected fault is survived: good configs all land, bad ones are recorded with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.db import open_engine
from registry.errors import ScrapeFailed
from registry.models import FetchError, Run
from registry.sync import scrape
from scrapers.download import RetryPolicy
from scrapers.faults import Fault, FaultPlan
from scrapers.hub import Selection
from scrapers.mirror import serve_in_thread
from tests.helpers import current_configs, options, rows, small_tree


def _run(tmp_path: Path, plan: FaultPlan, count: int = 6, **opts: object) -> tuple:
    root = tmp_path / "hub"
    ids = small_tree(root, count)
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root, faults=plan) as (server, url):
        summary = scrape(engine, options(url, **opts), Selection(), workers=4)
        requests = list(server.requests)
    return ids, engine, summary, requests


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=503, kind="get", times=2),
        Fault("status", status=500, kind="get", times=3),
        Fault("status", status=502, kind="get", rate=0.3),
        Fault("drop", kind="get", times=2),
        Fault("truncate", kind="get", times=2),
        Fault("slow", kind="get", bytes_per_second=20_000, times=2),
    ],
    ids=["503-twice", "500-thrice", "502-rate", "drop", "truncate", "slow"],
)
def test_transient_faults_are_retried_and_nothing_is_lost(tmp_path: Path, fault: Fault) -> None:
    plan = FaultPlan(faults=[fault], seed=7)
    ids, engine, summary, requests = _run(
        tmp_path, plan, retry=RetryPolicy(max_retries=8, backoff_base=0.01, backoff_max=0.02)
    )
    assert summary.failed_total == 0 and summary.new == len(ids)
    assert set(current_configs(engine)) == set(ids)
    assert fault.fired >= 1  # the fault really happened
    assert sum(r.kind == "get" for r in requests) >= len(ids) + (
        fault.fired if fault.action != "slow" else 0
    )


def test_rate_limits_wait_as_the_server_asks(tmp_path: Path) -> None:
    plan = FaultPlan(faults=[Fault("ratelimit", kind="get", retry_after=1, times=1)])
    ids, engine, summary, requests = _run(tmp_path, plan, count=3)
    gets = [r for r in requests if r.kind == "get"]
    limited = next(r for r in gets if r.status == 429)
    retry = next(r for r in gets if r.repo_id == limited.repo_id and r.at > limited.at)
    assert summary.failed_total == 0 and set(current_configs(engine)) == set(ids)
    assert retry.status == 200
    assert retry.at - limited.at >= 1.0  # Retry-After: 1, honoured in full


def test_a_rate_limit_asking_too_long_fails_that_model_only(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 3)
    plan = FaultPlan(faults=[Fault("ratelimit", repo=ids[0], kind="get", retry_after=3600)])
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root, faults=plan) as (_server, url):
        summary = scrape(engine, options(url), Selection())
    assert dict(summary.failed) == {"rate-limited": 1}
    assert set(current_configs(engine)) == set(ids[1:])


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("status", status=500, kind="get"), "http-500"),
        (Fault("drop", kind="get"), "connection"),
        (Fault("truncate", kind="get"), "truncated"),
        (Fault("status", status=404, kind="get"), "http-404"),
    ],
)
def test_persistent_faults_are_recorded_per_model(
    tmp_path: Path, fault: Fault, reason: str
) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 4)
    fault.repo = ids[1]
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root, faults=FaultPlan(faults=[fault])) as (server, url):
        summary = scrape(engine, options(url), Selection())
        attempts = server.downloads(ids[1])
    assert dict(summary.failed) == {reason: 1}
    assert set(current_configs(engine)) == set(ids) - {ids[1]}
    errors = rows(engine, FetchError)
    assert [(e.repo_id, e.reason) for e in errors] == [(ids[1], reason)]
    retryable = reason != "http-404"
    assert attempts == (1 + 3 if retryable else 1)  # FAST allows 3 retries
    assert rows(engine, Run)[0].status == "partial"


def test_a_slow_body_past_the_timeout_is_a_timeout(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 3)
    slow = Fault("slow", repo=ids[0], kind="get", bytes_per_second=50)
    engine = open_engine(str(tmp_path / "catalog.db"))
    retry = RetryPolicy(max_retries=1, backoff_base=0.01)
    with serve_in_thread(root, faults=FaultPlan(faults=[slow])) as (_server, url):
        summary = scrape(engine, options(url, timeout=1.0, retry=retry), Selection())
    assert dict(summary.failed) == {"timeout": 1}
    assert set(current_configs(engine)) == set(ids[1:])


def test_bad_configs_are_recorded_with_their_reason(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 6)
    (root / ids[0] / "config.json").write_text('{"model_type": "llama",', encoding="utf-8")
    (root / ids[1] / "config.json").write_text("[1, 2, 3]", encoding="utf-8")
    (root / ids[2] / "config.json").write_bytes(b'{"a": "' + b"x" * 5000 + b'"}')
    (root / ids[3] / "config.json").unlink()
    (root / ids[3] / "README.md").write_text("weights only", encoding="utf-8")
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root) as (server, url):
        summary = scrape(engine, options(url, max_config_bytes=4000), Selection())
        gets = server.counts["get"]
    assert dict(summary.failed) == {
        "invalid-json": 1,
        "not-object": 1,
        "too-large": 1,
        "missing-config": 1,
    }
    assert set(current_configs(engine)) == set(ids[4:])
    assert gets == 6  # each bad one cost one request: none is retried
    reasons = {e.repo_id: e.reason for e in rows(engine, FetchError)}
    assert reasons == {
        ids[0]: "invalid-json",
        ids[1]: "not-object",
        ids[2]: "too-large",
        ids[3]: "missing-config",
    }


def test_a_transient_listing_fault_is_retried_by_the_client(tmp_path: Path) -> None:
    plan = FaultPlan(faults=[Fault("status", status=503, kind="list", times=1)])
    ids, engine, summary, _requests = _run(tmp_path, plan, count=3)
    assert summary.new == len(ids) and plan.faults[0].fired == 1


def test_a_failed_listing_raises_and_marks_the_run_failed(tmp_path: Path) -> None:
    plan = FaultPlan(faults=[Fault("status", status=404, kind="list")])
    root = tmp_path / "hub"
    small_tree(root, 2)
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root, faults=plan) as (_server, url):
        with pytest.raises(ScrapeFailed, match="Listing models"):
            scrape(engine, options(url), Selection())
    assert [r.status for r in rows(engine, Run)] == ["failed"]


def test_a_listing_that_breaks_midway_keeps_what_was_fetched(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 6)
    engine = open_engine(str(tmp_path / "catalog.db"))
    second_page = Fault("status", status=400, kind="list", after=1)
    with serve_in_thread(root, faults=FaultPlan(faults=[second_page]), page_size=3) as (_s, url):
        with pytest.raises(ScrapeFailed, match="Listing models"):
            scrape(engine, options(url), Selection())
    assert set(current_configs(engine)) == set(sorted(ids)[:3])
    runs = rows(engine, Run)
    assert [r.status for r in runs] == ["failed"]
    assert runs[0].counts is not None and runs[0].counts["new"] == 3
