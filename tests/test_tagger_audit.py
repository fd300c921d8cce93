"""Regressions found by auditing the tagger over the whole corpus against transformers 5.24.

Each expectation comes from the architecture's modeling code, not from the tagger's output.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scrapers.tagger import tag_config
from tests.conftest import load_corpus_config

# (corpus repo, field -> expected value)
CORPUS_CASES: list[tuple[str, dict[str, Any]]] = [
    # Phi-msft / MixFormer remote code splits the rotary slice into two halves (chunk(2)); the
    # native Phi port loads the same weights with rotate_half.
    ("microsoft/phi-2", {"pairing": "half", "rotary_dim": 32, "head_dim": 80}),
    # DeepSeek-VL2 style language model with use_mla false runs Llama attention (rotate_half)
    # over the full head, as transformers' DeepseekOcr2TextAttention does.
    ("deepseek-ai/DeepSeek-OCR-2", {"pairing": "half", "rotary_dim": 128}),
    # ERNIE-4.5-VL rotates adjacent pairs (rotate_half_text takes 0::2 / 1::2), like ERNIE-4.5.
    ("baidu/ERNIE-4.5-VL-28B-A3B-PT", {"pairing": "interleaved", "mrope_section": [22, 22, 20]}),
    # Qwen2 leaves the window off unless use_sliding_window is true; the flag is absent here.
    ("Qwen/Qwen2-Audio-7B", {"sliding_window": None, "declared_context": 8192}),
    # An explicit false keeps the window off as before.
    ("Qwen/Qwen2.5-7B", {"sliding_window": None}),
    # RoBERTa-style tables: positions start at pad_token_id + 1 (create_position_ids_from_input_ids
    # in LayoutLMv3 and AltCLIP's XLM-R text tower), so two of the 514 rows are never used.
    ("microsoft/layoutlmv3-base", {"declared_context": 514, "usable_context": 512}),
    ("BAAI/AltCLIP", {"declared_context": 514, "usable_context": 512}),
    # ProphetNet counts positions from pad_token_id (0) + 1 and clamps at max - 1.
    ("microsoft/prophetnet-large-uncased", {"usable_context": 511, "effective_context": 511}),
    # PVT v1 adds a learned table to the patch embeddings of each stage (PvtPatchEmbeddings);
    # only PVT v2 drops it for overlapping convolutions
    ("Zetatech/pvt-large-224", {"position_encoding": "learned-absolute"}),
]


@pytest.mark.parametrize(("repo_id", "expected"), CORPUS_CASES, ids=[c[0] for c in CORPUS_CASES])
def test_corpus_regression(repo_id: str, expected: dict[str, Any]) -> None:
    got = tag_config(load_corpus_config(repo_id)).to_dict()
    wrong = {k: (v, got[k]) for k, v in expected.items() if got[k] != v}
    assert not wrong, f"field -> (expected, got): {wrong}"


def test_non_mla_deepseek_names_the_flag_in_evidence() -> None:
    result = tag_config(load_corpus_config("deepseek-ai/DeepSeek-OCR-2"))
    assert result.evidence["language_config.use_mla"] is False


def test_mla_deepseek_still_interleaves() -> None:
    result = tag_config(load_corpus_config("deepseek-ai/DeepSeek-V3"))
    assert result.pairing == "interleaved"
    assert result.rotary_dim == 64


def test_sliding_only_rope_cites_layer_types() -> None:
    config = load_corpus_config("arcee-ai/Trinity-Mini")
    result = tag_config(config)
    assert result.evidence["layer_types"] == config["layer_types"]
    full = [i for i, t in enumerate(config["layer_types"]) if t == "full_attention"]
    assert result.nope_layers == full


def test_qwen1_theta_comes_from_rotary_emb_base() -> None:
    config = load_corpus_config("Qwen/Qwen-72B")
    config["rope_theta"] = 1.0  # a stray copy the remote code never reads
    result = tag_config(config)
    assert result.rope_theta == float(config["rotary_emb_base"])
    assert "rotary_emb_base" in result.evidence and "rope_theta" not in result.evidence


def test_relative_bias_guess_cites_the_key_it_found() -> None:
    result = tag_config({"model_type": "my_t5", "relative_attention_num_buckets": 32})
    assert result.position_encoding == "relative-bias"
    assert result.evidence == {"model_type": "my_t5", "relative_attention_num_buckets": 32}


def test_paddleocr_neox_flag_decides_pairing() -> None:
    config = load_corpus_config("PaddlePaddle/PaddleOCR-VL")
    assert tag_config(config).evidence["rope_is_neox_style"] is True
    config["rope_is_neox_style"] = False
    assert tag_config(config).pairing == "interleaved"


@pytest.mark.parametrize("layers", [None, -3, 0, 10**12])
def test_huge_layer_spacing_stays_cheap(layers: int | None) -> None:
    config: dict[str, Any] = {"model_type": "cohere2", "sliding_window_pattern": 10**15}
    if layers is not None:
        config["num_hidden_layers"] = layers
    result = tag_config(config)
    assert result.position_encoding == "rope+nope"
    assert result.nope_layers is not None and len(result.nope_layers) <= 65536


def test_chatglm_v1_cites_the_2d_flag() -> None:
    result = tag_config(load_corpus_config("THUDM/chatglm-6b"))
    assert result.pairing == "half"
    assert result.evidence["position_encoding_2d"] is True


SYNTHETIC: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "qwen2 window turned on by the flag",
        {"model_type": "qwen2", "use_sliding_window": True, "sliding_window": 4096},
        {"sliding_window": 4096},
    ),
    (
        "qwen3 window without the flag is inert",
        {"model_type": "qwen3", "sliding_window": 4096},
        {"sliding_window": None},
    ),
    (
        "mistral window needs no flag",
        {"model_type": "mistral", "sliding_window": 4096},
        {"sliding_window": 4096},
    ),
    (
        # GLM-Image's text model applies the standard rotate_half to its rotary slice
        "glm image text rotates halves",
        {"model_type": "glm_image", "text_config": {"model_type": "glm_image_text"}},
        {"pairing": "half"},
    ),
    (
        # BLT's byte-level local stacks share the global stack's adjacent-pair rotation
        "blt local encoder interleaves",
        {"model_type": "blt_local_encoder", "hidden_size": 1024, "num_attention_heads": 16},
        {"pairing": "interleaved"},
    ),
    (
        # Kolibri-1 builds every fifth layer as full attention and rotates only sliding layers
        "kolibri1 default layout",
        {"model_type": "kolibri1", "num_hidden_layers": 10},
        {"position_encoding": "rope+nope", "nope_layers": [4, 9]},
    ),
    (
        # ... but with a null window every layer is a full one and rotates
        "kolibri1 null window rotates everywhere",
        {"model_type": "kolibri1", "num_hidden_layers": 10, "sliding_window": None},
        {"position_encoding": "rope", "nope_layers": None},
    ),
    (
        # EXAONE-4 without the key keeps the class window (4096): full layers stay NoPE
        "exaone4 class default window",
        {"model_type": "exaone4", "num_hidden_layers": 8},
        {"position_encoding": "rope+nope", "nope_layers": [3, 7]},
    ),
    (
        # Flint: full attention on the first two layers, every fourth from index 1, the last
        "flint default layout",
        {"model_type": "flint", "num_hidden_layers": 10},
        {"position_encoding": "rope+nope", "nope_layers": [0, 1, 5, 9]},
    ),
    (
        "cohere2 pattern is cited",
        {"model_type": "cohere2", "num_hidden_layers": 6, "sliding_window_pattern": 3},
        {"nope_layers": [2, 5], "evidence": {"model_type": "cohere2", "sliding_window_pattern": 3}},
    ),
    (
        # Beam: full-attention layers have a null rope block, so exactly those layers are NoPE
        "beam null block names its layers",
        {
            "model_type": "beam",
            "layer_types": ["sliding_attention", "full_attention"] * 2,
            "rope_parameters": {
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                "full_attention": None,
            },
        },
        {"position_encoding": "rope+nope", "nope_layers": [1, 3]},
    ),
    (
        # Dots-3 global layers are `indexed_attention` (theta 8e7); sliding ones use 5e4
        "dots3 global layer type",
        {"model_type": "dots3_note_text"},
        {"rope_theta": 80000000.0, "rope_theta_local": 50000.0},
    ),
    (
        "smollm3 interval from the config",
        {"model_type": "smollm3", "num_hidden_layers": 6, "no_rope_layer_interval": 3},
        {"nope_layers": [2, 5], "source_of_truth": "config"},
    ),
    (
        "deepseek v3 with use_mla true interleaves",
        {"model_type": "deepseek_v3", "use_mla": True, "qk_rope_head_dim": 64},
        {"pairing": "interleaved", "rotary_dim": 64},
    ),
]


@pytest.mark.parametrize(("name", "config", "expected"), SYNTHETIC, ids=[c[0] for c in SYNTHETIC])
def test_synthetic_regression(name: str, config: dict[str, Any], expected: dict[str, Any]) -> None:
    got = tag_config(json.loads(json.dumps(config))).to_dict()
    wrong = {k: (v, got[k]) for k, v in expected.items() if got[k] != v}
    assert not wrong, f"{name}: field -> (expected, got): {wrong}"


def _stringify_numbers(node: Any) -> Any:
    """Every number outside lists written as a string, the way some hand-edited configs do."""
    if isinstance(node, dict):
        return {k: _stringify_numbers(v) for k, v in node.items()}
    if isinstance(node, int | float) and not isinstance(node, bool):
        return str(node)
    return node


def _resolve(config: Any, path: str) -> Any:
    node = config
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"evidence path {path!r} not in config"
        node = node[part]
    return node


def test_evidence_quotes_string_numbers_as_written() -> None:
    """Evidence carries the config's own value even when the tagger had to parse it."""
    from tests.conftest import corpus_configs

    checked = 0
    for repo_id, path in corpus_configs():
        config = _stringify_numbers(json.loads(path.read_text(encoding="utf-8")))
        result = tag_config(config)
        for key, value in result.evidence.items():
            assert _resolve(config, key) == value, f"{repo_id}: evidence {key} = {value!r}"
            checked += 1
    assert checked > 1000
