"""Hand-written configs for tags and traps the corpus lacks; expectations from the semantics."""

from __future__ import annotations

from typing import Any

import pytest

from scrapers.tagger import tag_config

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "phi3 legacy su with top-level original",
        {
            "model_type": "phi3",
            "hidden_size": 3072,
            "num_attention_heads": 32,
            "max_position_embeddings": 131072,
            "original_max_position_embeddings": 4096,
            "rope_scaling": {"type": "su", "short_factor": [1.0] * 48, "long_factor": [2.0] * 48},
        },
        {"position_encoding": "rope-longrope", "original_context": 4096, "rotary_dim": 96},
    ),
    (
        "phi3 legacy yarn means longrope",
        {
            "model_type": "phi3",
            "hidden_size": 3072,
            "num_attention_heads": 32,
            "max_position_embeddings": 131072,
            "rope_scaling": {"type": "yarn", "short_factor": [1.0] * 48, "long_factor": [1.0] * 48},
        },
        {"position_encoding": "rope-longrope"},
    ),
    (
        "rope_type wins over type",
        {
            "model_type": "llama",
            "rope_scaling": {"type": "dynamic", "rope_type": "linear", "factor": 4},
        },
        {"position_encoding": "rope-linear", "scaling_factor": 4.0},
    ),
    (
        "linear factor 1 is no scaling",
        {"model_type": "llama", "rope_scaling": {"type": "linear", "factor": 1.0}},
        {"position_encoding": "rope", "scaling_type": None},
    ),
    (
        "yarn with MPE left at the original",
        {
            "model_type": "qwen2",
            "max_position_embeddings": 32768,
            "rope_theta": 1e6,
            "rope_scaling": {
                "type": "yarn",
                "factor": 4.0,
                "original_max_position_embeddings": 32768,
            },
        },
        {"position_encoding": "rope-yarn", "effective_context": 131072, "declared_context": 32768},
    ),
    (
        "gpt-oss without a block uses the class default yarn",
        {"model_type": "gpt_oss", "head_dim": 64, "rope_scaling": None},
        {"position_encoding": "rope-yarn", "scaling_factor": 32.0, "rope_theta": 150000.0},
    ),
    (
        "BERT relative_key is Shaw relative",
        {
            "model_type": "bert",
            "position_embedding_type": "relative_key",
            "max_position_embeddings": 512,
        },
        {"position_encoding": "relative-shaw"},
    ),
    (
        "Jina BERT ALiBi",
        {"model_type": "bert", "auto_map": {}, "position_embedding_type": "alibi"},
        {"position_encoding": "alibi"},
    ),
    (
        "mrope with NoPE layers",
        {
            "model_type": "qwen2_vl_text",
            "num_hidden_layers": 4,
            "no_rope_layers": [1, 1, 1, 0],
            "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
        },
        {"position_encoding": "rope-mrope+nope", "nope_layers": [3]},
    ),
    (
        "per-layer null is NoPE",
        {
            "model_type": "beam",
            "rope_parameters": {
                "sliding_attention": {"rope_theta": 10000.0},
                "full_attention": None,
            },
        },
        {"position_encoding": "rope+nope", "rope_theta": 10000.0},
    ),
    (
        "MPT with alibi switched off and rope on",
        {"model_type": "mpt", "attn_config": {"alibi": False, "rope": True}},
        {"position_encoding": "rope"},
    ),
    (
        "falcon alibi flag",
        {"model_type": "falcon", "alibi": True},
        {"position_encoding": "alibi"},
    ),
    (
        "olmo hybrid null rope parameters",
        {"model_type": "olmo_hybrid", "rope_parameters": None},
        {"position_encoding": "nope-hybrid"},
    ),
    (
        "zamba2 with memory rope",
        {
            "model_type": "zamba2",
            "use_mem_rope": True,
            "hidden_size": 2560,
            "num_attention_heads": 32,
        },
        {"position_encoding": "rope"},
    ),
    (
        "dbrx theta inside attn_config",
        {"model_type": "dbrx", "attn_config": {"rope_theta": 500000}, "max_seq_len": 32768},
        {"position_encoding": "rope", "rope_theta": 500000.0, "declared_context": 32768},
    ),
    (
        "internlm-1 nested rotary dynamic",
        {"model_type": "internlm", "rotary": {"base": 10000, "type": "dynamic"}},
        {"position_encoding": "rope-dynamic"},
    ),
    (
        "deberta-v2 relative attention",
        {"model_type": "deberta-v2", "relative_attention": True, "position_buckets": 256},
        {"position_encoding": "relative-disentangled"},
    ),
    (
        "whisper has two stacks",
        {"model_type": "whisper", "max_source_positions": 1500, "max_target_positions": 448},
        {
            "position_encoding": "learned-absolute",
            "stacks": {"encoder": "sinusoidal", "decoder": "learned-absolute"},
        },
    ),
    (
        "exaone4 without a window rotates every layer",
        {"model_type": "exaone4", "sliding_window": None, "num_hidden_layers": 4},
        {"position_encoding": "rope"},
    ),
    (
        "gemma3 legacy local theta and global-only scaling",
        {
            "model_type": "gemma3_text",
            "rope_theta": 1e6,
            "rope_local_base_freq": 1e4,
            "head_dim": 256,
            "rope_scaling": {"rope_type": "linear", "factor": 8.0},
        },
        {"position_encoding": "rope-linear", "rope_theta": 1e6, "rope_theta_local": 1e4},
    ),
]


