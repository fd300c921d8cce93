"""`ropedex tag` and `ropedex tags` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import cli
from scrapers.tagger.vocabulary import TAGS
from tests.conftest import corpus_configs

REQUIRED = (
    "path",
    "position_encoding",
    "rope_theta",
    "rotary_dim",
    "scaling_type",
    "scaling_factor",
    "original_context",
    "declared_context",
    "effective_context",
    "evidence",
    "warnings",
)


def test_tag_json_array_and_json_lines_for_corpus_files() -> None:
    paths = [str(p) for _, p in corpus_configs()[:25]]
    out = CliRunner().invoke(cli, ["tag", "--json", *paths])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)  # one JSON document
    assert isinstance(rows, list) and [r["path"] for r in rows] == paths
    lines = CliRunner().invoke(cli, ["tag", "--nl", *paths])
    assert lines.exit_code == 0, lines.output
    assert [json.loads(line) for line in lines.stdout.splitlines()] == rows
    for row in rows:
        assert set(REQUIRED) <= set(row)
        assert row["position_encoding"] in TAGS


def test_bad_inputs_give_unknown_rows_and_exit_1(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"model_type": "llama", "rope_theta": 500000.0}), encoding="utf-8")
    missing = tmp_path / "missing.json"
    out = CliRunner().invoke(cli, ["tag", "--json", str(broken), str(good), str(missing)])
    assert out.exit_code == 1
    assert "Traceback" not in out.output
    rows = json.loads(out.stdout)
    assert [r["position_encoding"] for r in rows] == ["unknown", "rope", "unknown"]
    assert "JSON" in rows[0]["reason"] and "read" in rows[2]["reason"]
    assert rows[1]["rope_theta"] == 500000.0


def test_tag_table_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "bloom"}), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a short path: at 80 columns the table keeps the tag column
    out = CliRunner().invoke(cli, ["tag", "config.json"])
    assert out.exit_code == 0
    assert "alibi" in out.output


def test_tags_lists_the_vocabulary() -> None:
    out = CliRunner().invoke(cli, ["tags", "--json"])
    assert out.exit_code == 0
    rows = json.loads(out.stdout)
    lines = CliRunner().invoke(cli, ["tags", "--nl"]).stdout.splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert {r["tag"] for r in rows} == set(TAGS)
    assert all(r["definition"] for r in rows)
    plain = CliRunner().invoke(cli, ["tags"])
    assert "rope-yarn" in plain.output


def test_tagger_is_pure_python() -> None:
    """Tagging imports no torch, transformers or huggingface_hub (fresh interpreter)."""
    import subprocess
    import sys

    code = (
        "import sys, scrapers.tagger as t; t.tag_config({'model_type': 'llama'}); "
        "print(sorted(m for m in ('torch', 'transformers', 'huggingface_hub') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
