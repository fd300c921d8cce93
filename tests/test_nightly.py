"""The nightly job end to end: loopback mirror, real client, real SQLite file, real processes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.db import db_url
from registry.locks import catalog_lock, lock_file_for
from registry.nightly import EXIT_LOCKED, load_follow
from scrapers.faults import FaultPlan
from scrapers.mirror import serve_in_thread
from tests.conftest import REPO_ROOT, corpus_configs, new_catalog_url

# A small, varied slice of the corpus: YaRN, llama3, longrope, mRoPE, ALiBi, learned tables.
WANTED = (
    "deepseek-ai/DeepSeek-V3",
    "openai/gpt-oss-20b",
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen3-8B",
    "microsoft/Phi-3-mini-128k-instruct",
    "Qwen/Qwen2-VL-7B-Instruct",
    "bigscience/bloom",
    "openai-community/gpt2",
)


def make_tree(root: Path, extra: int = 16) -> list[str]:
    """WANTED (those in the corpus) plus the first `extra` other configs, as a Hub-like tree."""
    pairs = corpus_configs()
    chosen = [p for p in pairs if p[0] in WANTED] + [p for p in pairs if p[0] not in WANTED][:extra]
    for repo_id, source in chosen:
        (root / repo_id).mkdir(parents=True)
        shutil.copyfile(source, root / repo_id / "config.json")
    return [repo_id for repo_id, _ in chosen]


def follow_all(path: Path) -> Path:
    path.write_text("[[select]]\n", encoding="utf-8")
    return path


def nightly_args(db: Path, follow: Path, out: Path, url: str) -> list[str]:
    return [
        "--db", str(db), "nightly", "--follow", str(follow), "--out", str(out),
        "--endpoint", url, "--no-cache", "--device", "cpu", "--retries", "2",
        "--backoff", "0.01", "--json",
    ]  # fmt: skip


def run_cli(args: list[str]) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def on_server(db: Path | str) -> bool:
    """Whether `db` names a catalog on a database server (else a SQLite file)."""
    return "://" in str(db) and not str(db).startswith("sqlite")


def table(db: Path | str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql` on a SQLite file or a server URL (JSON values as their JSON text)."""
    if not on_server(db):
        with sqlite3.connect(db) as conn:
            return conn.execute(sql).fetchall()
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(str(db), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(sql)).all()
    finally:
        engine.dispose()
    return [tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in row) for row in rows]


def has_table(db: Path | str, name: str) -> bool:
    """Whether the catalog exists and has table `name` (a kill can land before either)."""
    if on_server(db):
        sql = f"SELECT 1 FROM information_schema.tables WHERE table_name = '{name}'"
    elif Path(db).exists():
        sql = f"SELECT 1 FROM sqlite_master WHERE name = '{name}'"
    else:
        return False
    return bool(table(db, sql))


def canonical(db: Path) -> dict[str, Any]:
    """What a converged catalog must agree on: models, current facts, verdicts (no ids/times)."""
    return {
        "models": table(
            db,
            "SELECT m.repo_id, m.sha, m.status, s.content_hash, f.position_encoding, "
            "f.rope_theta, f.scaling_type, f.scaling_factor, f.effective_context, "
            "f.verify_fingerprint FROM models m LEFT JOIN config_snapshots s "
            "ON s.id = m.snapshot_id LEFT JOIN position_facts f ON f.snapshot_id = s.id "
            "ORDER BY m.repo_id",
        ),
        "snapshots": table(
            db, "SELECT repo_id, commit_sha, content_hash FROM config_snapshots ORDER BY 1, 2"
        ),
        "verifications": table(
            db, "SELECT fingerprint, verdict, checks FROM verifications ORDER BY fingerprint"
        ),
        "changes": table(db, "SELECT COUNT(*) FROM changes"),
    }


@pytest.fixture(name="tree")
def tree_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    names = make_tree(root)
    assert len(names) >= 20
    assert "deepseek-ai/DeepSeek-V3" in names
    return root


