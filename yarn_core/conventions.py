"""How each major runtime turns the same declared rope parameters into numbers.

Only behaviour read in each runtime's source is modelled, and the differential tests hold it to
that source (tests/test_runtime_*.py, docs/verifier.md names the upstream files). YaRN per
runtime is in `yarn_core.yarn_runtimes`, vLLM's and SGLang's own rules in `runtime_vllm` and
`runtime_sglang`. No torch here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from yarn_core.params import RopeParams
from yarn_core.resolved import Resolved, original_or_max
from yarn_core.scaling import (
    DEFAULT_BETA_FAST,
    DEFAULT_BETA_SLOW,
    longrope_attention_factor,
    mla_softmax_multiplier,
)
from yarn_core.yarn_runtimes import resolve_yarn

CONVENTIONS = (
    "transformers",
    "transformers-4.50",
    "transformers-4.55",
    "vllm",
    "sglang",
    "llama.cpp",
    "deepseek",
)


# Architectures whose attention code multiplies the softmax scale by m(s, mscale_all_dim)^2, as
# DeepSeek's multi-head latent attention does (DeepSeek-V2 `modeling_deepseek.py`, vLLM
# `deepseek_v2.py`, SGLang `compute_mla_mscale_scaling`).
MLA_SOFTMAX_MODEL_TYPES = frozenset(
    {
        "deepseek_v2",
        "deepseek_v3",
        "deepseek_v32",
        "kimi_k2",
        "kimi_k25",
        "kimi_vl",
        "mistral4",
        "sarvam_mla",
        "bailing_moe",
        "bailing_hybrid",
        "longcat_flash",
        "glm4_moe_lite",
    }
)


class UnknownConvention(ValueError):
    """The convention name is not one of CONVENTIONS."""


class UnsupportedRope(ValueError):
    """The parameters name a rope type or values this core cannot compute (message says why)."""


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise UnknownConvention(
            f"unknown convention {convention!r}; choose one of: {', '.join(CONVENTIONS)}"
        )
    return convention


def resolve(
    params: RopeParams,
    convention: str = "transformers",
    *,
    model_type: str | None = None,
    rope_block: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Resolved:
    """The numbers `convention` would use for `params` (see the module docstring).

    `config` (the whole config.json) lets llama.cpp's served context follow its converter's
    per-architecture length key (`yarn_core.gguf_keys.context_length`).

    `model_type` and `rope_block` (the config's rope block exactly as written, `{}` when it has
    none) only refine `served_context`; without them it is derived from `params` alone.

    Raises:
        UnknownConvention: `convention` is not in CONVENTIONS.
        UnsupportedRope: the parameters give no finite, positive magnitude.
    """
    check_convention(convention)
    try:
        res = _resolve(params, convention)
        served = served_context(params, convention, model_type=model_type, rope_block=rope_block)
    except (ArithmeticError, ValueError) as exc:
        raise UnsupportedRope(f"cannot resolve {params.rope_type} parameters: {exc}") from exc
    res = replace(res, served_context=served, served_context_key=_declared_key(params, served))
    if convention == "llama.cpp":
        res = _llamacpp_architecture(params, res, model_type, config)
    if convention == "sglang":
        from yarn_core.runtime_sglang import sglang_updates

        try:
            changes, more = sglang_updates(
                params,
                served_context=res.served_context,
                applies_scaling=res.applies_scaling,
                factor=res.factor,
                model_type=model_type,
                config=config,
            )
        except ValueError as exc:
            raise UnsupportedRope(f"SGLang cannot serve this config: {exc}") from exc
        res = replace(res, **changes, notes=(*res.notes, *more))
    if rope_block is not None and convention in ("sglang", "llama.cpp"):
        res = _architecture_magnitude(params, res, rope_block)
    res = _architecture_softmax(params, res, model_type)
    if convention == "vllm":
        from yarn_core.runtime_vllm import vllm_architecture

        mla = model_type in MLA_SOFTMAX_MODEL_TYPES
        res = vllm_architecture(params, res, model_type, config, mla=mla)
    for name in ("factor", "attention_scaling", "softmax_multiplier"):
        value = getattr(res, name)
        if not (math.isfinite(value) and value > 0):
            raise UnsupportedRope(f"{params.rope_type}: {name} {value!r} is not a positive number")
    return res


def _resolve(params: RopeParams, convention: str) -> Resolved:
    base = Resolved(
        convention=convention,
        applies_scaling=params.rope_type != "default",
        factor=(
            float(params.factor)
            if params.factor is not None and params.rope_type != "default"
            else 1.0
        ),
        original_context=params.original_max_position_embeddings,
        served_context=params.max_position_embeddings,
        attention_scaling=1.0,
        softmax_multiplier=1.0,
        truncate=True,
    )
    if params.rope_type == "yarn":
        return resolve_yarn(params, base)
    if params.rope_type == "longrope":
        return _resolve_longrope(params, base)
    if convention == "llama.cpp" and params.rope_type == "dynamic":
        # Section 3.e: GGUF `rope.scaling.type` is none/linear/yarn/longrope (llama3 as rope_freqs).
        note = "GGUF has no dynamic scaling type; llama.cpp runs plain RoPE"
        return replace(base, applies_scaling=False, factor=1.0, notes=(note,))
    if convention != "transformers" and params.rope_type == "ntk":
        note = (
            "static NTK alpha: transformers' HunYuan formula b * alpha^(D/(D-2)) assumed; "
            "this runtime's handling is not documented in the research notes"
        )
        return replace(base, notes=(note,))
    if convention == "vllm" and params.rope_type == "dynamic":
        # Section 2.3: vLLM computes one static base; 0.33 uses alpha = s*L_mp/max_trained - (s-1),
        # which is 1 (no change) unless max_trained_positions is given.
        note = "vLLM has no per-sequence dynamic NTK; without max_trained_positions alpha = 1"
        return replace(base, applies_scaling=False, factor=1.0, notes=(note,))
    if params.rope_type == "dynamic":
        note = "dynamic NTK: factor is a slope; frequencies depend on the sequence length (2.3)"
        return replace(base, notes=(note,))
    return base


def _writes(block: Mapping[str, Any], key: str) -> bool:
    """Whether the rope block as written (flat, or nested per layer type) holds `key`."""
    nested = (v for v in block.values() if isinstance(v, Mapping))
    return key in block or any(key in v for v in nested)


def _declared_key(params: RopeParams, served: int | None) -> str | None:
    if served is None:
        return None
    if served == params.max_position_embeddings:
        return "max_position_embeddings"
    return "max_position_embeddings x factor"


# HF model types whose llama.cpp loader reads the GGUF yarn_beta_fast / yarn_beta_slow keys
# (src/models/mistral3.cpp and grok.cpp `load_arch_hparams`); every other loader ramps with
# the defaults 32 / 1 whatever the converter wrote.
LLAMACPP_BETA_MODEL_TYPES = frozenset({"mistral3", "ministral3", "grok-1", "grok"})
LLAMACPP_DEFAULT_BASE = 10000.0  # src/llama-model.cpp load_hparams: rope.freq_base absent


def _llamacpp_architecture(
    params: RopeParams,
    res: Resolved,
    model_type: str | None,
    config: Mapping[str, Any] | None,
) -> Resolved:
    """What llama.cpp's converter and per-architecture loader change (`convert_hf_to_gguf.py`,
    `src/llama-model.cpp`): the GGUF context_length key per architecture, and YaRN betas most
    loaders never read."""
    from yarn_core.gguf_keys import (
        NO_FREQ_BASE_ARCHS,
        context_length,
        converter_view,
        dropped_scaling,
        gguf_arch,
    )

    notes = list(res.notes)
    arch = gguf_arch(model_type)
    if arch in NO_FREQ_BASE_ARCHS and params.theta != LLAMACPP_DEFAULT_BASE:
        notes.append(
            f"llama.cpp's converter writes no rope.freq_base for {arch}: llama.cpp runs base "
            f"{LLAMACPP_DEFAULT_BASE:g}, not {params.theta:g}"
        )
        res = replace(res, theta=LLAMACPP_DEFAULT_BASE)
    if config is not None and res.applies_scaling and (why := dropped_scaling(config, model_type)):
        notes.append(f"llama.cpp runs this unscaled: {why}")
        res = replace(res, applies_scaling=False, factor=1.0, attention_scaling=1.0)
    # Without the config only the rules that need no other key apply (Falcon's fixed 2048,
    # HunYuan's fixed 262144); the others then keep max_position_embeddings.
    view = (
        converter_view(config)
        if config is not None
        else {"max_position_embeddings": params.max_position_embeddings}
    )
    if view.get("max_position_embeddings") is not None or config is not None:
        served, key = context_length(view, model_type, params)
        if served is not None:
            if served != res.served_context:
                notes.append(f"GGUF context_length {served} from {key}")
            res = replace(res, served_context=served, served_context_key=key)
    if params.rope_type == "yarn" and model_type not in LLAMACPP_BETA_MODEL_TYPES:
        fast, slow = DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW
        if (res.beta_fast, res.beta_slow) != (fast, slow):
            notes.append(
                f"llama.cpp does not read yarn_beta_fast/slow ({res.beta_fast:g}/{res.beta_slow:g}"
                f") for this architecture: it ramps with {fast:g}/{slow:g}"
            )
        res = replace(res, beta_fast=fast, beta_slow=slow)
    return replace(res, notes=tuple(notes))


def _architecture_magnitude(
    params: RopeParams, res: Resolved, rope_block: Mapping[str, Any]
) -> Resolved:
    """An `attention_factor` the config does not write came from the architecture's code (the
    tagger's model-type defaults, e.g. DeepSeek-V4). SGLang ignores and llama.cpp overwrites the
    *key*; the architecture's own magnitude is assumed in every runtime, as the MLA softmax
    correction is."""
    if params.rope_type != "yarn" or params.attention_factor is None:
        return res
    if _writes(rope_block, "attention_factor"):
        return res
    notes = [n for n in res.notes if "attention_factor" not in n]
    notes.append(
        f"attention_factor {params.attention_factor:g} comes from the architecture code, "
        "not the config; assumed here as in transformers"
    )
    return replace(res, attention_scaling=float(params.attention_factor), notes=tuple(notes))


def _architecture_softmax(params: RopeParams, res: Resolved, model_type: str | None) -> Resolved:
    """MLA architectures multiply the softmax scale by m(s, mscale_all_dim)^2 in their attention
    code (every runtime but the DeepSeek reference, whose convention already carries it)."""
    if res.convention == "deepseek" or not res.applies_scaling or not params.mscale_all_dim:
        return res
    if model_type not in MLA_SOFTMAX_MODEL_TYPES:
        return res
    multiplier = res.softmax_multiplier * mla_softmax_multiplier(res.factor, params.mscale_all_dim)
    return replace(res, softmax_multiplier=multiplier)


def logit_multiplier(res: Resolved) -> float:
    """What attention logits are multiplied by: the cos/sin factor squared times the softmax one."""
    return res.attention_scaling * res.attention_scaling * res.softmax_multiplier


def served_context(
    params: RopeParams,
    convention: str,
    *,
    model_type: str | None = None,
    rope_block: Mapping[str, Any] | None = None,
) -> int | None:
    """The longest sequence `convention` serves by default (docs/verifier.md, "The runtime matrix").

    transformers, llama.cpp and the DeepSeek reference serve `max_position_embeddings`.
    vLLM multiplies it by `factor` for every type but longrope/su and llama3 (YaRN too before
    0.33, PR #56446) and skips model types containing "gemma3", whose length is already scaled.
    SGLang: `yarn_core.runtime_sglang.block_context` (the block's `factor` unless it writes
    `original_max_position_embeddings` or is llama3; a nested per-layer block has none).
    """
    declared = params.max_position_embeddings
    if declared is None:
        return None
    if convention == "vllm":
        if params.rope_type in ("yarn", "longrope", "llama3") or "gemma3" in (model_type or ""):
            return declared
        return _times(declared, params.factor)
    if convention == "sglang":
        from yarn_core.runtime_sglang import block_context

        return block_context(params, model_type, rope_block)
    return declared


def _times(declared: int, factor: Any) -> int:
    """`declared` scaled by a written factor (absent: 1), truncated to an int as runtimes do."""
    if factor is None:
        return declared
    if isinstance(factor, bool) or not isinstance(factor, int | float):
        raise ValueError(f"factor {factor!r} is not a number")
    return int(declared * factor)


def _resolve_longrope(params: RopeParams, base: Resolved) -> Resolved:
    # Section 4.2: f = factor, else max_pos / L; magnitude explicit or sqrt(1 + ln f / ln L);
    # long factors when the length exceeds L. vLLM uses the long cache for every position when
    # max_model_len > L.
    original = original_or_max(params)
    factor = params.factor
    if factor is None:
        factor = (params.max_position_embeddings or 1) / (original or 1)
    if params.attention_factor is not None:
        magnitude = float(params.attention_factor)
    elif original:
        magnitude = longrope_attention_factor(float(factor), original)
    else:
        magnitude = 1.0
    long_always: bool | None = None
    notes: list[str] = []
    if base.convention == "vllm":
        long_always = bool(original and (params.max_position_embeddings or 0) > original)
        if long_always:
            notes.append("vLLM uses the long factors for every position when max_model_len > L")
    return replace(
        base,
        factor=float(factor),
        original_context=original,
        attention_scaling=magnitude,
        longrope_long=long_always,
        notes=tuple(notes),
    )
