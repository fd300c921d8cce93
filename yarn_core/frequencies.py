"""Per-pair inverse frequencies of every rope type, in float64 plain math (no torch).

`inverse_frequencies(params, convention, seq_len)` is the one dispatcher; `yarn_core.rope` turns its
result into a tensor, and the CLI and the site read it directly.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from yarn_core.conventions import Resolved, UnsupportedRope, resolve
from yarn_core.params import RopeParams
from yarn_core.scaling import (
    correction_dim,
    correction_range,
    default_inv_freq,
    dynamic_base,
    llama3_band_factors,
    llama3_inv_freq,
    llama3_wavelengths,
    longrope_inv_freq,
    ntk_alpha_base,
    yarn_inv_freq,
)


def inverse_frequencies(
    params: RopeParams,
    convention: str = "transformers",
    seq_len: int | None = None,
    *,
    resolved: Resolved | None = None,
) -> list[float]:
    """Inverse frequency of each rotating pair, as `convention` computes it, in float64.

    Raises:
        UnsupportedRope: unknown type, or values no runtime could use (the message says which).
    """
    res = resolved or resolve(params, convention)
    if res.theta is not None:
        params = replace(params, theta=res.theta)
    _check(params, res)
    try:
        values = _dispatch(params, res, seq_len)
    except (ArithmeticError, ValueError) as exc:
        if isinstance(exc, UnsupportedRope):
            raise
        raise UnsupportedRope(f"{params.rope_type}: {exc}") from exc
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise UnsupportedRope(f"{params.rope_type}: parameters give non-finite frequencies")
    return values


def _check(params: RopeParams, res: Resolved) -> None:
    """Reject values that would divide by zero or take the log of a non-positive number."""
    dim, theta = params.rotary_dim, params.theta
    if dim <= 0 or dim % 2:
        raise UnsupportedRope(f"rotary_dim must be a positive even number, got {dim}")
    if not (math.isfinite(theta) and theta > 1):
        raise UnsupportedRope(f"rope theta must be a finite number above 1, got {theta!r}")
    if params.rope_type in ("dynamic", "ntk") and dim <= 2:
        raise UnsupportedRope(f"{params.rope_type} needs rotary_dim > 2, got {dim}")
    if params.rope_type == "yarn" and res.applies_scaling:
        if not (res.original_context and res.original_context > 0):
            raise UnsupportedRope("yarn needs original_max_position_embeddings or max_position")
        if res.beta_fast <= 0 or res.beta_slow <= 0:
            raise UnsupportedRope("yarn beta_fast and beta_slow must be positive")


def _dispatch(params: RopeParams, res: Resolved, seq_len: int | None) -> list[float]:
    dim, theta = params.rotary_dim, params.theta
    kind = params.rope_type
    if kind == "proportional":
        # Exponent over the full head width; only the first rotary_dim/2 pairs rotate (1.2).
        thetas = default_inv_freq(theta, dim, exponent_dim=params.head_dim)
        return [t / res.factor for t in thetas]
    if not res.applies_scaling or kind == "default":
        return default_inv_freq(theta, dim)
    if kind == "linear":
        return [t / res.factor for t in default_inv_freq(theta, dim)]
    if kind == "dynamic" and res.convention == "vllm":
        return default_inv_freq(theta, dim)  # one static base, already in res.theta
    if kind == "dynamic":
        if params.max_position_embeddings is None:
            raise UnsupportedRope("dynamic NTK needs max_position_embeddings")
        b = dynamic_base(theta, res.factor, seq_len, params.max_position_embeddings, dim)
        return default_inv_freq(b, dim)
    if kind == "ntk" and res.convention == "vllm":
        from yarn_core.runtime_vllm import ntk_inv_freq

        mixed_b = params.extra.get("mixed_b")
        return ntk_inv_freq(theta, dim, res.factor, mixed_b if _is_number(mixed_b) else None)
    if kind == "ntk":
        alpha = params.alpha if params.alpha is not None else res.factor
        return default_inv_freq(ntk_alpha_base(theta, alpha, dim), dim)
    if kind == "yarn":
        return _yarn(params, res)
    if kind == "llama3":
        original = res.original_context or params.max_position_embeddings
        if original is None:
            raise UnsupportedRope("llama3 needs original_max_position_embeddings")
        low_freq_factor, high_freq_factor = llama3_band_factors(params)
        return llama3_inv_freq(theta, dim, res.factor, low_freq_factor, high_freq_factor, original)
    if kind == "longrope":
        return _longrope(params, res, seq_len)
    raise UnsupportedRope(f"unknown rope type {kind!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _yarn(params: RopeParams, res: Resolved) -> list[float]:
    if res.original_context is None:
        raise UnsupportedRope("yarn needs original_max_position_embeddings or max_position")
    low, high = yarn_range(params, res)
    return yarn_inv_freq(
        params.theta, params.rotary_dim, res.factor, low, high, res.extrapolation_factor
    )


def yarn_range(params: RopeParams, res: Resolved) -> tuple[float, float]:
    """The correction range `(low, high)` a resolved YaRN convention uses."""
    if res.original_context is None:
        raise UnsupportedRope("yarn needs original_max_position_embeddings or max_position")
    return correction_range(
        res.beta_fast,
        res.beta_slow,
        params.rotary_dim,
        params.theta,
        res.original_context,
        truncate=res.truncate,
        float32=res.float32_range,
    )


def longrope_uses_long(res: Resolved, seq_len: int | None) -> bool:
    """Whether LongRoPE runs its long factors at `seq_len` under `res`."""
    original = res.original_context or 0
    return bool(res.longrope_long) or bool(seq_len and seq_len > original)


def _longrope(params: RopeParams, res: Resolved, seq_len: int | None) -> list[float]:
    if params.short_factor is None or params.long_factor is None:
        raise UnsupportedRope("longrope needs short_factor and long_factor")
    use_long = longrope_uses_long(res, seq_len)
    return longrope_inv_freq(
        params.theta, params.rotary_dim, params.long_factor if use_long else params.short_factor
    )


def unscaled(params: RopeParams) -> RopeParams:
    """The same embedding without its context extension (`proportional` keeps its exponent)."""
    if params.rope_type == "proportional":
        return replace(params, factor=None)
    return replace(params, rope_type="default", factor=None)


def unscaled_inv_freq(params: RopeParams) -> list[float]:
    """Inverse frequencies of `unscaled(params)`: what the pairs would turn at without scaling."""
    exponent_dim = params.head_dim if params.rope_type == "proportional" else None
    return default_inv_freq(params.theta, params.rotary_dim, exponent_dim=exponent_dim)


def frequency_ratio(params: RopeParams, convention: str = "transformers") -> list[float]:
    """Per-pair ratio of the scaled to the unscaled inverse frequency (1 = untouched)."""
    scaled = inverse_frequencies(params, convention)
    plain = unscaled_inv_freq(params)
    return [s / p for s, p in zip(scaled, plain, strict=True)]


def mrope_pair_axes(section: tuple[int, ...], pairs: int, interleaved: bool) -> list[int]:
    """For each of `pairs` frequency pairs, the mRoPE position axis (0 = t, 1 = h, 2 = w, ...).

    Contiguous sections give axis a to `section[a]` consecutive pairs (they must sum to `pairs`).
    Interleaved (Qwen3-VL): pair j takes axis a >= 1 when `j % 3 == a` and `j < 3 * section[a]`,
    else axis 0 (transformers' Qwen3-VL `apply_interleaved_mrope`).
    """
    if interleaved:
        axes = [0] * pairs
        for axis in range(1, len(section)):
            for j in range(axis, min(3 * section[axis], pairs), 3):
                axes[j] = axis
        return axes
    if sum(section) != pairs:
        raise ValueError(f"mrope_section {list(section)} must sum to rotary_dim/2 = {pairs}")
    return [axis for axis, width in enumerate(section) for _ in range(width)]


def yarn_bands(params: RopeParams, convention: str = "transformers") -> dict[str, Any]:
    """YaRN ramp: correction range, raw (untruncated) dims and the pair counts of each band."""
    res = resolve(params, convention)
    if params.rope_type != "yarn" or res.original_context is None:
        return {}
    low, high = yarn_range(params, res)
    pairs = params.rotary_dim // 2
    extrapolated = sum(1 for j in range(pairs) if j <= low)
    interpolated = sum(1 for j in range(pairs) if j >= high)
    return {
        "applies": res.applies_scaling,
        "factor": res.factor,
        "original_context": res.original_context,
        "low": low,
        "high": high,
        "raw_low": correction_dim(
            res.beta_fast, params.rotary_dim, params.theta, res.original_context
        ),
        "raw_high": correction_dim(
            res.beta_slow, params.rotary_dim, params.theta, res.original_context
        ),
        "truncate": res.truncate,
        "extrapolated_pairs": extrapolated,
        "blended_pairs": pairs - extrapolated - interpolated,
        "interpolated_pairs": interpolated,
    }


def llama3_bands(params: RopeParams) -> dict[str, Any]:
    """Llama 3 wavelength edges and the pair counts kept, blended and divided by the factor."""
    if params.rope_type != "llama3":
        return {}
    low_wavelen, high_wavelen = llama3_wavelengths(params)
    ratios = frequency_ratio(params)
    kept = sum(1 for r in ratios if r == 1.0)
    divided = sum(1 for r in ratios if params.factor and abs(r * params.factor - 1.0) < 1e-12)
    return {
        "low_freq_wavelen": low_wavelen,
        "high_freq_wavelen": high_wavelen,
        "kept_pairs": kept,
        "blended_pairs": len(ratios) - kept - divided,
        "divided_pairs": divided,
    }
