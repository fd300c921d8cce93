"""Exit statuses tell ok, partial, failed, bad usage and locked apart; --json always summarises."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.exits import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from registry.locks import catalog_lock
from scrapers.mirror import serve_in_thread
from tests.conftest import corpus_configs

FAST = ["--no-cache", "--retries", "0", "--backoff", "0.01", "--json"]


def _tree(root: Path, good: int, bad: int) -> None:
    for repo_id, source in corpus_configs()[:good]:
        (root / repo_id).mkdir(parents=True)
        shutil.copyfile(source, root / repo_id / "config.json")
    for i in range(bad):
        (root / f"bad/m{i}").mkdir(parents=True)
        (root / f"bad/m{i}/config.json").write_bytes(b"{not json")


def _scrape(db: Path, url: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--db", str(db), "scrape", "--endpoint", url, *FAST])
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("good", "bad", "code"),
    [(3, 0, EXIT_OK), (3, 1, EXIT_PARTIAL), (0, 2, EXIT_FAILED)],
    ids=["ok", "partial", "nothing-kept"],
)
def test_scrape_exit_status(tmp_path: Path, good: int, bad: int, code: int) -> None:
    _tree(tmp_path / "hub", good, bad)
    with serve_in_thread(tmp_path / "hub") as (_server, url):
        exit_code, summary = _scrape(tmp_path / "c.db", url)
    assert exit_code == code
    assert summary["new"] == good and summary["failed_total"] == bad


def test_a_failed_listing_exits_3_with_a_json_summary(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exit_code, summary = _scrape(tmp_path / "c.db", f"http://127.0.0.1:{port}")
    assert exit_code == EXIT_FAILED
    assert summary["status"] == "failed" and "Listing models" in summary["error"]
    assert summary["run_id"] is not None  # the run row was kept


def test_nightly_locked_and_bad_follow_file_still_print_a_summary(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    follow = tmp_path / "f.toml"
    follow.write_text("[[select]]\nauthor = 3\n", encoding="utf-8")
    args = ["--db", str(db), "nightly", "--offline", "--device", "cpu", "--json"]
    bad = CliRunner().invoke(cli, [*args, "--follow", str(follow)])
    assert bad.exit_code == EXIT_USAGE
    assert json.loads(bad.stdout)["status"] == "failed"
    with catalog_lock(str(db)):
        locked = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "site")])
    assert locked.exit_code == EXIT_LOCKED
    summary = json.loads(locked.stdout)
    assert summary["status"] == "locked" and summary["exit_code"] == EXIT_LOCKED


def test_one_unplottable_config_does_not_make_every_nightly_partial(tmp_path: Path) -> None:
    base = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "max_position_embeddings": 32768,
        "rope_theta": 10000.0,
    }
    unplottable = {
        **base,
        "rope_scaling": {
            "rope_type": "yarn",
            "factor": 4.0,
            "original_max_position_embeddings": 8192,
            "beta_fast": -32,
            "beta_slow": 1,
        },
    }
    root = tmp_path / "hub"
    for repo_id, config in (("ok/model", base), ("odd/model", unplottable)):
        (root / repo_id).mkdir(parents=True)
        (root / repo_id / "config.json").write_text(json.dumps(config))
    db = tmp_path / "c.db"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", str(db), "ingest", str(root)]).exit_code == 0
    args = ["--db", str(db), "nightly", "--offline", "--device", "cpu", "--json"]
    args += ["--out", str(tmp_path / "site")]
    first, second = runner.invoke(cli, args), runner.invoke(cli, args)
    first_render = json.loads(first.stdout)["stages"][-1]
    second_render = json.loads(second.stdout)["stages"][-1]
    assert first.exit_code == EXIT_PARTIAL and first_render["status"] == "partial"
    assert first_render["counts"]["new_plot_errors"] == 1
    assert second.exit_code == EXIT_OK, second.stdout
    assert second_render["status"] == "ok" and second_render["counts"]["plot_errors"] == 1
    assert second_render["counts"]["new_plot_errors"] == 0
