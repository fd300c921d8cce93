"""The lead (registry/lead.py) from the real verifier on corpus configs, and in `ropedex check`.

Each expectation is a fact about the config read off its own keys (the trained length is its
original_max_position_embeddings, the served length its max_position_embeddings), so a lead that
reports the scaled range as served, or blames the wrong runtime, fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.lead import CONTEXT_FIGURES, LEAD_RUNTIMES, build_lead, lead_lines
from tests.conftest import corpus_configs, load_corpus_config


def _path(repo_id: str) -> Path:
    return next(p for r, p in corpus_configs() if r == repo_id)


def _lead(repo_id: str) -> dict[str, Any]:
    from registry.verify.verdict import verify_tag
    from scrapers.tagger import tag_file

    path = _path(repo_id)
    tag, readable = tag_file(str(path))
    assert readable
    verdict = verify_tag(tag, device="cpu", config=load_corpus_config(repo_id)).to_dict()
    lead = build_lead(tag.to_dict(), verdict, tag.model_type)
    assert lead is not None
    return lead


def _served(lead: dict[str, Any]) -> dict[str, int | None]:
    return {r["name"]: r["served_context"] for r in lead["runtimes"]}


def test_afm_serves_its_declared_length_not_the_scaled_range() -> None:
    config = load_corpus_config("arcee-ai/AFM-4.5B")
    lead = _lead("arcee-ai/AFM-4.5B")
    declared = config["max_position_embeddings"]
    original = config["rope_scaling"]["original_max_position_embeddings"]
    factor = config["rope_scaling"]["factor"]
    assert original * factor > declared  # the case the lead must not get wrong
    assert set(_served(lead).values()) == {declared}
    assert lead["served_context"] == declared
    assert lead["trained_context"] == original
    assert lead["scaled_range"] == original * factor
    assert lead["verdict"] == "warn" and lead["cause"] == []  # the config, not a runtime
    assert lead["reason"] and "factor" in lead["reason"]


def test_gpt_oss_warning_names_llama_cpp() -> None:
    lead = _lead("openai/gpt-oss-120b")
    assert lead["verdict"] == "warn"
    assert lead["cause"] == ["llama.cpp"]
    assert "truncate" in lead["reason"]
    marked = [r["name"] for r in lead["runtimes"] if r["differs"]]
    assert marked == ["llama.cpp"]


@pytest.mark.parametrize(
    ("repo_id", "deepseek"),
    [("deepseek-ai/DeepSeek-V3", True), ("Qwen/Qwen3-8B", False), ("arcee-ai/AFM-4.5B", False)],
)
def test_deepseek_reference_only_for_deepseek_architectures(repo_id: str, deepseek: bool) -> None:
    names = [r["name"] for r in _lead(repo_id)["runtimes"]]
    assert names[: len(LEAD_RUNTIMES)] == list(LEAD_RUNTIMES)
    assert ("deepseek" in names) is deepseek


def test_unscaled_model_trained_at_its_declared_length() -> None:
    config = load_corpus_config("Qwen/Qwen3-8B")
    lead = _lead("Qwen/Qwen3-8B")
    assert lead["scaling_type"] is None and lead["scaled_range"] is None
    assert lead["trained_context"] == config["max_position_embeddings"]


def test_no_facts_no_lead() -> None:
    assert build_lead(None, None) is None


def test_lead_lines_use_the_figure_names() -> None:
    lines = lead_lines(_lead("openai/gpt-oss-120b"))
    assert lines[0].startswith(CONTEXT_FIGURES["served_context"][0] + ": transformers 128k")
    assert "llama.cpp 128k (differs)" in lines[0]
    assert lines[1].startswith(CONTEXT_FIGURES["trained_context"][0] + ": 4k")
    assert "caused by llama.cpp" in lines[2]


def test_check_prints_and_emits_the_lead() -> None:
    from registry.cli import cli

    path = str(_path("openai/gpt-oss-120b"))
    runner = CliRunner()
    out = runner.invoke(cli, ["check", path, "--json", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    (row,) = json.loads(out.output)
    assert row["lead"] == _lead("openai/gpt-oss-120b")
    text = runner.invoke(cli, ["check", path, "--device", "cpu"]).output.splitlines()
    served = [line.strip() for line in text if "Served context:" in line]
    assert served and served[0].startswith("Served context: transformers 128k")