def test_follow_file_defaults_parse() -> None:
    blocks = load_follow(REPO_ROOT / "registry" / "follow.toml")
    authors = {b.get("author") for b in blocks}
    assert {"deepseek-ai", "Qwen", "meta-llama", "mistralai", "google"} <= authors
    assert all(b.get("limit") for b in blocks)


@pytest.mark.parametrize(
    "text, message",
    [
        ("nonsense = [", "Cannot read"),
        ("[other]\n", "no [[select]]"),
        ("[[select]]\nauthour = 'x'\n", "unknown keys"),
        ("[[select]]\nlimit = -3\n", "positive integer"),
        ("[[select]]\nsort = 'random'\n", "sort must be"),
    ],
)
def test_bad_follow_file_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "follow.toml"
    bad.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "c.db"), "nightly", "--follow", str(bad), "--offline"]
    )
    assert result.exit_code == 2  # bad usage, told apart from a partial run (1)
    assert message in result.output
    assert "Traceback" not in result.output


def test_end_to_end_then_incremental_then_changes(
    tree: Path, tmp_path: Path, catalog_url: str
) -> None:
    db, out, follow = catalog_url, tmp_path / "site", follow_all(tmp_path / "f.toml")
    n_models = sum(1 for _ in tree.glob("*/*/config.json"))
    with serve_in_thread(tree) as (server, url):
        code, summary = run_cli(nightly_args(db, follow, out, url))
        assert code == 0, summary
        assert summary["status"] == "ok"
        stages = {s["name"]: s for s in summary["stages"]}
        assert stages["scrape"]["counts"]["new"] == n_models
        assert stages["verify"]["counts"]["checked"] > 0
        assert server.downloads() == n_models
        assert (out / "index.html").is_file()
        assert (out / "models" / "deepseek-ai" / "DeepSeek-V3.html").is_file()

        # Nothing changed: no download, no verification work, same site.
        server.reset_counts()
        before = canonical(db)
        code, summary = run_cli(nightly_args(db, follow, out, url))
        assert code == 0
        stages = {s["name"]: s for s in summary["stages"]}
        assert server.downloads() == 0
        assert stages["scrape"]["counts"]["unchanged"] == n_models
        assert stages["verify"]["counts"]["checked"] == 0
        assert canonical(db) == before

        # An edited config: a new snapshot, field-level change rows, feed entries.
        path = tree / "deepseek-ai" / "DeepSeek-V3" / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        old_factor = config["rope_scaling"]["factor"]
        config["rope_scaling"]["factor"] = old_factor * 2
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        server.reset_counts()
        code, summary = run_cli(nightly_args(db, follow, out, url))
        assert code == 0
        assert server.downloads() == 1
        assert server.downloads("deepseek-ai/DeepSeek-V3") == 1
    changes = table(
        db,
        "SELECT field_path, old_value, new_value, commit_sha FROM changes "
        "WHERE repo_id = 'deepseek-ai/DeepSeek-V3'",
    )
    by_path = {c[0]: c for c in changes}
    assert "scaling_factor" in by_path
    assert json.loads(by_path["scaling_factor"][1]) == old_factor
    assert json.loads(by_path["scaling_factor"][2]) == old_factor * 2
    assert all(c[3] for c in changes), "each change names the commit it came with"
    assert not any("downloads" in c[0] or "likes" in c[0] for c in changes)
    feed = (out / "feeds" / "changes.atom").read_text(encoding="utf-8")
    assert "DeepSeek-V3" in feed and "scaling_factor" in feed
    tag_feed = (out / "feeds" / "tags" / "rope-yarn.atom").read_text(encoding="utf-8")
    assert "DeepSeek-V3" in tag_feed
    family_feeds = list((out / "feeds").glob("families/deepseek.*"))
    assert family_feeds and "DeepSeek-V3" in family_feeds[0].read_text(encoding="utf-8")
    page = (out / "models" / "deepseek-ai" / "DeepSeek-V3.html").read_text()
    assert "scaling_factor" in page
    runs = table(db, "SELECT status, counts FROM runs WHERE kind = 'nightly'")
    assert [r[0] for r in runs] == ["ok", "ok", "ok"]
    assert "render" in json.loads(runs[-1][1])


