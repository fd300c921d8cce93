"""The Hub scrape end to end: real huggingface_hub client, loopback mirror, real SQLite file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.db import open_engine
from registry.models import Change, ConfigSnapshot, FetchError, Model, Run
from registry.sync import ProgressEvent, scrape
from scrapers.download import RetryPolicy
from scrapers.hub import HubOptions, Selection
from scrapers.mirror import serve_in_thread
from tests.conftest import REPO_ROOT, corpus_configs
from tests.helpers import current_configs, options, rows, small_tree


def test_full_scrape_lands_every_corpus_config_then_a_rerun_downloads_nothing(
    hub_tree: Path, tmp_path: Path
) -> None:
    expected = {repo_id: path.read_bytes() for repo_id, path in corpus_configs()}
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(hub_tree) as (server, url):
        first = scrape(engine, options(url), Selection(), workers=8)
        first_gets = server.counts["get"]
        first_heads = server.counts["head"]
        server.reset_counts()
        second = scrape(engine, options(url), Selection(), workers=8)
        second_counts = dict(server.counts)
    stored = current_configs(engine)
    assert set(stored) == set(expected)
    for repo_id, raw in expected.items():  # text is stored decoded; compare as JSON documents
        assert json.loads(stored[repo_id]) == json.loads(raw), repo_id
    assert (first.listed, first.new, first.fetched, first.failed_total) == (459, 459, 459, 0)
    assert first_gets == 459 and first_heads == 0  # one request per new model, plus listing
    assert (second.listed, second.unchanged, second.fetched, second.new) == (459, 459, 0, 0)
    assert set(second_counts) == {"list"}  # zero downloads, zero model_info calls
    runs = rows(engine, Run)
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[1].counts is not None and runs[1].counts["unchanged"] == 459


def test_snapshots_are_pinned_to_the_listed_commit(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 3)
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root) as (server, url):
        scrape(engine, options(url), Selection())
        from huggingface_hub import HfApi

        shas = {i: HfApi(endpoint=url, token=False).model_info(i).sha for i in ids}
        paths = {r.path for r in server.requests if r.kind == "get"}
    assert paths == {f"/{i}/resolve/{shas[i]}/config.json" for i in ids}
    assert {s.repo_id: s.commit_sha for s in rows(engine, ConfigSnapshot)} == shas
    assert all(s.etag and len(s.etag) == 40 for s in rows(engine, ConfigSnapshot))


def test_changed_and_added_configs_are_picked_up(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 5)
    engine = open_engine(str(tmp_path / "catalog.db"))
    edited = next(
        i for i in ids if "rope_theta" in json.loads((root / i / "config.json").read_text())
    )
    config = json.loads((root / edited / "config.json").read_text())
    old_theta = config["rope_theta"]
    with serve_in_thread(root) as (server, url):
        scrape(engine, options(url), Selection())
        config["rope_theta"] = old_theta * 4
        (root / edited / "config.json").write_text(json.dumps(config), encoding="utf-8")
        added_id, added_src = corpus_configs()[10]
        (root / added_id).mkdir(parents=True)
        shutil.copyfile(added_src, root / added_id / "config.json")
        server.reset_counts()
        summary = scrape(engine, options(url), Selection())
        fetched = {r.repo_id for r in server.requests if r.kind == "get"}
    assert (summary.listed, summary.unchanged, summary.changed, summary.new) == (6, 4, 1, 1)
    assert fetched == {edited, added_id}
    snaps = [s for s in rows(engine, ConfigSnapshot) if s.repo_id == edited]
    assert len(snaps) == 2
    changes = [c for c in rows(engine, Change) if c.repo_id == edited]
    theta = [c for c in changes if c.field_path == "rope_theta"]
    assert len(theta) == 1
    assert json.loads(theta[0].old_value or "null") == old_theta
    assert json.loads(theta[0].new_value or "null") == old_theta * 4
    assert theta[0].run_id == summary.run_id


def test_selection_reaches_the_hub_query(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 8)
    authors = sorted({i.split("/")[0] for i in ids})[:2]
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root) as (_server, url):
        by_author = scrape(engine, options(url), Selection(authors=tuple(authors)))
        limited = scrape(engine, options(url), Selection(limit=3))
        listed_file = scrape(engine, options(url), Selection(models=(ids[-1], "nobody/there")))
    assert by_author.listed == sum(1 for i in ids if i.split("/")[0] in authors)
    assert limited.listed == 3
    assert listed_file.listed == 2
    assert dict(listed_file.failed) == {"not-found": 1}
    errors = [e for e in rows(engine, FetchError) if e.repo_id == "nobody/there"]
    assert [e.reason for e in errors] == ["not-found"]


def test_gated_repos_are_recorded_not_fetched_without_a_token(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 3)
    (root / ids[0] / "hub.json").write_text(json.dumps({"gated": "manual"}), encoding="utf-8")
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root, tokens=["hf_granted"]) as (server, url):
        anonymous = scrape(engine, options(url), Selection())
        anonymous_gets = server.downloads(ids[0])
        refused = scrape(engine, options(url, token="hf_refused"), Selection())
        refused_gets = server.downloads(ids[0]) - anonymous_gets
        granted = scrape(engine, options(url, token="hf_granted"), Selection())
    assert dict(anonymous.failed) == {"gated": 1} and anonymous_gets == 0
    assert dict(refused.failed) == {"gated": 1} and refused_gets == 1  # 403, never retried
    assert granted.new == 1 and granted.failed_total == 0
    model = next(m for m in rows(engine, Model) if m.repo_id == ids[0])
    assert model.gated == "manual" and model.status == "ok"
    assert [e.reason for e in rows(engine, FetchError)] == ["gated", "gated"]


def test_the_hub_cache_is_shared_with_huggingface_hub_and_serves_offline(tmp_path: Path) -> None:
    from huggingface_hub import hf_hub_download

    root = tmp_path / "hub"
    ids = small_tree(root, 4)
    cache = tmp_path / "cache"
    online = open_engine(str(tmp_path / "online.db"))
    with serve_in_thread(root) as (server, url):
        scrape(online, options(url, cache_dir=cache), Selection())
        sha = rows(online, ConfigSnapshot)[0].commit_sha
        repo = rows(online, ConfigSnapshot)[0].repo_id
        server.reset_counts()
        again = scrape(
            open_engine(str(tmp_path / "second.db")), options(url, cache_dir=cache), Selection()
        )
        second_gets = server.counts["get"]
    offline_db = open_engine(str(tmp_path / "offline.db"))
    offline = scrape(
        offline_db, HubOptions(endpoint=url, cache_dir=cache, offline=True), Selection()
    )
    cached = hf_hub_download(
        repo, "config.json", revision=sha, cache_dir=cache, local_files_only=True
    )
    assert again.new == 4 and again.cached == 4 and second_gets == 0
    assert offline.new == 4 and offline.cached == 4
    assert current_configs(offline_db) == current_configs(online)
    assert Path(cached).read_bytes() == (root / repo / "config.json").read_bytes()
    assert set(current_configs(offline_db)) == set(ids)


def test_an_interrupted_scrape_keeps_committed_batches_and_a_rerun_finishes(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 12)
    engine = open_engine(str(tmp_path / "catalog.db"))

    def stop_after_five(event: ProgressEvent) -> None:
        if event.done == 5:
            raise KeyboardInterrupt

    with serve_in_thread(root) as (server, url):
        with pytest.raises(KeyboardInterrupt):
            scrape(
                engine, options(url), Selection(), workers=1, batch_size=2, progress=stop_after_five
            )
        landed = set(current_configs(engine))
        server.reset_counts()
        rerun = scrape(engine, options(url), Selection(), workers=2, batch_size=2)
        refetched = {r.repo_id for r in server.requests if r.kind == "get"}
    assert 4 <= len(landed) < len(ids)
    assert refetched == set(ids) - landed
    assert rerun.unchanged == len(landed) and rerun.new == len(ids) - len(landed)
    assert [r.status for r in rows(engine, Run)] == ["interrupted", "ok"]


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "ROPEDEX_"))}
    env.update(HF_HUB_CACHE=str(tmp_path / "cache"), HF_HUB_DISABLE_TELEMETRY="1", **extra)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def test_a_killed_scrape_leaves_a_consistent_catalog(tmp_path: Path) -> None:
    from scrapers.faults import FaultPlan

    root = tmp_path / "hub"
    ids = small_tree(root, 30)
    db = tmp_path / "catalog.db"
    with serve_in_thread(root, faults=FaultPlan(latency_ms=80)) as (server, url):
        cmd = [sys.executable, "-m", "registry", "--db", str(db), "scrape", "--endpoint", url]
        proc = subprocess.Popen(
            [*cmd, "--workers", "2", "--batch-size", "3", "--no-cache"],
            env=_cli_env(tmp_path),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("[10/"):
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        time.sleep(0.1)
        engine = open_engine(str(db))
        with engine.connect() as conn:
            from sqlalchemy import text

            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        landed = set(current_configs(engine))
        server.reset_counts()
        rerun = scrape(engine, options(url), Selection())
        refetched = {r.repo_id for r in server.requests if r.kind == "get"}
    assert 9 <= len(landed) < len(ids)
    assert refetched == set(ids) - landed
    assert rerun.new == len(ids) - len(landed) and rerun.failed_total == 0
    assert set(current_configs(engine)) == set(ids)


def test_the_token_never_leaks(tmp_path: Path) -> None:
    from scrapers.faults import Fault, FaultPlan

    token = "hf_" + hashlib.sha256(b"ropedex-test").hexdigest()[:34]
    root = tmp_path / "hub"
    ids = small_tree(root, 5)
    (root / ids[0] / "hub.json").write_text(json.dumps({"gated": "auto"}), encoding="utf-8")
    (root / ids[1] / "hub.json").write_text(json.dumps({"private": True}), encoding="utf-8")
    (root / ids[2] / "config.json").write_text("{not json", encoding="utf-8")
    plan = FaultPlan(faults=[Fault("status", status=500, repo=ids[3], kind="get")])
    db = tmp_path / "catalog.db"
    with serve_in_thread(root, faults=plan, tokens=[token]) as (server, url):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "registry",
                "--db",
                str(db),
                "scrape",
                "--endpoint",
                url,
                "--backoff",
                "0.01",
                "--retries",
                "1",
            ],
            env=_cli_env(tmp_path, HF_TOKEN=token, HF_DEBUG="1"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        authorized = all(r.authorized for r in server.requests)
    assert done.returncode == 1, done.stderr  # the 500 and the bad JSON are failures
    assert authorized  # the token was really used: the gated and private repos landed
    engine = open_engine(str(db))
    assert {ids[0], ids[1], ids[4]} <= set(current_configs(engine))
    assert {e.reason for e in rows(engine, FetchError)} == {"invalid-json", "http-500"}
    for blob in (done.stdout, done.stderr):
        assert token not in blob
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    assert leaked == []
    cached = {p.parts[-4] for p in (tmp_path / "cache").glob("models--*/snapshots/*/config.json")}
    downloaded = [ids[0], ids[1], ids[2], ids[4]]  # all but the one answering 500
    assert cached == {"models--" + i.replace("/", "--") for i in downloaded}  # HF_HUB_CACHE


def test_cli_json_summary_exit_status_and_endpoint_override(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 3)
    models = tmp_path / "models.txt"
    models.write_text(f"# wanted\n{ids[0]}\n\n{ids[1]}\nmissing/repo\n", encoding="utf-8")
    runner = CliRunner()
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_CACHE": str(tmp_path / "cache")}
    db = str(tmp_path / "catalog.db")
    with serve_in_thread(root) as (_server, url):
        first = runner.invoke(
            cli,
            [
                "--db",
                db,
                "scrape",
                "--endpoint",
                url,
                "--models",
                str(models),
                "--json",
                "--backoff",
                "0.01",
            ],
            env=env,
        )
        second = runner.invoke(cli, ["--db", db, "scrape", "--endpoint", url, "--json"], env=env)
    out = json.loads(first.stdout)
    assert first.exit_code == 1
    assert {k: out[k] for k in ("listed", "new", "unchanged", "fetched", "changed")} == {
        "listed": 3,
        "new": 2,
        "unchanged": 0,
        "fetched": 2,
        "changed": 0,
    }
    assert out["failed"] == {"not-found": 1}
    again = json.loads(second.stdout)
    assert second.exit_code == 0
    assert (again["listed"], again["unchanged"], again["new"], again["failed"]) == (3, 2, 1, {})


def test_cli_rejects_a_bad_models_file(tmp_path: Path) -> None:
    bad = tmp_path / "models.txt"
    bad.write_text("good/repo\n../../etc/passwd\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "c.db"), "scrape", "--models", str(bad)]
    )
    assert result.exit_code == 1
    assert "models.txt:2" in result.output and "Traceback" not in result.output


def test_offline_picks_the_newest_cached_commit_and_keeps_hub_metadata(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 2)
    (root / ids[0] / "hub.json").write_text(json.dumps({"downloads": 123}), encoding="utf-8")
    cache = tmp_path / "cache"
    first_db = open_engine(str(tmp_path / "first.db"))
    with serve_in_thread(root) as (_server, url):
        scrape(first_db, options(url, cache_dir=cache), Selection())
        config = json.loads((root / ids[0] / "config.json").read_text())
        config["max_position_embeddings"] = 123_456
        (root / ids[0] / "config.json").write_text(json.dumps(config), encoding="utf-8")
        scrape(open_engine(str(tmp_path / "second.db")), options(url, cache_dir=cache), Selection())
    offline = scrape(first_db, HubOptions(endpoint=url, cache_dir=cache, offline=True), Selection())
    assert (offline.listed, offline.changed, offline.unchanged) == (2, 1, 1)
    assert json.loads(current_configs(first_db)[ids[0]])["max_position_embeddings"] == 123_456
    model = next(m for m in rows(first_db, Model) if m.repo_id == ids[0])
    assert model.downloads == 123


def test_offline_without_a_cache_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--db", str(tmp_path / "c.db"), "scrape", "--cache-dir", str(tmp_path / "none")],
        env={"HF_HUB_OFFLINE": "1"},
    )
    assert result.exit_code == 3  # failed: no progress
    assert "Offline" in result.output and "Traceback" not in result.output


def test_unchanged_repos_get_their_listing_metadata_without_a_download(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 3)
    hub_json = root / ids[0] / "hub.json"
    hub_json.write_text(json.dumps({"downloads": 10, "likes": 1}), encoding="utf-8")
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root) as (server, url):
        scrape(engine, options(url), Selection())
        before = {m.repo_id: m for m in rows(engine, Model)}
        hub_json.write_text(
            json.dumps({"downloads": 5_000, "likes": 42, "gated": "auto", "tags": ["fresh"]}),
            encoding="utf-8",
        )
        server.reset_counts()
        again = scrape(engine, options(url), Selection())
        counts = dict(server.counts)
    assert (again.unchanged, again.fetched, again.new, again.changed) == (3, 0, 0, 0)
    assert set(counts) == {"list"}  # zero downloads, zero model_info calls
    model = next(m for m in rows(engine, Model) if m.repo_id == ids[0])
    assert (before[ids[0]].downloads, before[ids[0]].likes) == (10, 1)
    assert (model.downloads, model.likes, model.gated) == (5_000, 42, "auto")
    assert "fresh" in (model.tags or [])
    assert model.snapshot_id == before[ids[0]].snapshot_id and model.status == "ok"
    assert (model.last_seen or "") >= (before[ids[0]].last_seen or "")
    assert {c.field_path for c in rows(engine, Change)} == {"added"}  # first sightings only
    assert len(rows(engine, Change)) == 3 and len(rows(engine, ConfigSnapshot)) == 3


def test_a_commit_that_failed_for_good_is_not_fetched_again(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 4)
    (root / ids[0] / "config.json").write_text('{"model_type": "llama",', encoding="utf-8")
    (root / ids[1] / "config.json").unlink()
    (root / ids[1] / "README.md").write_text("weights only", encoding="utf-8")
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root) as (server, url):
        first = scrape(engine, options(url), Selection())
        first_error = next(m for m in rows(engine, Model) if m.repo_id == ids[0]).error
        server.reset_counts()
        second = scrape(engine, options(url), Selection())
        second_gets = server.counts.get("get", 0)
        args = ["--db", str(tmp_path / "catalog.db"), "scrape", "--endpoint", url, "--no-cache"]
        told = CliRunner().invoke(cli, args).output
        server.reset_counts()
        retried = CliRunner().invoke(cli, [*args, "--json", "--retry-failed"])
        retried_gets = {r.repo_id for r in server.requests if r.kind == "get"}
        (root / ids[0] / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
        server.reset_counts()
        fixed = scrape(engine, options(url), Selection())
        fixed_gets = {r.repo_id for r in server.requests if r.kind == "get"}
    expected = {"invalid-json": 1, "missing-config": 1}
    assert dict(first.failed) == expected and first.known_failed == 0
    assert dict(second.failed) == expected and second.known_failed == 2
    assert second_gets == 0 and (second.fetched, second.unchanged) == (0, 2)
    assert "2 of the failed were not downloaded" in told and "--retry-failed" in told
    retried_summary = json.loads(retried.stdout)
    assert retried.exit_code == 1 and retried_summary["failed"] == expected
    assert retried_summary["known_failed"] == 0
    assert retried_gets == {ids[0], ids[1]}
    assert fixed_gets == {ids[0]} and fixed.new == 1  # a new commit is fetched again
    assert dict(fixed.failed) == {"missing-config": 1} and fixed.known_failed == 1
    by_repo = {m.repo_id: m for m in rows(engine, Model)}
    assert by_repo[ids[0]].status == "ok" and by_repo[ids[0]].failed_sha is None
    assert by_repo[ids[1]].status == "missing" and by_repo[ids[1]].failed_sha
    errors = [(e.run_id, e.repo_id, e.reason) for e in rows(engine, FetchError)]
    assert (second.run_id, ids[0], "invalid-json") in errors  # recorded in the run that skipped
    assert (fixed.run_id, ids[1], "missing-config") in errors
    assert first_error and first_error.startswith("invalid-json")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [  # `times`: every attempt of the first run fails (1 + 3 retries; a too-long 429 at once)
        ({"action": "status", "status": 503, "times": 4}, "http-503"),
        ({"action": "ratelimit", "retry_after": 3600, "times": 1}, "rate-limited"),
        ({"action": "slow", "bytes_per_second": 50, "times": 4}, "timeout"),
    ],
    ids=["5xx", "429", "timeout"],
)
def test_network_failures_are_retried_on_the_next_run(
    tmp_path: Path, fault: dict[str, Any], reason: str
) -> None:
    from scrapers.faults import Fault, FaultPlan

    root = tmp_path / "hub"
    ids = small_tree(root, 2)
    failing = Fault(repo=ids[0], kind="get", **fault)
    retry = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.02)
    engine = open_engine(str(tmp_path / "catalog.db"))
    with serve_in_thread(root, faults=FaultPlan(faults=[failing])) as (server, url):
        first = scrape(engine, options(url, retry=retry, timeout=0.5), Selection())
        server.reset_counts()
        second = scrape(engine, options(url, retry=retry, timeout=0.5), Selection())
        refetched = {r.repo_id for r in server.requests if r.kind == "get"}
    assert dict(first.failed) == {reason: 1}
    assert refetched == {ids[0]} and second.new == 1 and second.failed_total == 0
    assert next(m for m in rows(engine, Model) if m.repo_id == ids[0]).failed_sha is None
