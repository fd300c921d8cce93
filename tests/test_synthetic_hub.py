"""The synthetic Hub (scrapers.synthetic) and the incremental whole-Hub listing it exists for.

The listing order is checked against a brute-force sort of every repo; the incremental scrape
runs the real huggingface_hub client against the synthetic mirror over HTTP and counts the
mirror's requests: after a first full walk, a night with 1% churn costs one listing page per
page of changed repos plus one download per changed repo, and nothing for the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from registry.db import open_engine
from registry.models import ConfigSnapshot, Model, Run
from registry.sync import scrape
from scrapers.hub import Selection, older
from scrapers.mirror import MirrorServer
from scrapers.synthetic import SyntheticHub, make_synthetic_server, repo_index, repo_name
from tests.helpers import options, rows


@contextmanager
def serving(hub: SyntheticHub, page_size: int = 100) -> Iterator[tuple[MirrorServer, str]]:
    server = make_synthetic_server(hub, page_size=page_size)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server, server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("generation", [0, 1, 3])
def test_listing_order_is_every_repo_once_newest_first(tmp_path: Path, generation: int) -> None:
    hub = SyntheticHub(3000, tmp_path, generation=generation, churn=0.02, seed=7)
    order = list(hub.order())
    assert sorted(order) == list(range(3000))
    brute = sorted(range(3000), key=lambda i: (hub.last_modified(i), -i), reverse=True)
    assert [hub.last_modified(i) for i in order] == [hub.last_modified(i) for i in brute]
    changed = {i for i in range(3000) if hub.version.get(i)}
    assert len(changed) == (0 if generation == 0 else pytest.approx(60 * generation, rel=0.1))
    assert set(order[: len(changed)]) == changed  # every changed repo before every other


def test_names_round_trip_and_foreign_names_are_absent(tmp_path: Path) -> None:
    hub = SyntheticHub(1000, tmp_path)
    assert all(repo_index(repo_name(i), 1000) == i for i in (0, 1, 999))
    for foreign in ("synth-001/model-0000002", "synth-000/model-0001000", "x/y", "synth-0/a"):
        assert hub.repo(foreign) is None
    entry = hub.repo(repo_name(5))
    assert entry is not None and entry.meta["lastModified"].startswith("2025-12-31T23:59:55")


def test_a_new_generation_changes_sha_date_and_config_of_exactly_the_churned_repos(
    tmp_path: Path,
) -> None:
    before = SyntheticHub(2000, tmp_path, generation=0, seed=1)
    after = SyntheticHub(2000, tmp_path, generation=1, churn=0.01, seed=1)
    moved = [i for i in range(2000) if before.sha(i) != after.sha(i)]
    assert len(moved) == 20
    for i in moved:
        assert after.last_modified(i) > before.last_modified(0)
        assert after.config(i)["rope_theta"] == 2 * before.config(i)["rope_theta"]
    same = next(i for i in range(2000) if i not in moved)
    assert after.config(same) == before.config(same)


def test_incremental_scrape_costs_only_what_changed(tmp_path: Path) -> None:
    engine = open_engine(str(tmp_path / "catalog.db"))
    night0 = SyntheticHub(2000, tmp_path / "t", generation=0, seed=3)
    with serving(night0) as (server, url):
        first = scrape(engine, options(url), Selection(), workers=8, incremental=True)
        counts0 = dict(server.counts)
    assert (first.listed, first.new, first.failed_total) == (2000, 2000, 0)
    assert counts0 == {"list": 20, "get": 2000}  # a first run walks the whole listing
    night1 = SyntheticHub(2000, tmp_path / "t", generation=1, churn=0.01, seed=3)
    with serving(night1) as (server, url):
        second = scrape(engine, options(url), Selection(), workers=8, incremental=True)
        counts1 = dict(server.counts)
        server.reset_counts()
        third = scrape(engine, options(url), Selection(), workers=8, incremental=True)
        counts2 = dict(server.counts)
    # 20 changed repos, then the repo at the old mark (unchanged, no request), then a stop.
    assert (second.changed, second.fetched, second.failed_total) == (20, 20, 0)
    assert counts1 == {"list": 1, "get": 20}
    assert third.fetched == 0 and counts2 == {"list": 1}
    models = {m.repo_id: m for m in rows(engine, Model)}
    snapshots = {s.id: s for s in rows(engine, ConfigSnapshot)}
    assert len(models) == 2000
    changed = {repo_name(i) for i in range(2000) if night1.version.get(i)}
    for repo_id in changed:
        snap = snapshots[models[repo_id].snapshot_id]
        assert snap.commit_sha == night1.sha(repo_index(repo_id, 2000) or 0)
    marks = [r.counts["high_water_mark"] for r in rows(engine, Run) if r.counts]
    assert older(marks[0], marks[1]) and marks[1] == marks[2]


def test_a_partial_incremental_run_does_not_move_the_mark(tmp_path: Path) -> None:
    from scrapers.faults import Fault

    engine = open_engine(str(tmp_path / "catalog.db"))
    night0 = SyntheticHub(300, tmp_path / "t", generation=0, seed=4)
    with serving(night0) as (_server, url):
        scrape(engine, options(url), Selection(), workers=4, incremental=True)
    night1 = SyntheticHub(300, tmp_path / "t", generation=1, churn=0.02, seed=4)
    victim = repo_name(night1.order()[0])
    with serving(night1) as (server, url):
        server.faults.faults.append(Fault("status", status=404, kind="get", repo=victim))
        partial = scrape(engine, options(url), Selection(), workers=4, incremental=True)
        server.faults.faults.clear()
        retry = scrape(engine, options(url), Selection(), workers=4, incremental=True)
    assert partial.status == "partial" and partial.failed_total == 1
    assert retry.status == "ok" and retry.fetched >= 1  # the failed repo was listed again
    assert partial.high_water_mark == rows(engine, Run)[0].counts["high_water_mark"]
