"""`check`, `tag`, `rope` and `show` take a repo id as well as a path: from the catalog when it
holds the model, else from the Hub through the real huggingface_hub client and the loopback
mirror; exit status 0 pass/warn/n-a, 2 fail, 1 unreadable; `--json` one document, `--nl` lines."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from registry.cli import cli
from scrapers.mirror import serve_in_thread
from tests.conftest import corpus_configs

DEEPSEEK = "deepseek-ai/DeepSeek-V3"
FAILING = "broken-org/beta-reversed"  # a yarn block with beta_fast < beta_slow: verdict fail
GATED = "locked-org/gated-model"
VERIFY_DATA = Path(__file__).parent / "data" / "verify"


def _corpus(repo_id: str) -> Path:
    return next(path for repo, path in corpus_configs() if repo == repo_id)


@pytest.fixture(name="hub")
def hub_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    for repo_id, source in (
        (DEEPSEEK, _corpus(DEEPSEEK)),
        (FAILING, VERIFY_DATA / "beta_reversed.json"),
        (GATED, _corpus("openai/gpt-oss-20b")),
    ):
        (root / repo_id).mkdir(parents=True)
        shutil.copyfile(source, root / repo_id / "config.json")
    (root / GATED / "hub.json").write_text(json.dumps({"gated": "manual"}), encoding="utf-8")
    return root


@pytest.fixture(name="mirror")
def mirror_fixture(hub: Path) -> Iterator[tuple[Any, str]]:
    with serve_in_thread(hub, tokens=["hf_reader"]) as served:
        yield served


def _run(args: list[str], env: dict[str, str] | None = None, db: Path | None = None) -> Result:
    argv = (["--db", str(db)] if db is not None else []) + args
    return CliRunner().invoke(cli, argv, env=env, catch_exceptions=False)


def _env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HF_ENDPOINT": url, "HF_HUB_CACHE": str(tmp_path / "hf-cache"), **extra}


def test_check_a_repo_id_from_the_hub_with_an_empty_catalog(
    mirror: tuple[Any, str], tmp_path: Path
) -> None:
    server, url = mirror
    from huggingface_hub import HfApi

    sha = HfApi(endpoint=url, token=False).model_info(DEEPSEEK).sha
    result = _run(["check", DEEPSEEK, "--json", "--device", "cpu"], _env(url, tmp_path))
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert (row["source"], row["repo_id"], row["revision"]) == ("hub", DEEPSEEK, sha)
    assert row["verdict"] in ("pass", "warn")
    assert row["scaling_type"] == "yarn" and row["original_context"] == 4096
    # the same verdict as checking the file itself
    local = _run(["check", str(_corpus(DEEPSEEK)), "--json", "--device", "cpu"])
    [file_row] = json.loads(local.stdout)
    assert {k: v for k, v in row.items() if k not in ("path", "source", "repo_id", "revision")} == {
        k: v for k, v in file_row.items() if k not in ("path", "source", "repo_id", "revision")
    }
    assert any(r.path == f"/{DEEPSEEK}/resolve/{sha}/config.json" for r in server.requests)
    pinned = _run(["check", f"{DEEPSEEK}@{sha}", "--json", "--device", "cpu"], _env(url, tmp_path))
    assert pinned.exit_code == 0 and json.loads(pinned.stdout)[0]["revision"] == sha


def test_check_exit_status_follows_the_verdict(mirror: tuple[Any, str], tmp_path: Path) -> None:
    _, url = mirror
    env = _env(url, tmp_path)
    failing = _run(["check", FAILING, "--device", "cpu"], env)
    assert failing.exit_code == 2, failing.output
    assert f"{FAILING}: FAIL" in failing.stdout and "C8-beta-order" in failing.stdout
    both = _run(["check", DEEPSEEK, FAILING, "--nl", "--device", "cpu"], env)
    assert both.exit_code == 2
    verdicts = [json.loads(line)["verdict"] for line in both.stdout.splitlines()]
    assert verdicts[1] == "fail" and verdicts[0] != "fail"
    unreadable = _run(["check", FAILING, "nobody/nothing", "--json", "--device", "cpu"], env)
    assert unreadable.exit_code == 1  # an unreadable input wins over a fail
    rows = json.loads(unreadable.stdout)
    assert [r["verdict"] for r in rows] == ["fail", "error"]
    assert "no such model" in rows[1]["reason"]


def test_unknown_repo_or_revision_names_the_next_step(
    mirror: tuple[Any, str], tmp_path: Path
) -> None:
    _, url = mirror
    env = _env(url, tmp_path)
    missing = _run(["check", "nobody/nothing"], env)
    assert missing.exit_code == 1
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.output
    assert "not in the catalog" in missing.stderr and "no such model" in missing.stderr
    bad_rev = _run(["tag", f"{DEEPSEEK}@no-such-branch", "--json"], env)
    assert bad_rev.exit_code == 1
    [row] = json.loads(bad_rev.stdout)
    assert row["position_encoding"] == "unknown" and "no such revision" in row["reason"]
    unreachable = _run(["check", DEEPSEEK], _env("http://127.0.0.1:9", tmp_path))
    assert unreachable.exit_code == 1 and "HF_ENDPOINT" in unreachable.stderr


def test_gated_repo_needs_hf_token(mirror: tuple[Any, str], tmp_path: Path) -> None:
    _, url = mirror
    anonymous = _run(["tag", GATED, "--json"], _env(url, tmp_path))
    assert anonymous.exit_code == 1
    assert "HF_TOKEN" in json.loads(anonymous.stdout)[0]["reason"]
    with_token = _run(["tag", GATED, "--json"], _env(url, tmp_path, HF_TOKEN="hf_reader"))
    assert with_token.exit_code == 0, with_token.output
    assert json.loads(with_token.stdout)[0]["position_encoding"] == "rope-yarn"


def test_offline_mode_reads_only_the_hub_cache(mirror: tuple[Any, str], tmp_path: Path) -> None:
    server, url = mirror
    online = _run(["tag", DEEPSEEK, "--json"], _env(url, tmp_path))
    assert online.exit_code == 0
    server.reset_counts()
    offline = _run(["tag", DEEPSEEK, "--json"], _env(url, tmp_path, HF_HUB_OFFLINE="1"))
    assert offline.exit_code == 0, offline.output
    assert json.loads(offline.stdout) == json.loads(online.stdout)
    assert not dict(server.counts)  # not one request
    cold = _run(["tag", DEEPSEEK], {**_env(url, tmp_path / "other"), "HF_HUB_OFFLINE": "1"})
    assert cold.exit_code == 1 and "HF_HUB_OFFLINE" in cold.stderr


def test_rope_and_show_take_a_repo_id(mirror: tuple[Any, str], tmp_path: Path) -> None:
    _, url = mirror
    env = _env(url, tmp_path)
    rope = _run(["rope", DEEPSEEK, "--json"], env)
    assert rope.exit_code == 0, rope.output
    from_file = _run(["rope", str(_corpus(DEEPSEEK)), "--json"])
    strip = [{k: v for k, v in r.items() if k != "path"} for r in json.loads(from_file.stdout)]
    assert [{k: v for k, v in r.items() if k != "path"} for r in json.loads(rope.stdout)] == strip
    shown = _run(["show", DEEPSEEK, "--json", "--device", "cpu"], env)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["model"]["source"] == "hub" and data["facts"]["scaling_type"] == "yarn"
    assert data["verification"]["verdict"] in ("pass", "warn")
    assert data["config"]["model_type"] == "deepseek_v3"


def test_an_existing_path_wins_over_a_repo_id(
    mirror: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, url = mirror
    work = tmp_path / "work"
    (work / "deepseek-ai").mkdir(parents=True)
    (work / DEEPSEEK).write_text(json.dumps({"model_type": "bloom"}), encoding="utf-8")
    monkeypatch.chdir(work)
    server.reset_counts()
    result = _run(["tag", DEEPSEEK, "--json"], _env(url, tmp_path))
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["position_encoding"] == "alibi"
    assert not dict(server.counts)


def _ingested(tmp_path: Path, hub: Path) -> Path:
    db = tmp_path / "catalog.db"
    assert _run(["ingest", str(hub)], db=db).exit_code == 0
    return db


def test_a_repo_id_the_catalog_holds_needs_no_hub(hub: Path, tmp_path: Path) -> None:
    db = _ingested(tmp_path, hub)
    env = _env("http://127.0.0.1:9", tmp_path)  # nothing answers there
    result = _run(["check", DEEPSEEK, FAILING, "--json", "--device", "cpu"], env, db=db)
    assert result.exit_code == 2, result.output
    rows = json.loads(result.stdout)
    assert [r["source"] for r in rows] == ["catalog", "catalog"]
    assert rows[1]["verdict"] == "fail"
    tag = _run(["tag", DEEPSEEK, "--json"], env, db=db)
    assert tag.exit_code == 0 and json.loads(tag.stdout)[0]["scaling_factor"] == 40


def test_a_catalog_without_config_text_gives_its_stored_verdict(hub: Path, tmp_path: Path) -> None:
    db = _ingested(tmp_path, hub)
    assert _run(["verify", "--device", "cpu"], db=db).exit_code == 0
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE config_snapshots SET config_text = NULL")
    conn.close()
    env = _env("http://127.0.0.1:9", tmp_path)
    result = _run(["check", FAILING, DEEPSEEK, "--json"], env, db=db)
    assert result.exit_code == 2, result.output
    rows = json.loads(result.stdout)
    assert [(r["source"], r["verdict"], r["stored"]) for r in rows][0] == ("catalog", "fail", True)
    text = _run(["check", DEEPSEEK], env, db=db)
    assert text.exit_code == 0 and "verdict stored in the catalog by verify-" in text.stdout
    # a model without rotary embedding has no stored verdict: n/a, as a live check says
    bert = "google-bert/bert-base-uncased"
    (hub / bert).mkdir(parents=True)
    shutil.copyfile(_corpus(bert), hub / bert / "config.json")
    db2 = tmp_path / "second.db"
    assert _run(["ingest", str(hub)], db=db2).exit_code == 0
    conn = sqlite3.connect(db2)
    with conn:
        conn.execute("UPDATE config_snapshots SET config_text = NULL")
    conn.close()
    live = json.loads(_run(["check", str(_corpus(bert)), "--json"]).stdout)[0]
    na = _run(["check", bert, "--json"], env, db=db2)
    assert na.exit_code == 0, na.output
    row = json.loads(na.stdout)[0]
    assert (row["source"], row["verdict"], row["reason"]) == ("catalog", "n/a", live["reason"])
    assert rows[1]["scaling_type"] == "yarn" and rows[1]["runtimes"]["vllm"]["served_context"]
    # tag needs the config itself: the catalog does not keep it and the Hub is unreachable
    tag = _run(["tag", DEEPSEEK], env, db=db)
    assert tag.exit_code == 1 and "keeps no config text" in tag.stderr


def test_show_takes_a_path_and_names_the_next_step_for_a_missing_one(tmp_path: Path) -> None:
    shown = _run(["show", str(_corpus(DEEPSEEK)), "--json", "--device", "cpu"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["model"]["source"] == "path" and data["facts"]["scaling_type"] == "yarn"
    text = _run(["show", str(_corpus(DEEPSEEK)), "--device", "cpu"]).stdout
    assert "Served context per runtime" in text and "160k" in text
    missing = _run(["show", "nobody/nothing"], _env("http://127.0.0.1:9", tmp_path))
    assert missing.exit_code == 1
    line = missing.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith("Error: ")
    assert "ropedex ingest" in line and "HF_ENDPOINT" in line


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("deepseek-ai/DeepSeek-V3", ("deepseek-ai/DeepSeek-V3", None)),
        ("Qwen/Qwen3-8B@main", ("Qwen/Qwen3-8B", "main")),
        ("org/name@" + "a" * 40, ("org/name", "a" * 40)),
        ("org/name@", None),  # an empty revision
        ("org/name@a/b", None),
        ("configs/config.json", None),  # a missing file, not a repo
        ("a/b/c", None),
        ("../etc", None),
        ("name-only", None),
    ],
)
def test_what_counts_as_a_repo_id(text: str, ref: tuple[str, str | None] | None) -> None:
    from registry.resolve_input import parse_repo_ref

    assert parse_repo_ref(text) == ref