def test_offline_run_on_a_fresh_catalog_renders_and_records(
    tmp_path: Path, catalog_url: str
) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(
        cli, ["--db", catalog_url, "nightly", "--offline", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "offline" in result.output
    assert (out / "index.html").is_file()
    assert (out / "downloads" / "catalog.db").is_file()
    assert table(catalog_url, "SELECT kind, status FROM runs") == [("nightly", "ok")]


def test_unreachable_hub_is_partial_and_still_renders(tmp_path: Path) -> None:
    db, out, follow = tmp_path / "c.db", tmp_path / "site", follow_all(tmp_path / "f.toml")
    args = nightly_args(db, follow, out, "http://127.0.0.1:9")  # discard port: refused
    code, summary = run_cli([*args[:-1], "--timeout", "2", "--json"])
    assert code == 1
    assert summary["status"] == "partial"
    stages = {s["name"]: s for s in summary["stages"]}
    assert stages["scrape"]["status"] == "failed"
    assert stages["render"]["status"] == "ok"
    assert (out / "index.html").is_file()


def test_a_second_run_exits_at_once_while_the_lock_is_held(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with catalog_lock(str(db)):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "registry", "--db", str(db), "nightly", "--offline"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert time.monotonic() - started < 30
    assert proc.returncode == EXIT_LOCKED
    assert "holds" in proc.stderr and str(os.getpid()) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not db.exists(), "the refused run did not touch the catalog"


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


def test_two_concurrent_runs_one_proceeds_one_exits(tree: Path, tmp_path: Path) -> None:
    db, out, follow = tmp_path / "c.db", tmp_path / "site", follow_all(tmp_path / "f.toml")
    with serve_in_thread(tree, faults=FaultPlan(latency_ms=40)) as (_server, url):
        args = nightly_args(db, follow, out, url)
        first = _spawn(args, tmp_path)
        lock = lock_file_for(db_url(str(db)))
        assert lock is not None
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _spawn(args, tmp_path)
        second_out, second_err = second.communicate(timeout=120)
        first_out, first_err = first.communicate(timeout=300)
    assert second.returncode == EXIT_LOCKED, second_err
    assert "holds" in second_err
    assert first.returncode == 0, first_err
    assert json.loads(first_out.strip().splitlines()[-1])["status"] == "ok"


def _run_ids(db: Path | str) -> set[int]:
    """Ids of the runs recorded so far (none before the tables exist)."""
    if not has_table(db, "runs"):
        return set()
    return {r[0] for r in table(db, "SELECT id FROM runs")}


@pytest.mark.slow
def test_kill_9_at_random_points_never_corrupts_and_converges(
    tree: Path, tmp_path: Path, catalog_url: str, request: pytest.FixtureRequest
) -> None:
    follow = follow_all(tmp_path / "f.toml")
    reference, killed = new_catalog_url(request, tmp_path, "ref.db"), catalog_url
    rng = random.Random(20261129)
    with serve_in_thread(tree, faults=FaultPlan(latency_ms=15)) as (_server, url):
        started = time.monotonic()
        ref = subprocess.run(
            [
                sys.executable,
                "-m",
                "registry",
                *nightly_args(reference, follow, tmp_path / "s1", url),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        whole_run = time.monotonic() - started  # start-up included: kills land anywhere in it
        assert ref.returncode == 0, ref.stderr
        kills, mid_run = 0, set()
        for attempt in range(8):
            seen = _run_ids(killed)
            proc = _spawn(nightly_args(killed, follow, tmp_path / "s2", url), tmp_path)
            if attempt % 2:  # anywhere: start-up, migration, any stage
                time.sleep(rng.uniform(0.05, 0.95) * whole_run)
            else:  # inside the stages: once this run's row exists
                deadline = time.monotonic() + 120
                while proc.poll() is None and time.monotonic() < deadline:
                    if _run_ids(killed) - seen:
                        break
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.3) * whole_run)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=60)
            if has_table(killed, "runs"):  # a kill in the first start-up can land before it
                mid_run |= {
                    r[0] for r in table(killed, "SELECT id FROM runs WHERE status='running'")
                }
            if not on_server(killed) and Path(killed).exists():
                assert table(killed, "PRAGMA integrity_check") == [("ok",)]
                assert table(killed, "PRAGMA foreign_key_check") == []
        assert kills >= 3, "most runs must really be interrupted for the test to mean anything"
        final = subprocess.run(
            [sys.executable, "-m", "registry", *nightly_args(killed, follow, tmp_path / "s2", url)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert final.returncode == 0, final.stderr
    assert canonical(killed) == canonical(reference)
    statuses = [r[0] for r in table(killed, "SELECT status FROM runs")]
    assert "running" not in statuses
    assert mid_run, "at least one kill must land inside a run for the test to mean anything"
    assert statuses.count("interrupted") == len(mid_run), "each run killed mid-way is marked"
    assert (tmp_path / "s2" / "index.html").is_file()
    assert not list(tmp_path.glob("s2.*")), "no half-written site folder is left beside the site"


def test_publish_db_strips_config_texts_and_keeps_facts(tmp_path: Path) -> None:
    tree = tmp_path / "hub"
    make_tree(tree, extra=2)
    work, published = tmp_path / "work.db", tmp_path / "published.db"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", str(work), "ingest", str(tree)]).exit_code == 0
    result = runner.invoke(cli, ["--db", str(work), "publish-db", str(published)])
    assert result.exit_code == 0, result.output
    assert table(published, "SELECT COUNT(*) FROM config_snapshots WHERE config_text IS NOT NULL")
    assert table(published, "SELECT COUNT(config_text) FROM config_snapshots") == [(0,)]
    assert table(work, "SELECT COUNT(config_text) FROM config_snapshots")[0][0] > 0
    assert canonical(published) == canonical(work)
    same = runner.invoke(cli, ["--db", str(work), "publish-db", str(work)])
    assert same.exit_code == 1 and "destination other than" in same.output


def test_committed_catalog_is_current_and_carries_no_config_text() -> None:
    """catalog.db is rebuilt by docs/deploy/rebuild-catalog.sh whenever the tagger changes."""
    from registry.models import SCHEMA_VERSION
    from registry.verify.verdict import CORE_VERSION
    from scrapers.tagger.result import TAGGER_VERSION

    db = REPO_ROOT / "catalog.db"
    uri = f"file:{db}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        assert int(version[0]) == SCHEMA_VERSION
        assert conn.execute("SELECT COUNT(config_text) FROM config_snapshots").fetchone() == (0,)
        models = conn.execute("SELECT COUNT(*) FROM models").fetchone()[0]
        assert models == len(corpus_configs())
        stale = conn.execute(
            "SELECT COUNT(*) FROM position_facts WHERE tagger_version != ?", (TAGGER_VERSION,)
        ).fetchone()[0]
        assert stale == 0, "catalog.db was tagged by an older tagger: rebuild it"
        unverified = conn.execute(
            "SELECT COUNT(DISTINCT f.verify_fingerprint) FROM position_facts f "
            "LEFT JOIN verifications v ON v.fingerprint = f.verify_fingerprint "
            "WHERE f.verify_fingerprint IS NOT NULL AND v.id IS NULL"
        ).fetchone()[0]
        assert unverified == 0
        cores = {r[0] for r in conn.execute("SELECT DISTINCT core_version FROM verifications")}
        assert cores == {CORE_VERSION}, "catalog.db was verified by an older verifier: rebuild it"