TWO_STACKS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "t5gemma: both stacks rotate",
        {
            "model_type": "t5gemma",
            "encoder": {"rope_theta": 10000.0, "head_dim": 256, "sliding_window": 4096},
            "decoder": {"rope_theta": 10000.0, "head_dim": 256, "sliding_window": 4096},
        },
        {"position_encoding": "rope", "stacks": {"encoder": "rope", "decoder": "rope"}},
    ),
    (
        "vision-encoder-decoder: ViT patches and a GPT-2 decoder",
        {
            "model_type": "vision-encoder-decoder",
            "encoder": {"model_type": "vit", "image_size": 384},
            "decoder": {"model_type": "gpt2", "n_positions": 1024},
        },
        {
            "position_encoding": "learned-absolute",
            "declared_context": 1024,
            "stacks": {"encoder": "learned-absolute", "decoder": "learned-absolute"},
        },
    ),
    (
        "speech encoder-decoder: wav2vec2 conv positions and a BART decoder",
        {
            "model_type": "speech-encoder-decoder",
            "encoder": {"model_type": "wav2vec2", "num_conv_pos_embeddings": 128},
            "decoder": {"model_type": "bart", "max_position_embeddings": 1024},
        },
        {
            "position_encoding": "learned-absolute",
            "stacks": {"encoder": "conv-position", "decoder": "learned-absolute"},
        },
    ),
    (
        "LED declares encoder and decoder lengths separately",
        {
            "model_type": "led",
            "max_encoder_position_embeddings": 16384,
            "max_decoder_position_embeddings": 1024,
        },
        {"position_encoding": "learned-absolute", "declared_context": 1024},
    ),
]
CASES = CASES + TWO_STACKS


@pytest.mark.parametrize(("name", "config", "expected"), CASES, ids=[c[0] for c in CASES])
def test_synthetic(name: str, config: dict[str, Any], expected: dict[str, Any]) -> None:
    got = tag_config(config).to_dict()
    wrong = {k: (v, got[k]) for k, v in expected.items() if got[k] != v}
    assert not wrong, f"{name}: {wrong}"


def test_gemma3_sliding_layers_keep_their_own_theta_and_no_scaling() -> None:
    config = next(c for name, c, _ in CASES if name.startswith("gemma3 legacy"))
    result = tag_config(config)
    sliding = result.rope["sliding_attention"]
    assert sliding is not None and sliding.rope_type == "default" and sliding.factor is None
