"""The rope metadata llama.cpp's converter writes into a GGUF, from ropedex's resolved parameters.

Facts from `convert_hf_to_gguf.py` and its `conversion/` modules as vendored in
llama-cpp-python 0.3.36 (`TextModel.set_gguf_parameters` in `conversion/base.py` plus the
per-architecture overrides named below); checked key by key against the real converter by
`tests/test_runtime_llamacpp.py`. Data and arithmetic only; imports nothing outside yarn_core.

Keys are `{arch}.` + one of ROPE_KEYS. Not modelled: `rope.dimension_count` (each model class
decides whether to write it), mRoPE sections and per-layer arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yarn_core.params import RopeParams
from yarn_core.scaling import longrope_attention_factor

ROPE_KEYS = (
    "context_length",
    "rope.freq_base",
    "rope.scaling.type",
    "rope.scaling.factor",
    "rope.scaling.original_context_length",
    "rope.scaling.attn_factor",
    "rope.scaling.yarn_attn_factor",
    "rope.scaling.yarn_beta_fast",
    "rope.scaling.yarn_beta_slow",
    "rope.scaling.yarn_log_multiplier",
)

# HF model_type -> GGUF `general.architecture` (the converter's model class for that family).
GGUF_ARCH: dict[str, str] = {
    "RefinedWeb": "falcon",
    "RefinedWebModel": "falcon",
    "falcon": "falcon",
    "afmoe": "afmoe",
    "apertus": "apertus",
    "arcee": "arcee",
    "baichuan": "baichuan",
    "bamba": "granitehybrid",
    "bitnet": "bitnet",
    "chatglm": "chatglm",
    "glm": "chatglm",
    "cohere": "command-r",
    "cohere2": "cohere2",
    "deepseek_v2": "deepseek2",
    "deepseek_v3": "deepseek2",
    "kimi_k2": "deepseek2",
    "kimi_k25": "deepseek2",
    "deepseek_v32": "deepseek32",
    "deepseek_v4": "deepseek4",
    "dots1": "dots1",
    "exaone4": "exaone4",
    "gemma": "gemma",
    "gemma2": "gemma2",
    "gemma3": "gemma3",
    "gemma3_text": "gemma3",
    "gemma4": "gemma4",
    "gemma4_text": "gemma4",
    "gemma4_assistant": "gemma4-assistant",
    "glm4": "glm4",
    "glm4v": "glm4",
    "glm_ocr": "glm4",
    "glm4_moe": "glm4moe",
    "glm4v_moe": "glm4moe",
    "glm_moe_dsa": "glm-dsa",
    "gpt_oss": "gpt-oss",
    "granite": "granite",
    "granitemoe": "granitemoe",
    "granitemoehybrid": "granitehybrid",
    "hunyuan_v1_dense": "hunyuan-dense",
    "hy_v3": "hy_v3",
    "jais2": "jais2",
    "lfm2": "lfm2",
    "lfm2_vl": "lfm2",
    "llama": "llama",
    "mistral": "llama",
    "mistral3": "mistral3",
    "ministral3": "mistral3",
    "mistral4": "mistral4",
    "mixtral": "llama",
    "llama4": "llama4",
    "llama4_text": "llama4",
    "minimax_m2": "minimax-m2",
    "modernbert": "modern-bert",
    "nemotron": "nemotron",
    "nemotron-nas": "deci",
    "olmo": "olmo",
    "olmo2": "olmo2",
    "paddleocr_vl": "paddleocr",
    "phi3": "phi3",
    "phimoe": "phimoe",
    "qwen": "qwen",
    "qwen2": "qwen2",
    "qwen2_5_vl": "qwen2vl",
    "qwen3": "qwen3",
    "qwen3_moe": "qwen3moe",
    "qwen3_5": "qwen35",
    "qwen3_5_text": "qwen35",
    "qwen3_5_moe": "qwen35moe",
    "qwen3_5_moe_text": "qwen35moe",
    "qwen3_vl": "qwen3vl",
    "qwen3_vl_moe": "qwen3vlmoe",
    "smollm3": "smollm3",
    "stablelm": "stablelm",
    "starcoder2": "starcoder2",
}

# The converter's generic length keys, first present wins (`TextModel.set_gguf_parameters`).
GENERIC_CONTEXT_KEYS = (
    "max_position_embeddings",
    "n_ctx",
    "n_positions",
    "max_length",
    "max_sequence_length",
    "model_max_length",
)
FALCON_CONTEXT = 2048  # conversion/falcon.py: "not in config.json"
HUNYUAN_DYNAMIC_CONTEXT = 256 * 1024  # conversion/hunyuan.py, dynamic alpha
HUNYUAN_DEFAULT_ALPHA = 1000.0  # conversion/hunyuan.py HunYuanModel (dense: 50 in the MoE class)
# Architectures whose converter writes no `rope.freq_base` (llama.cpp then runs 10000):
# conversion/stablelm.py (stable-code's 1e6 is lost), gemma.py for Gemma 1 and 2.
NO_FREQ_BASE_ARCHS = frozenset({"stablelm", "gemma", "gemma2"})
# Architectures whose converter writes `rope.freq_base` only when the config gives a theta
# (falcon.py, granite.py for Bamba); llama.cpp then runs 10000.
THETA_IF_WRITTEN_ARCHS = frozenset({"falcon", "granitehybrid"})
# Architectures whose converter writes `rope.scaling.type = none` for an unscaled config.
SCALING_NONE_ARCHS = frozenset({"command-r", "cohere2", "modern-bert", "nemotron"})
# conversion/phi.py: Phi-3 writes LongRoPE as original context + attn_factor, no type.
PHI3_ARCHS = frozenset({"phi3"})
# conversion/bitnet.py: linear scaling with factor 1.0 always.
LINEAR_ONE_ARCHS = frozenset({"bitnet"})
# Architectures whose converter writes yarn_log_multiplier = 0.1 * mscale_all_dim
# (conversion/deepseek.py, the DeepSeek-V2 class used by V2/V3/R1/Kimi-K2, and V3.2).
LOG_MUL_ARCHS = frozenset({"deepseek2", "deepseek32", "mistral4"})
THETA_KEYS = ("rope_theta", "rotary_emb_base")


def gguf_arch(model_type: str | None) -> str | None:
    """The GGUF architecture llama.cpp's converter writes for an HF model_type (None: unknown)."""
    return GGUF_ARCH.get(model_type or "")


