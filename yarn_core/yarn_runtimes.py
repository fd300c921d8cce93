"""YaRN as each runtime computes it: betas, magnitude, the MLA note and the float32 range
(transformers 5 and its 4.50 / 4.55 lines, vLLM, SGLang, llama.cpp, the DeepSeek reference).
`resolve_yarn` is what `yarn_core.conventions.resolve` dispatches to for a YaRN block."""

from __future__ import annotations

from dataclasses import replace

from yarn_core.params import RopeParams
from yarn_core.resolved import Resolved, original_or_max
from yarn_core.scaling import (
    DEFAULT_BETA_FAST,
    DEFAULT_BETA_SLOW,
    inferred_yarn_factor,
    mla_softmax_multiplier,
    mscale_ratio,
    yarn_mscale,
)


def resolve_yarn(params: RopeParams, base: Resolved) -> Resolved:
    """YaRN as `base.convention` computes it."""
    handler = {
        "transformers": _yarn_transformers,
        "transformers-4.50": _yarn_transformers_450,
        "transformers-4.55": _yarn_transformers_455,
        "vllm": _yarn_vllm,
        "sglang": _yarn_sglang,
        "llama.cpp": _yarn_llamacpp,
        "deepseek": _yarn_deepseek,
    }[base.convention]
    return handler(params, base)


def _hf_betas(params: RopeParams) -> tuple[float, float]:
    # Section 3.b "Defaults subtlety": `get(...) or 32`, so a configured 0 means the default.
    return (params.beta_fast or DEFAULT_BETA_FAST, params.beta_slow or DEFAULT_BETA_SLOW)


def _plain_betas(params: RopeParams) -> tuple[float, float]:
    fast = params.beta_fast if params.beta_fast is not None else DEFAULT_BETA_FAST
    slow = params.beta_slow if params.beta_slow is not None else DEFAULT_BETA_SLOW
    return fast, slow


def _hf_magnitude(params: RopeParams, factor: float) -> float:
    """HF >= 4.51 / vLLM 0.33: explicit attention_factor, else ratio if both truthy, else m(s,1)."""
    if params.attention_factor is not None:
        return float(params.attention_factor)
    if params.mscale and params.mscale_all_dim:
        return mscale_ratio(factor, params.mscale, params.mscale_all_dim)
    return yarn_mscale(factor)


def _mla_note(params: RopeParams, factor: float) -> tuple[str, ...]:
    # Section 6.2 C10: equal mscale keys cancel on cos/sin; the softmax factor is architecture code.
    if params.mscale_all_dim and params.attention_factor is None:
        mult = mla_softmax_multiplier(factor, params.mscale_all_dim)
        return (
            f"MLA models (DeepSeek-V2/V3 style) also multiply the softmax scale by "
            f"m(s, mscale_all_dim)^2 = {mult:.6g} in architecture code (C10)",
        )
    return ()


def _yarn_transformers(params: RopeParams, base: Resolved) -> Resolved:
    # Section 3.b, HF 4.56+ / 5.x: explicit factor wins, None -> max_pos / original;
    # L = original, filled from max_position_embeddings by standardisation when absent.
    factor = inferred_yarn_factor(params)
    fast, slow = _hf_betas(params)
    notes: list[str] = []
    if params.factor is None:
        notes.append("factor absent: inferred as max_position_embeddings / original")
    if params.original_max_position_embeddings is None:
        notes.append("original_max_position_embeddings absent: assuming max_position_embeddings")
    return replace(
        base,
        factor=factor,
        original_context=original_or_max(params),
        attention_scaling=_hf_magnitude(params, factor),
        truncate=params.truncate if params.truncate is not None else True,
        beta_fast=fast,
        beta_slow=slow,
        notes=(*notes, *_mla_note(params, factor)),
    )


def _yarn_transformers_450(params: RopeParams, base: Resolved) -> Resolved:
    # Section 3.b timeline, 4.43-4.50: L = max_position_embeddings (original ignored), always
    # floor/ceil, magnitude = attention_factor or m(s, 1) (no mscale keys).
    factor = inferred_yarn_factor(params)
    fast, slow = _hf_betas(params)
    notes = ["range from max_position_embeddings (original_max_position_embeddings not read)"]
    if params.truncate is False:
        notes.append("truncate: false not supported before 4.55; range floored/ceiled")
    magnitude = (
        float(params.attention_factor)
        if params.attention_factor is not None
        else yarn_mscale(factor)
    )
    return replace(
        base,
        factor=factor,
        original_context=params.max_position_embeddings,
        attention_scaling=magnitude,
        truncate=True,
        beta_fast=fast,
        beta_slow=slow,
        notes=tuple(notes),
    )


