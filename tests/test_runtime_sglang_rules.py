"""ropedex's SGLang convention on the cases SGLang's own code decides (yarn_core.runtime_sglang).

Each expected value is what SGLang 0.5.23 computes (tests/test_runtime_sglang.py runs its code
on the same configs); here they are checked without SGLang, so they run in every test job.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.conftest import load_corpus_config
from tests.oracles import ropedex_side
from yarn_core.runtime_sglang import context_length
from yarn_core.scaling import default_inv_freq, yarn_mscale

HANDWRITTEN = Path(__file__).parent / "data" / "sglang"


def _row(config: dict, layer_type: str | None = None) -> dict:
    rows = ropedex_side.rope_rows_for(config, "sglang")
    if layer_type is None:
        return rows[0]
    return next(r for r in rows if r["layer_type"] == layer_type)


def test_command_r_is_served_from_model_max_length() -> None:
    config = load_corpus_config("CohereForAI/c4ai-command-r-v01")
    row = _row(config)
    assert (row["served_context"], row["served_context_key"]) == (131072, "model_max_length")
    matrix = ropedex_side.runtimes_for(config)["sglang"]
    assert (matrix["served_context"], matrix["served_context_key"]) == (131072, "model_max_length")


def test_first_length_key_of_sglangs_list_wins() -> None:
    config = ropedex_side.load(HANDWRITTEN / "llama-max-sequence-length.json")
    row = _row(config)
    assert (row["served_context"], row["served_context_key"]) == (16384, "max_sequence_length")
    assert context_length({"seq_length": 4096, "max_position_embeddings": 2048}, "x", None) == (
        4096,
        "seq_length",
    )


def test_factor_scales_the_key_unless_an_original_is_written() -> None:
    linear = {"max_position_embeddings": 4096, "rope_scaling": {"rope_type": "linear", "factor": 4}}
    assert context_length(linear, "llama", None) == (16384, "max_position_embeddings x factor")
    yarn = {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 4096}
    assert (
        context_length({"max_position_embeddings": 16384, "rope_scaling": yarn}, "qwen2", None)[0]
        == 16384
    )


def test_no_length_key_gives_no_served_context() -> None:
    assert context_length({"hidden_size": 8}, "qwen2", None) == (None, None)


def test_invalid_length_value_is_an_error_naming_the_key() -> None:
    config = load_corpus_config("CohereForAI/c4ai-command-r-v01")
    config = {**config, "model_max_length": "lots"}
    row = _row(config)
    assert row["inv_freq"] is None
    assert "model_max_length" in row["reason"]


def test_gemma3_global_layers_drop_the_linear_factor() -> None:
    config = load_corpus_config("google/medgemma-27b-it")
    row = _row(config, "full_attention")
    assert row["served_context"] == 131072
    assert row["factor"] == 1.0 and not row["applies_scaling"]
    assert row["inv_freq"] == pytest.approx(default_inv_freq(1e6, 128), rel=1e-12)
    assert any("factor 8 is dropped" in n for n in row["notes"])
    # transformers keeps the factor on the global layers.
    hf = ropedex_side.rope_rows_for(config, "transformers")
    hf_global = next(r for r in hf if r["layer_type"] == "full_attention")
    assert hf_global["factor"] == 8.0


def test_mla_softmax_multiplier() -> None:
    row = _row(load_corpus_config("deepseek-ai/DeepSeek-V3"))
    assert row["softmax_multiplier"] == pytest.approx(yarn_mscale(40.0) ** 2, rel=1e-12)


def test_yarn_attn_factor_and_extrapolation_factor() -> None:
    config = ropedex_side.load(HANDWRITTEN / "qwen2-yarn-attn-extrapolation.json")
    row = _row(config)
    assert row["attention_scaling"] == pytest.approx(0.8 * yarn_mscale(4.0), rel=1e-12)
    plain = ropedex_side.load(HANDWRITTEN / "qwen2-yarn-attn-extrapolation.json")
    del plain["rope_scaling"]["extrapolation_factor"]
    base = _row(plain)["inv_freq"]
    # Pair 0 is fully extrapolated: with extrapolation_factor e it keeps e of the original
    # frequency and takes 1 - e of the interpolated one.
    theta0 = default_inv_freq(1e6, 64)[0]
    assert base[0] == pytest.approx(theta0, rel=1e-12)
    assert row["inv_freq"][0] == pytest.approx(0.5 * theta0 + 0.5 * theta0 / 4, rel=1e-12)
    assert row["inv_freq"][-1] == pytest.approx(base[-1], rel=1e-12)  # interpolated end


def test_yarn_with_mrope() -> None:
    row = _row(ropedex_side.load(HANDWRITTEN / "qwen2-5-vl-yarn-mrope.json"))
    assert row["rope_type"] == "yarn" and row["mrope_section"] == [8, 12, 12]
    assert row["attention_scaling"] == pytest.approx(yarn_mscale(4.0), rel=1e-12)
    assert math.isclose(row["served_context"], 128000)