def context_length(
    config: Mapping[str, Any], model_type: str | None, params: RopeParams | None = None
) -> tuple[int | None, str | None]:
    """(`{arch}.context_length`, the config key it came from) as the converter writes it.

    `config` is the config as the converter sees it (`text_config` merged over the top level).
    The key is a literal such as "fixed: conversion/falcon.py" where no config key gave it.
    """
    arch = gguf_arch(model_type)
    if arch == "falcon":
        return FALCON_CONTEXT, "fixed 2048 (conversion/falcon.py)"
    if arch == "chatglm":
        # conversion/chatglm.py: seq_length, else the hidden size (4096 for ChatGLM/GLM-4 9B).
        if _int(config.get("seq_length")) is not None:
            return _int(config.get("seq_length")), "seq_length"
        return _int(config.get("hidden_size")), "hidden_size (no seq_length; conversion/chatglm.py)"
    if arch == "command-r":
        # conversion/command_r.py: model_max_length overrides max_position_embeddings.
        for key in ("model_max_length", "max_position_embeddings"):
            if _int(config.get(key)) is not None:
                return _int(config.get(key)), key
    if arch == "hunyuan-dense" and params is not None and params.rope_type in ("dynamic", "ntk"):
        return HUNYUAN_DYNAMIC_CONTEXT, "fixed 262144 for dynamic alpha (conversion/hunyuan.py)"
    for key in GENERIC_CONTEXT_KEYS:
        if _int(config.get(key)) is not None:
            return _int(config.get(key)), key
    return None, None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def converter_view(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as the converter reads it: a `text_config` merged over the top level."""
    text = config.get("text_config")
    return {**config, **text} if isinstance(text, Mapping) else dict(config)


def gguf_rope_keys(
    params: RopeParams,
    *,
    model_type: str | None,
    config: Mapping[str, Any] | None = None,
    rope_block: Mapping[str, Any] | None = None,
    arch: str | None = None,
) -> dict[str, Any]:
    """The rope-related GGUF metadata llama.cpp's converter writes, `{arch}.key -> value`.

    `params` are ropedex's resolved parameters of the layer type carrying the long context;
    `config` the whole config.json (for the length key; without it `max_position_embeddings`
    from `params`); `rope_block` the rope block as written (which optional YaRN keys exist).
    Returns {} when the architecture is unknown and `arch` is not given.
    """
    arch = arch or gguf_arch(model_type)
    if arch is None:
        return {}
    view = converter_view(config) if config is not None else {}
    if config is not None:
        ctx, _key = context_length(view, model_type, params)
    else:
        ctx = params.max_position_embeddings
    block = dict(rope_block or {})
    out: dict[str, Any] = {}
    if ctx is not None:
        out["context_length"] = ctx
    kind = params.rope_type
    if config is not None and dropped_scaling(config, model_type):
        kind = "default"
    if arch == "hunyuan-dense" and kind in ("dynamic", "ntk"):
        # conversion/hunyuan.py: the alpha is baked into the base; scaling type none, factor 1.
        alpha = params.alpha if params.alpha is not None else HUNYUAN_DEFAULT_ALPHA
        dim = params.head_dim
        out["rope.freq_base"] = params.theta * alpha ** (dim / (dim - 2))
        out["rope.scaling.type"] = "none"
        out["rope.scaling.factor"] = 1
        out["rope.scaling.original_context_length"] = HUNYUAN_DYNAMIC_CONTEXT
        return out
    if kind == "linear" and params.factor is not None:
        out["rope.scaling.type"] = "linear"
        out["rope.scaling.factor"] = params.factor
    elif kind == "yarn" and params.factor is not None:
        out["rope.scaling.type"] = "yarn"
        out["rope.scaling.factor"] = params.factor
        if params.original_max_position_embeddings is not None:
            out["rope.scaling.original_context_length"] = params.original_max_position_embeddings
        attn = block.get("attention_factor", block.get("attn_factor"))
        if attn is not None:
            out["rope.scaling.yarn_attn_factor"] = attn
        for key in ("beta_fast", "beta_slow"):
            if block.get(key) is not None:
                out[f"rope.scaling.yarn_{key}"] = block[key]
        if arch in LOG_MUL_ARCHS and params.mscale_all_dim is not None:
            out["rope.scaling.yarn_log_multiplier"] = 0.1 * params.mscale_all_dim
        elif arch == "mistral3" and view.get("model_type") == "ministral3":
            # conversion/mistral3.py Ministral3Model: mscale_all_dim as written (no 0.1).
            out["rope.scaling.yarn_log_multiplier"] = block.get("mscale_all_dim")
    elif kind == "longrope" and arch in PHI3_ARCHS:
        # conversion/phi.py Phi3MiniModel: no scaling type; the original context and the
        # LongRoPE magnitude (from max_position / original) go into their own keys.
        original = params.original_max_position_embeddings
        if original is not None:
            out["rope.scaling.original_context_length"] = original
            scale = (ctx or original) / original
            out["rope.scaling.attn_factor"] = longrope_attention_factor(scale, original)
    elif kind == "longrope":
        out["rope.scaling.type"] = "longrope"
    elif arch in LINEAR_ONE_ARCHS:
        out["rope.scaling.type"] = "linear"
        out["rope.scaling.factor"] = 1.0
    elif arch in SCALING_NONE_ARCHS:
        out["rope.scaling.type"] = "none"
    theta: float | None = params.theta
    if arch in NO_FREQ_BASE_ARCHS:
        theta = None
    elif arch in THETA_IF_WRITTEN_ARCHS and config is not None and not _writes_theta(view):
        theta = None
    elif arch == "deepseek4" and isinstance(view.get("rope_theta"), int | float):
        # conversion/deepseek.py V4: freq_base is the window layers' theta; the compressed
        # layers' (ropedex's primary) goes to attention.compress_rope_freq_base.
        theta = float(view["rope_theta"])
    if theta is not None:
        out["rope.freq_base"] = theta
    return out


def dropped_scaling(config: Mapping[str, Any], model_type: str | None) -> str | None:
    """Why llama.cpp's converter writes no scaling for a config that declares one (None: it
    writes it). DeepSeek-V4 (conversion/deepseek.py): YaRN is copied only from a raw
    `rope_scaling` block; a config writing `rope_parameters` loses it."""
    if gguf_arch(model_type) == "deepseek4" and not isinstance(config.get("rope_scaling"), Mapping):
        return (
            "conversion/deepseek.py copies DeepSeek-V4's YaRN only from a raw rope_scaling "
            "block; this config writes rope_parameters, so the GGUF has no scaling"
        )
    return None


def _writes_theta(view: Mapping[str, Any]) -> bool:
    if any(key in view for key in THETA_KEYS):
        return True
    block = view.get("rope_parameters", view.get("rope_scaling"))
    return isinstance(block, Mapping) and "rope_theta" in block