def _yarn_transformers_455(params: RopeParams, base: Resolved) -> Resolved:
    # Section 3.b timeline, 4.51-4.55: an `original` key overrides factor with max_pos / original
    # (transformers#38224); truncate honoured from 4.55; magnitude as 4.51.
    resolved = _yarn_transformers(params, base)
    original = params.original_max_position_embeddings
    if original and params.max_position_embeddings:
        factor = params.max_position_embeddings / original
        notes = list(resolved.notes)
        if params.factor is not None and factor != params.factor:
            notes.append(
                f"declared factor {params.factor:g} replaced by max_position_embeddings / original"
                f" = {factor:g} (transformers#38224)"
            )
        return replace(
            resolved,
            factor=factor,
            applies_scaling=factor != 1.0,
            attention_scaling=_hf_magnitude(params, factor),
            notes=tuple(notes),
        )
    return resolved


def _yarn_vllm(params: RopeParams, base: Resolved) -> Resolved:
    # Section 3.c, vLLM 0.33: `get_rope` requires factor and original (KeyError); magnitude as HF;
    # truncate honoured; max_model_len = max_position_embeddings since PR #56446.
    resolved = _yarn_transformers(params, base)
    notes = [n for n in resolved.notes if not n.startswith(("factor absent", "original_max"))]
    if params.factor is None or params.original_max_position_embeddings is None:
        notes.append(
            "vLLM get_rope raises KeyError without factor and original_max_position_embeddings"
        )
    fast, slow = _plain_betas(params)
    return replace(resolved, beta_fast=fast, beta_slow=slow, notes=tuple(notes))


def _yarn_sglang(params: RopeParams, base: Resolved) -> Resolved:
    # Section 3.f, SGLang 0.5.23: attention_factor not forwarded; ratio form when both mscale keys
    # are not None; missing factor -> 1.0 and missing original -> max_position (warnings);
    # served context max_pos * factor unless original is present.
    factor = float(params.factor) if params.factor is not None else 1.0
    fast, slow = _plain_betas(params)
    notes: list[str] = []
    if params.attention_factor is not None:
        notes.append("attention_factor ignored (not forwarded by SGLang get_rope)")
    if params.mscale is not None and params.mscale_all_dim is not None:
        magnitude = mscale_ratio(factor, params.mscale, params.mscale_all_dim)
    else:
        magnitude = yarn_mscale(factor)
    attn_factor = params.extra.get("attn_factor")
    if isinstance(attn_factor, int | float):
        magnitude *= float(attn_factor)
    if params.original_max_position_embeddings is None:
        notes.append("original_max_position_embeddings absent: range from max_position")
    if params.factor is None:
        notes.append("factor absent: SGLang defaults it to 1.0")
    return replace(
        base,
        factor=factor,
        applies_scaling=factor != 1.0,
        original_context=original_or_max(params),
        attention_scaling=magnitude,
        truncate=params.truncate if params.truncate is not None else True,
        beta_fast=fast,
        beta_slow=slow,
        notes=tuple(notes),
    )


def _yarn_llamacpp(params: RopeParams, base: Resolved) -> Resolved:
    # Section 3.e: range in float32 with floorf/ceilf (no truncate); L = GGUF original context,
    # else n_ctx_train; attention_factor is overwritten; ratio form when yarn_log_multiplier
    # (= mscale_all_dim) is non-zero, with mscale assumed 1 (DeepSeek-2 arch: equal keys).
    factor = inferred_yarn_factor(params)
    fast, slow = _plain_betas(params)
    notes: list[str] = []
    if params.truncate is False:
        notes.append("truncate: false not supported; range floored/ceiled in float32")
    if params.attention_factor is not None:
        notes.append("attention_factor overwritten by llama.cpp's own magnitude")
    if params.mscale_all_dim:
        mscale = params.mscale if params.mscale == params.mscale_all_dim else 1.0
        magnitude = mscale_ratio(factor, mscale or 1.0, params.mscale_all_dim)
    else:
        magnitude = yarn_mscale(factor)
    return replace(
        base,
        factor=factor,
        original_context=original_or_max(params),
        attention_scaling=magnitude,
        truncate=True,
        beta_fast=fast,
        beta_slow=slow,
        float32_range=True,
        notes=tuple(notes),
    )


def _yarn_deepseek(params: RopeParams, base: Resolved) -> Resolved:
    # Section 3.d, DeepSeek-V3 reference: YaRN only if max_seq_len > original_seq_len; no
    # magnitude on the rotation; softmax scale x m(s, mscale)^2 where the reference `mscale`
    # is HF's mscale_all_dim; always floor/ceil; interleaved pairs.
    factor = inferred_yarn_factor(params)
    fast, slow = _plain_betas(params)
    original = params.original_max_position_embeddings
    served = params.max_position_embeddings
    notes = ["max_seq_len taken as max_position_embeddings; rotation uses interleaved pairs"]
    gated = bool(original and served and served > original)
    if not gated:
        notes.append("max_seq_len <= original_seq_len: YaRN disabled (frequencies and mscale)")
    coeff = params.mscale_all_dim if params.mscale_all_dim is not None else 1.0
    return replace(
        base,
        applies_scaling=gated,
        factor=factor if gated else 1.0,
        original_context=original or served,
        attention_scaling=1.0,
        softmax_multiplier=mla_softmax_multiplier(factor, coeff) if gated else 1.0,
        truncate=True,
        beta_fast=fast,
        beta_slow=slow,
        notes=tuple(notes),
    )
