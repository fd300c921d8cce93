"""Consistency checks between a rope block and the rest of the config: C6, C7, C10, C16."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from registry.formatting import fmt_num, fmt_theta, fmt_value
from registry.verify.check import Check, _na, guarded, is_number
from registry.verify.keys import DEFAULT_IGNORES_PARTIAL, block_type
from yarn_core.conventions import MLA_SOFTMAX_MODEL_TYPES
from yarn_core.params import RopeParams
from yarn_core.scaling import (
    dynamic_base,
    mla_softmax_multiplier,
    mscale_ratio,
    yarn_mscale,
)

if TYPE_CHECKING:
    from registry.verify.inputs import VerifyInput


RATIO_TOLERANCE = 1e-6  # relative tolerance of factor == declared / original


def written_original(block: dict[str, Any], inp: VerifyInput) -> Any:
    """The trained context as the config wrote it: in the rope block, else at the top level."""
    value = block.get("original_max_position_embeddings")
    return value if value is not None else inp.extra_keys.get("original_max_position_embeddings")


@guarded("C6-factor-vs-context")
def check_factor_vs_context(block: dict[str, Any], inp: VerifyInput, params: RopeParams) -> Check:
    """C6: factor against declared / original context (consistent, static YaRN, other)."""
    cid = "C6-factor-vs-context"
    if params.rope_type not in ("yarn", "linear", "llama3"):
        return _na(cid, f"no context ratio to check for {params.rope_type!r}")
    declared = params.max_position_embeddings or inp.declared_context
    original = written_original(block, inp)
    factor = params.factor
    if not declared or not is_number(original) or original <= 0 or not is_number(factor):
        return _na(cid, "declared context, written original context or factor unknown")
    ratio = declared / original
    nums = {"factor": factor, "declared": declared, "original": original, "ratio": ratio}
    if params.rope_type == "llama3":
        if ratio <= 1:
            # Section 3.b: transformers warns when original >= max_position_embeddings.
            msg = f"llama3 original {original} >= declared {declared}: the scaling extends nothing"
            return Check(cid, "warn", msg, nums)
        msg = f"llama3 factor {factor:g} vs context ratio {ratio:g}: not required to match"
        return Check(cid, "pass", msg, nums)
    if abs(ratio - factor) <= RATIO_TOLERANCE * factor:
        return Check(cid, "pass", f"factor {factor:g} = {declared} / {original}", nums)
    if ratio == 1 and factor > 1 and params.rope_type == "yarn":
        # Section 6.2 C6 "Qwen static" and 3.c: vLLM before 0.33 served original x factor.
        msg = (
            f"static YaRN: max_position_embeddings left at the original {original}; "
            f"runtimes serve {original} (vLLM before 0.33: {original * factor:g}), "
            "transformers 4.51-4.55 ran factor 1"
        )
        return Check(cid, "warn", msg, nums)
    if ratio == 1 and factor > 1:
        msg = (
            f"static scaling: max_position_embeddings left at the original {fmt_num(original)}; "
            f"runtimes serve {fmt_num(original)} or {fmt_num(original * factor)}"
        )
        return Check(cid, "warn", msg, nums)
    if ratio > factor:
        msg = (
            f"declared {fmt_num(declared)} exceeds original {fmt_num(original)} x factor {factor:g}"
        )
        return Check(cid, "fail", msg, nums)
    msg = (
        f"declared {fmt_num(declared)} covers {ratio:g}x of the original, factor is {factor:g} "
        f"(enough for {fmt_num(original * factor)})"
    )
    return Check(cid, "warn", msg, nums)


@guarded("C7-original-context")
def check_original_context(block: dict[str, Any], inp: VerifyInput, params: RopeParams) -> Check:
    """C7: YaRN, llama3 and LongRoPE need the trained context; without it runtimes guess."""
    cid = "C7-original-context"
    if params.rope_type not in ("yarn", "llama3", "longrope"):
        return _na(cid, f"{params.rope_type!r} does not read the original context")
    if not block:
        return _na(cid, "no rope block in the config (model-type defaults)")
    original = written_original(block, inp)
    declared = params.max_position_embeddings or inp.declared_context
    nums = {"original": original, "declared": declared}
    if original is None:
        msg = (
            "original_max_position_embeddings missing: transformers assumes "
            "max_position_embeddings, vLLM raises, SGLang warns"
        )
        return Check(cid, "warn", msg, nums)
    if is_number(original) and declared and original > declared:
        return Check(cid, "warn", f"original {original} > declared {declared}", nums)
    return Check(cid, "pass", f"original context {original}", nums)


@guarded("C10-mscale-pair")
def check_mscale_pair(block: dict[str, Any], params: RopeParams, model_type: str | None) -> Check:
    """C10: DeepSeek-style `mscale`/`mscale_all_dim` and the softmax correction they rely on."""
    cid = "C10-mscale-pair"
    if block_type(block, params) != "yarn":
        return _na(cid, "not YaRN")
    mscale, all_dim = block.get("mscale"), block.get("mscale_all_dim")
    if mscale is None and all_dim is None:
        return _na(cid, "no mscale keys")
    factor = params.factor if is_number(params.factor) else 1.0
    assert factor is not None
    nums: dict[str, Any] = {"mscale": mscale, "mscale_all_dim": all_dim, "model_type": model_type}
    if any(v is not None and not (is_number(v) and v >= 0) for v in (mscale, all_dim)):
        return Check(cid, "fail", "mscale / mscale_all_dim must be numbers >= 0", nums)
    if not (is_number(mscale) and is_number(all_dim)) or not (mscale and all_dim):
        # transformers and vLLM need both truthy, SGLang both present (transformers
        # `_compute_yarn_parameters`, SGLang `DeepseekScalingRotaryEmbedding`).
        plain = yarn_mscale(factor)
        sglang = plain
        if is_number(mscale) and is_number(all_dim):
            sglang = mscale_ratio(factor, mscale, all_dim)
        nums.update(transformers=plain, sglang=sglang)
        named = [
            f"{k} {fmt_value(v)}" for k, v in (("mscale", mscale), ("mscale_all_dim", all_dim))
        ]
        pair = " / ".join(n for n, v in zip(named, (mscale, all_dim), strict=True) if v is not None)
        if not math.isclose(plain, sglang):
            msg = f"{pair}: transformers uses {plain:.4g}, SGLang {sglang:.4g} on cos/sin"
            return Check(cid, "warn", msg, nums)
        msg = (
            f"{pair or 'no mscale key'} (not both set and non-zero): every runtime uses {plain:.4g}"
        )
        return Check(cid, "pass", msg, nums)
    cos_sin = mscale_ratio(factor, mscale, all_dim)
    softmax = mla_softmax_multiplier(factor, all_dim)
    nums.update(cos_sin_factor=cos_sin, softmax_multiplier=softmax)
    if model_type in MLA_SOFTMAX_MODEL_TYPES:
        msg = (
            f"cos/sin x{cos_sin:.4g}, softmax x{softmax:.4g} applied by the {model_type} attention"
        )
        return Check(cid, "pass", msg, nums)
    if math.isclose(cos_sin, 1.0):
        msg = (
            f"mscale = mscale_all_dim cancels the YaRN magnitude on cos/sin and {model_type} "
            "has no known softmax correction"
        )
        beta = block.get("llama_4_scaling_beta")
        if is_number(beta) and beta:
            # Mistral-3 style: a query temperature growing with position is the only correction.
            msg += f"; only its llama_4_scaling_beta {beta:g} query temperature remains"
        return Check(cid, "warn", msg, nums)
    return Check(cid, "pass", f"cos/sin magnitude {cos_sin:.4g} from the mscale ratio", nums)


@guarded("C16-dynamic")
def check_dynamic(inp: VerifyInput, params: RopeParams) -> Check:
    """C16: dynamic NTK rebuilds frequencies per length; report the base it reaches."""
    cid = "C16-dynamic"
    if params.rope_type != "dynamic":
        return _na(cid, "not dynamic NTK")
    declared = params.max_position_embeddings or inp.declared_context
    factor = params.factor
    if not declared or not is_number(factor) or factor is None or factor < 1:
        return _na(cid, "declared context or factor unknown")
    try:
        at_double = dynamic_base(params.theta, factor, 2 * declared, declared, params.rotary_dim)
    except (ArithmeticError, ValueError, TypeError):
        return Check(cid, "fail", "dynamic NTK base cannot be computed for these numbers")
    if not is_number(at_double):
        return Check(cid, "fail", "dynamic NTK base is not a finite number")
    nums = {"base": params.theta, "base_at_2x_declared": at_double, "declared": declared}
    msg = (
        f"base {fmt_theta(params.theta)} up to {declared}, {fmt_theta(at_double)} at "
        f"{2 * declared}; "
        "cached keys keep the angles they were built with"
    )
    return Check(cid, "pass", msg, nums)


@guarded("C21-partial-default")
def check_partial_default(inp: VerifyInput, params: RopeParams) -> Check:
    """C21: a fraction written for default RoPE on a type whose transformers init ignores it."""
    cid = "C21-partial-default"
    prf = inp.extra_keys.get("partial_rotary_factor")
    if params.rope_type != "default" or not is_number(prf) or prf == 1:
        return _na(cid, "no partial_rotary_factor with default RoPE")
    if inp.model_type not in DEFAULT_IGNORES_PARTIAL:
        return _na(cid, "transformers reads partial_rotary_factor for this model type")
    nums = {"partial_rotary_factor": prf, "rotary_dim": params.rotary_dim}
    nums["head_dim"] = params.head_dim
    return Check(
        cid,
        "warn",
        f"transformers rotates all {params.head_dim} dims of a {inp.model_type} head with "
        f"default RoPE (its default init ignores partial_rotary_factor {fmt_num(prf)}); "
        f"runtimes that read the key rotate {params.rotary_dim}",
        nums,
    )
