"""Tagger coverage of config families the corpus lacks, each a labelled config written here.

State-space models without a model_type (by architecture name), remote code whose encoding its
documented code fixes (Phi-3-small's `rope_embedding_base`), YaRN on one layer type only, a
language model nested under `decoder`, Meta's original params.json (`use_scaled_rope`), and
time-series encoders that name their table's kind.
"""

from __future__ import annotations

from typing import Any

import pytest

from scrapers.tagger import tag_config

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "mamba by architecture name",
        {"architectures": ["MambaForCausalLM"], "d_model": 2560, "n_layer": 64, "ssm_cfg": {}},
        {"position_encoding": "none"},
    ),
    (
        "mamba2 model type",
        {"model_type": "mamba2", "hidden_size": 2048, "num_hidden_layers": 48},
        {"position_encoding": "none"},
    ),
    (
        "phi3small remote code",
        {
            "model_type": "phi3small",
            "auto_map": {"AutoConfig": "configuration_phi3_small.Phi3SmallConfig"},
            "hidden_size": 4096,
            "num_attention_heads": 32,
            "rope_embedding_base": 1000000,
            "max_position_embeddings": 8192,
        },
        {"position_encoding": "rope", "rope_theta": 1000000.0, "rotary_dim": 128},
    ),
    (
        "yarn on full attention only",
        {
            "model_type": "gemma3_text",
            "hidden_size": 2560,
            "num_attention_heads": 8,
            "head_dim": 256,
            "max_position_embeddings": 131072,
            "rope_parameters": {
                "full_attention": {
                    "rope_type": "yarn",
                    "factor": 8.0,
                    "original_max_position_embeddings": 16384,
                    "rope_theta": 1000000,
                },
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000},
            },
        },
        {"position_encoding": "rope-yarn", "scaling_type": "yarn", "scaling_factor": 8.0},
    ),
    (
        "language model under decoder",
        {
            "model_type": "somewrapper",
            "decoder": {
                "model_type": "llama",
                "hidden_size": 2048,
                "num_attention_heads": 16,
                "rope_theta": 10000,
                "max_position_embeddings": 4096,
                "rope_scaling": {"rope_type": "linear", "factor": 2},
            },
        },
        {"position_encoding": "rope-linear", "scaling_factor": 2.0, "declared_context": 4096},
    ),
    (
        "Meta original params.json",
        {
            "dim": 4096,
            "n_layers": 32,
            "n_heads": 32,
            "n_kv_heads": 8,
            "vocab_size": 128256,
            "rope_theta": 500000.0,
            "use_scaled_rope": True,
        },
        {
            "position_encoding": "rope-llama3",
            "scaling_factor": 8.0,
            "original_context": 8192,
            "pairing": "interleaved",
            "rotary_dim": 128,
        },
    ),
    (
        "PatchTST sin/cos table",
        {"model_type": "patchtst", "d_model": 128, "positional_encoding_type": "sincos"},
        {"position_encoding": "sinusoidal"},
    ),
    (
        "unknown time-series encoder with a learned table",
        {"model_type": "new_ts", "d_model": 128, "positional_encoding_type": "random"},
        {"position_encoding": "learned-absolute"},
    ),
]


@pytest.mark.parametrize(("name", "config", "expected"), CASES, ids=[c[0] for c in CASES])
def test_labelled_config(name: str, config: dict[str, Any], expected: dict[str, Any]) -> None:
    result = tag_config(config).to_dict()
    got = {key: result[key] for key in expected}
    assert got == expected, (name, result.get("reason"), result.get("warnings"))
