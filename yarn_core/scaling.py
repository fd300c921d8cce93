"""Scalar formulas of RoPE and its context-extension methods, written once in plain math.

No torch here: the tensor code in `yarn_core.rope` turns these per-pair values into tensors.

References:
    Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding" (arXiv 2104.09864).
    Peng et al., "YaRN: Efficient Context Window Extension of Large Language Models"
    (arXiv 2309.00071): correction range (section 3.2), attention temperature (Eq. 22).
    Ding et al., "LongRoPE" (arXiv 2402.13753); Meta Llama 3.1 frequency smoothing.

Notation: D rotary width, b base, s factor, L original
(pre-extension) context, pair index j in [0, D/2).
"""

from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from yarn_core.params import RopeParams

DEFAULT_BETA_FAST = 32.0  # high-frequency boundary of the YaRN ramp, in rotations
DEFAULT_BETA_SLOW = 1.0  # low-frequency boundary of the YaRN ramp, in rotations
RAMP_SINGULARITY_GUARD = 0.001  # added to `high` when the ramp has zero width
LLAMA3_LOW_FREQ_FACTOR = 1.0  # Llama 3.1 default: wavelengths above L / 1 are divided by s
LLAMA3_HIGH_FREQ_FACTOR = 4.0  # Llama 3.1 default: wavelengths below L / 4 are kept


