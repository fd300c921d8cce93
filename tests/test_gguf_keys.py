"""yarn_core.gguf_keys on hand-written configs (the differential test checks it against the real
converter on the corpus; these pin the per-architecture rules without the download)."""

from __future__ import annotations

from typing import Any

from tests.oracles import ropedex_side
from yarn_core.gguf_keys import context_length, converter_view, gguf_arch, gguf_rope_keys


def _keys(config: dict[str, Any]) -> dict[str, Any]:
    result = ropedex_side.tag(config)
    params = next(p for p in result.rope.values() if p is not None)
    return gguf_rope_keys(
        params, model_type=result.model_type, config=config, rope_block=result.raw_rope or {}
    )


def test_stablelm_writes_no_freq_base() -> None:
    config = {
        "model_type": "stablelm",
        "hidden_size": 2560,
        "num_attention_heads": 32,
        "max_position_embeddings": 16384,
        "partial_rotary_factor": 0.25,
        "rope_theta": 1000000,
    }
    keys = _keys(config)
    assert "rope.freq_base" not in keys
    assert keys["context_length"] == 16384


def test_context_key_per_architecture() -> None:
    assert context_length({"seq_length": 131072, "hidden_size": 4096}, "chatglm") == (
        131072,
        "seq_length",
    )
    ctx, key = context_length({"hidden_size": 4096, "max_position_embeddings": 8192}, "glm")
    assert ctx == 4096 and key is not None and key.startswith("hidden_size")
    both = {"model_max_length": 131072, "max_position_embeddings": 8192}
    assert context_length(both, "cohere") == (131072, "model_max_length")
    assert context_length(both, "llama") == (8192, "max_position_embeddings")
    assert context_length({}, "falcon")[0] == 2048
    assert context_length({"n_positions": 2048}, "gpt2") == (2048, "n_positions")


def test_yarn_keys_and_deepseek_log_multiplier() -> None:
    config = {
        "model_type": "deepseek_v3",
        "hidden_size": 7168,
        "num_attention_heads": 128,
        "qk_rope_head_dim": 64,
        "qk_nope_head_dim": 128,
        "max_position_embeddings": 163840,
        "rope_theta": 10000,
        "rope_scaling": {
            "type": "yarn",
            "factor": 40,
            "original_max_position_embeddings": 4096,
            "beta_fast": 32,
            "beta_slow": 1,
            "mscale": 1.0,
            "mscale_all_dim": 1.0,
        },
    }
    keys = _keys(config)
    assert keys["rope.scaling.type"] == "yarn"
    assert keys["rope.scaling.factor"] == 40
    assert keys["rope.scaling.original_context_length"] == 4096
    assert keys["rope.scaling.yarn_beta_fast"] == 32
    assert abs(keys["rope.scaling.yarn_log_multiplier"] - 0.1) < 1e-12


def test_unknown_architecture_gives_nothing_and_text_config_merges() -> None:
    assert gguf_arch("no-such-model") is None
    view = converter_view(
        {"max_position_embeddings": 1, "text_config": {"max_position_embeddings": 2}}
    )
    assert view["max_position_embeddings"] == 2
