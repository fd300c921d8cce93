"""CLI tables fit the terminal: at COLUMNS=80 no line is wider than 80 characters, a repo id is
never wrapped over lines, and `show` prints the served context per runtime without raw floats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from registry.cli import cli
from tests.conftest import corpus_configs

WIDTH = {"COLUMNS": "80"}


def _run(*args: str, db: Path | None = None) -> Result:
    argv = (["--db", str(db)] if db is not None else []) + list(args)
    return CliRunner().invoke(cli, argv, env=WIDTH, catch_exceptions=False)


def _fits(text: str) -> None:
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert not wide, wide[:3]


@pytest.fixture(name="catalog", scope="module")
def catalog_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus models with the longest repo ids (and DeepSeek-V3), ingested and verified."""
    root = tmp_path_factory.mktemp("width")
    pairs = sorted(corpus_configs(), key=lambda pair: -len(pair[0]))[:30]
    pairs += [p for p in corpus_configs() if p[0] == "deepseek-ai/DeepSeek-V3"]
    for repo_id, source in pairs:
        (root / "hub" / repo_id).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / "hub" / repo_id / "config.json")
    db = root / "catalog.db"
    assert _run("ingest", str(root / "hub"), db=db).exit_code == 0
    assert _run("verify", "--device", "cpu", db=db).exit_code == 0
    return db


def test_query_fits_80_columns_with_whole_repo_ids(catalog: Path) -> None:
    ids = [r["repo_id"] for r in json.loads(_run("query", "--json", db=catalog).stdout)]
    assert max(len(i) for i in ids) > 50  # long enough to push the other columns out
    text = _run("query", db=catalog).stdout
    _fits(text)
    lines = text.splitlines()
    assert all(any(repo_id in line for line in lines) for repo_id in ids)
    assert "Not shown at 80 columns" in text  # what was left out is said


def test_show_prints_the_runtime_table_at_80_columns(catalog: Path) -> None:
    text = _run("show", "deepseek-ai/DeepSeek-V3", db=catalog).stdout
    _fits(text)
    assert "Served context per runtime" in text
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("│ ")}
    for runtime in ("transformers", "vllm", "sglang", "llama.cpp", "deepseek"):
        assert "160k" in rows[runtime], rows.get(runtime)
    served = json.loads(_run("show", "deepseek-ai/DeepSeek-V3", "--json", db=catalog).stdout)
    assert served["verification"]["runtimes"]["vllm"]["served_context"] == 163840
    assert "0.0249999" not in text and "40.0" not in text and "e+0" not in text


def test_show_leaves_the_deepseek_reference_to_deepseek_models(catalog: Path) -> None:
    ids = [r["repo_id"] for r in json.loads(_run("query", "--json", db=catalog).stdout)]
    llama = next(i for i in ids if "llama" in i.lower() and "deepseek" not in i.lower())
    text = _run("show", llama, db=catalog).stdout
    _fits(text)
    runtimes = [line.split()[1] for line in text.splitlines() if line.startswith("│ ")]
    assert "transformers" in runtimes and "deepseek" not in runtimes


def test_tag_and_check_text_fit_80_columns() -> None:
    paths = [str(p) for _, p in sorted(corpus_configs(), key=lambda pair: -len(str(pair[1])))[:5]]
    tag = _run("tag", *paths)
    assert tag.exit_code == 0
    _fits(tag.stdout)
    check = _run("check", "--all", "--device", "cpu", *paths[:2])
    assert check.exit_code in (0, 2)
    _fits(check.stdout)