def to_float32(value: float) -> float:
    """Round a float to the nearest IEEE float32 value (to mimic float32 runtimes)."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def default_inv_freq(base: float, dim: int, *, exponent_dim: int | None = None) -> list[float]:
    """Unscaled inverse frequencies `b^(-2j/D)` for the D/2 pairs of a rotary width D.

    `exponent_dim` replaces D in the exponent (the `proportional` type uses the full head width).
    """
    denom = exponent_dim if exponent_dim is not None else dim
    return [1.0 / (base ** (2 * j / denom)) for j in range(dim // 2)]


def wavelength(inv_freq: float) -> float:
    """Tokens per full turn of a pair rotating at `inv_freq` radians per token."""
    return 2 * math.pi / inv_freq


def yarn_mscale(scale: float, coeff: float = 1.0) -> float:
    """YaRN magnitude `m(s, k)`: 1 when s <= 1, else `0.1 * k * ln(s) + 1` (paper Eq. 22)."""
    if scale <= 1:
        return 1.0
    return 0.1 * coeff * math.log(scale) + 1.0


def correction_dim(rotations: float, dim: int, base: float, original_max: float) -> float:
    """Real-valued pair index whose wavelength completes `rotations` turns over `original_max`.

    Solves `L / lambda_j = rotations` for j: `D * ln(L / (2 pi n)) / (2 ln b)`.
    """
    return dim * math.log(original_max / (rotations * 2 * math.pi)) / (2 * math.log(base))


def correction_dim_float32(rotations: float, dim: int, base: float, original_max: float) -> float:
    """`correction_dim` evaluated step by step in float32 (ggml `ggml_rope_yarn_corr_dim`)."""
    f = to_float32
    ratio = f(f(original_max) / f(f(f(rotations) * f(2.0)) * f(math.pi)))
    num = f(f(float(dim)) * f(math.log(ratio)))
    return f(num / f(f(2.0) * f(math.log(f(base)))))


def correction_range(
    beta_fast: float,
    beta_slow: float,
    dim: int,
    base: float,
    original_max: float,
    *,
    truncate: bool = True,
    float32: bool = False,
) -> tuple[float, float]:
    """Pair-index range `(low, high)` of the YaRN ramp, clamped to `[0, dim - 1]`.

    Pairs below `low` keep their frequency (extrapolation); pairs above `high` are divided by the
    factor (interpolation). `truncate` floors `low` and ceils `high`; `float32` evaluates the
    logarithms in float32 as llama.cpp does.
    """
    corr = correction_dim_float32 if float32 else correction_dim
    low = corr(beta_fast, dim, base, original_max)
    high = corr(beta_slow, dim, base, original_max)
    if truncate:
        low, high = float(math.floor(low)), float(math.ceil(high))
    return max(low, 0.0), min(high, float(dim - 1))


def yarn_ramp(j: int, low: float, high: float) -> float:
    """Interpolation weight of pair j: 0 at or below `low`, 1 at or above `high`, linear in j."""
    if low == high:
        high += RAMP_SINGULARITY_GUARD
    return min(max((j - low) / (high - low), 0.0), 1.0)


def blend(inv_freq: float, factor: float, ramp: float) -> float:
    """Mix of the interpolated (`inv_freq / factor`) and extrapolated (`inv_freq`) frequency."""
    return (inv_freq / factor) * ramp + inv_freq * (1.0 - ramp)


def yarn_inv_freq(
    base: float,
    dim: int,
    factor: float,
    low: float,
    high: float,
    extrapolation: float = 1.0,
) -> list[float]:
    """YaRN ("NTK-by-parts") inverse frequencies for a given correction range.

    `extrapolation` (SGLang's `extrapolation_factor`) weights the extrapolated share: the
    blend takes `(1 - ramp) * extrapolation` of the extrapolated frequency.
    """
    ramps = [yarn_ramp(j, low, high) for j in range(dim // 2)]
    if extrapolation != 1.0:
        ramps = [1.0 - (1.0 - r) * extrapolation for r in ramps]
    return [
        blend(theta, factor, r) for theta, r in zip(default_inv_freq(base, dim), ramps, strict=True)
    ]


def inferred_yarn_factor(params: RopeParams) -> float:
    """The YaRN factor: the declared one, else `max_position_embeddings / original` (v5 rule)."""
    if params.factor is not None:
        return float(params.factor)
    original = params.original_max_position_embeddings or params.max_position_embeddings
    if not params.max_position_embeddings or not original:
        return 1.0
    return params.max_position_embeddings / original


def mscale_ratio(factor: float, mscale: float, mscale_all_dim: float) -> float:
    """DeepSeek-style cos/sin magnitude `m(s, mscale) / m(s, mscale_all_dim)`."""
    return yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all_dim)


def mla_softmax_multiplier(factor: float, mscale_all_dim: float) -> float:
    """Softmax-scale multiplier `m(s, mscale_all_dim)^2` of DeepSeek-style (MLA) attention."""
    m = yarn_mscale(factor, mscale_all_dim)
    return m * m


def llama3_band_factors(params: RopeParams) -> tuple[float, float]:
    """Llama 3 `(low_freq_factor, high_freq_factor)`, Meta's 1 and 4 where the block omits them."""
    low = params.low_freq_factor if params.low_freq_factor is not None else LLAMA3_LOW_FREQ_FACTOR
    high = (
        params.high_freq_factor if params.high_freq_factor is not None else LLAMA3_HIGH_FREQ_FACTOR
    )
    return low, high


def llama3_wavelengths(params: RopeParams) -> tuple[float, float]:
    """Llama 3 band edges `(low_freq_wavelen, high_freq_wavelen)` = `(L / low, L / high)`."""
    original = params.original_max_position_embeddings or params.max_position_embeddings
    if original is None:
        raise ValueError("llama3 scaling needs original_max_position_embeddings")
    low_factor, high_factor = llama3_band_factors(params)
    return original / low_factor, original / high_factor


def llama3_inv_freq(
    base: float,
    dim: int,
    factor: float,
    low_freq_factor: float,
    high_freq_factor: float,
    original_max: float,
) -> list[float]:
    """Llama 3.1 smoothing: keep short wavelengths, divide long ones by s, blend in between.

    The blend weight is linear in `L / wavelength` (not in j, unlike YaRN).
    """
    low_wavelen = original_max / low_freq_factor
    high_wavelen = original_max / high_freq_factor
    out = []
    for theta in default_inv_freq(base, dim):
        wavelen = wavelength(theta)
        if wavelen < high_wavelen:
            out.append(theta)
        elif wavelen > low_wavelen:
            out.append(theta / factor)
        else:
            band = high_freq_factor - low_freq_factor  # 0 (Llama 4): only wavelen == L lands here
            smooth = (original_max / wavelen - low_freq_factor) / band if band else 0.0
            out.append(blend(theta, factor, 1.0 - smooth))
    return out


def ntk_alpha_base(base: float, alpha: float, dim: int) -> float:
    """NTK-aware base change `b * alpha^(D / (D - 2))`: the lowest pair slows by exactly alpha."""
    return base * alpha ** (dim / (dim - 2))


def dynamic_base(base: float, factor: float, seq_len: int | None, max_pos: int, dim: int) -> float:
    """Dynamic-NTK base at a sequence length (transformers `_compute_dynamic_ntk_parameters`).

    `alpha = s * l / L_mp - (s - 1)` with `l = max(seq_len, L_mp)`, so alpha = 1 up to L_mp.
    """
    length = max(seq_len or max_pos, max_pos)
    alpha = factor * length / max_pos - (factor - 1)
    return ntk_alpha_base(base, alpha, dim)


def longrope_attention_factor(factor: float, original_max: float) -> float:
    """LongRoPE magnitude `sqrt(1 + ln f / ln L)`, 1 when f <= 1."""
    if factor <= 1:
        return 1.0
    return math.sqrt(1 + math.log(factor) / math.log(original_max))


def longrope_inv_freq(base: float, dim: int, ext_factors: tuple[float, ...]) -> list[float]:
    """LongRoPE inverse frequencies `b^(-2j/D) / ext_j` (one rescale factor per pair)."""
    thetas = default_inv_freq(base, dim)
    if len(ext_factors) != len(thetas):
        raise ValueError(
            f"longrope needs {len(thetas)} rescale factors (rotary_dim / 2), got {len(ext_factors)}"
        )
    return [theta / ext for theta, ext in zip(thetas, ext_factors, strict=True)]
