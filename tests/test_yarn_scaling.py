"""Scalar formulas: the test vectors TV1-TV11 of rope-scaling.md section 7 and invariants.

The expected numbers are the ones published in the research notes (computed there with plain
float64 math, independently of this code).
"""

from __future__ import annotations

import math

import pytest

from yarn_core.frequencies import frequency_ratio, inverse_frequencies
from yarn_core.params import RopeParams
from yarn_core.scaling import (
    correction_dim,
    correction_range,
    default_inv_freq,
    dynamic_base,
    inferred_yarn_factor,
    llama3_wavelengths,
    longrope_attention_factor,
    ntk_alpha_base,
    wavelength,
    yarn_mscale,
    yarn_ramp,
)

REL = 1e-9


def yarn(dim: int, base: float, factor: float, original: int, **kw: object) -> RopeParams:
    return RopeParams(
        rope_type="yarn",
        theta=base,
        head_dim=dim,
        rotary_dim=dim,
        factor=factor,
        original_max_position_embeddings=original,
        max_position_embeddings=int(original * factor),
        **kw,  # type: ignore[arg-type]
    )


def test_tv1_llama2_64k() -> None:
    """TV1: D=128, b=1e4, s=16, L=4096 (YaRN section 3.2 range, Eq. 22 magnitude)."""
    assert correction_dim(32, 128, 10000, 4096) == pytest.approx(20.94448162063605, rel=REL)
    assert correction_dim(1, 128, 10000, 4096) == pytest.approx(45.02688127375455, rel=REL)
    assert correction_range(32, 1, 128, 10000, 4096) == (20, 46)
    params = yarn(128, 10000, 16, 4096)
    f = inverse_frequencies(params)
    assert f[33] == pytest.approx(4.6004354679e-03, rel=1e-10)
    assert f[46] == pytest.approx(8.3345089510e-05, rel=1e-10)
    assert f[63] == pytest.approx(7.2173874043e-06, rel=1e-10)
    assert sum(f) == pytest.approx(7.365234700806849, rel=REL)
    assert yarn_ramp(21, 20, 46) == pytest.approx(1 / 26)
    assert yarn_ramp(33, 20, 46) == pytest.approx(0.5)
    assert yarn_ramp(45, 20, 46) == pytest.approx(25 / 26)
    assert yarn_mscale(16) == pytest.approx(1.2772588722239782, rel=REL)
    assert yarn_mscale(16) ** 2 == pytest.approx(1.6313902266748685, rel=REL)
    assert wavelength(default_inv_freq(10000, 128)[20]) == pytest.approx(111.7326, abs=1e-4)
    assert wavelength(default_inv_freq(10000, 128)[46]) == pytest.approx(4711.7243, abs=1e-4)


def test_tv1b_untruncated() -> None:
    low, high = correction_range(32, 1, 128, 10000, 4096, truncate=False)
    assert (low, high) == pytest.approx((20.94448162063605, 45.02688127375455), rel=REL)
    assert yarn_ramp(32, low, high) == pytest.approx(0.459070, abs=1e-6)
    f = inverse_frequencies(yarn(128, 10000, 16, 4096, truncate=False))
    assert f[32] == pytest.approx(5.6962144014e-03, rel=1e-10)


def test_tv2_llama2_128k() -> None:
    assert correction_range(32, 1, 128, 10000, 4096) == (20, 46)  # independent of s
    f = inverse_frequencies(yarn(128, 10000, 32, 4096))
    assert f[33] == pytest.approx(4.4651285423e-03, rel=1e-10)
    assert f[33] / default_inv_freq(10000, 128)[33] == pytest.approx(0.515625, rel=REL)
    assert yarn_mscale(32) == pytest.approx(1.3465735902799727, rel=REL)
    assert yarn_mscale(32) ** 2 == pytest.approx(1.8132604340394958, rel=REL)


def test_tv3_deepseek_v3() -> None:
    low, high = correction_range(32, 1, 64, 10000, 4096, truncate=False)
    assert (low, high) == pytest.approx((10.472240810318025, 22.513440636877274), rel=REL)
    assert correction_range(32, 1, 64, 10000, 4096) == (10, 23)
    f = inverse_frequencies(yarn(64, 10000, 40, 4096, mscale=1.0, mscale_all_dim=1.0))
    assert f[16] == pytest.approx(5.5e-03, rel=1e-10)
    assert f[23] == pytest.approx(3.3338035804e-05, rel=1e-10)
    assert sum(f) == pytest.approx(3.9489362740786857, rel=REL)
    assert yarn_mscale(40) == pytest.approx(1.3688879454113936, rel=REL)
    assert yarn_mscale(40) ** 2 == pytest.approx(1.8738542070926265, rel=REL)
    assert yarn_mscale(40, 0.707) ** 2 == pytest.approx(1.5896261651208736, rel=REL)


def test_tv4_gpt_oss() -> None:
    params = yarn(64, 150000, 32, 4096, truncate=False)
    low, high = correction_range(32, 1, 64, 150000, 4096, truncate=False)
    assert (low, high) == pytest.approx((8.092779115512402, 17.39802450158856), rel=REL)
    assert yarn_ramp(12, low, high) == pytest.approx(0.419894, abs=1e-6)
    f = inverse_frequencies(params)
    assert f[12] == pytest.approx(6.7949594897e-03, rel=1e-10)
    assert sum(f) == pytest.approx(3.180438276929865, rel=REL)
    wrong = inverse_frequencies(yarn(64, 150000, 32, 4096))
    assert correction_range(32, 1, 64, 150000, 4096) == (8, 18)
    assert wrong[13] == pytest.approx(4.0695547148e-03, rel=1e-10)


def test_tv5_qwen_static_yarn() -> None:
    low, high = correction_range(32, 1, 128, 1e6, 32768, truncate=False)
    assert (low, high) == pytest.approx((23.5959476083381, 39.6508807104171), rel=REL)
    f = inverse_frequencies(yarn(128, 1e6, 4, 32768))
    assert f[31] == pytest.approx(8.0295972755e-04, rel=1e-10)
    assert sum(f) == pytest.approx(5.1440347217400735, rel=REL)
    assert yarn_mscale(4) == pytest.approx(1.138629436111989, rel=REL)


def test_tv6_llama31() -> None:
    params = RopeParams(
        rope_type="llama3",
        theta=500000,
        factor=8,
        low_freq_factor=1,
        high_freq_factor=4,
        original_max_position_embeddings=8192,
        max_position_embeddings=131072,
    )
    assert llama3_wavelengths(params) == (8192, 2048)
    ratio = frequency_ratio(params)
    assert all(r == 1.0 for r in ratio[:29])
    assert all(r == pytest.approx(1 / 8, rel=1e-15) for r in ratio[35:])
    f = inverse_frequencies(params)
    assert f[30] == pytest.approx(1.3718935678e-03, rel=1e-10)
    assert ratio[30] == pytest.approx(0.64374313, rel=1e-8)
    assert f[32] == pytest.approx(5.2484616099e-04, rel=1e-10)
    assert f[34] == pytest.approx(1.7850781277e-04, rel=1e-10)


def test_tv7_longrope_magnitude() -> None:
    assert longrope_attention_factor(32, 4096) == pytest.approx(1.1902380714238083, rel=REL)
    assert longrope_attention_factor(16, 8192) == pytest.approx(1.1435437497937313, rel=REL)
    assert longrope_attention_factor(4, 4096) == pytest.approx(1.0801234497346435, rel=REL)
    assert longrope_attention_factor(1, 4096) == 1.0


@pytest.mark.parametrize(
    ("alpha", "expected"),
    [(2, 20221.261689737912), (4, 40889.94243248622), (8, 82684.62264056221)]
    + [(16, 167198.73921320363)],
)
def test_tv8_ntk_alpha(alpha: float, expected: float) -> None:
    assert ntk_alpha_base(10000, alpha, 128) == pytest.approx(expected, rel=REL)
    params = RopeParams(rope_type="ntk", alpha=alpha)
    f, plain = inverse_frequencies(params), default_inv_freq(10000, 128)
    assert f[0] == plain[0]
    assert f[63] / plain[63] == pytest.approx(1 / alpha, rel=1e-12)


@pytest.mark.parametrize(
    ("seq_len", "expected"),
    [(None, 10000.0), (4096, 10000.0), (6000, 19499.277640853546)]
    + [(8192, 30527.7367488067), (16384, 72195.86008650938)],
)
def test_tv9_dynamic(seq_len: int | None, expected: float) -> None:
    assert dynamic_base(10000, 2, seq_len, 4096, 128) == pytest.approx(expected, rel=REL)
    params = RopeParams(rope_type="dynamic", factor=2, max_position_embeddings=4096)
    f = inverse_frequencies(params, seq_len=seq_len)
    assert f == pytest.approx(default_inv_freq(expected, 128), rel=1e-12)


@pytest.mark.parametrize(
    ("j", "turns_before", "turns_after"),
    [(0, 651.90, 10430.38), (20, 36.66, 586.54), (30, 8.69, 88.94), (40, 2.06, 9.20)]
    + [(63, 0.0753, 0.0753)],
)
def test_tv10_rotation_bookkeeping(j: int, turns_before: float, turns_after: float) -> None:
    plain = default_inv_freq(10000, 128)[j]
    scaled = inverse_frequencies(yarn(128, 10000, 16, 4096))[j]
    assert 4096 * plain / (2 * math.pi) == pytest.approx(turns_before, abs=6e-3)
    assert 65536 * scaled / (2 * math.pi) == pytest.approx(turns_after, abs=6e-3)


def test_tv11_range_from_wrong_context() -> None:
    low, high = correction_range(32, 1, 128, 10000, 65536, truncate=False)
    assert (low, high) == pytest.approx((40.21040134313085, 64.29280099624934), rel=REL)
    params = yarn(128, 10000, 16, 4096)
    ratio = frequency_ratio(params, "transformers-4.50")
    assert ratio[63] == pytest.approx(0.1375, rel=1e-12)
    assert frequency_ratio(params)[63] == pytest.approx(0.0625, rel=1e-12)


# --- hand-derived invariants (YaRN section 3.2; rope-scaling.md 6.1 P1-P3) -----------------

GRID = [
    (dim, base, original)
    for dim in (32, 64, 96, 128, 256)
    for base in (1e4, 5e5, 1e6, 1.5e5)
    for original in (2048, 4096, 8192, 32768)
]


@pytest.mark.parametrize(("dim", "base", "original"), GRID)
def test_range_bounds(dim: int, base: float, original: int) -> None:
    for truncate in (True, False):
        low, high = correction_range(32, 1, dim, base, original, truncate=truncate)
        assert 0 <= low <= high <= dim - 1


@pytest.mark.parametrize(("dim", "base", "original"), GRID)
def test_scale_one_is_plain_rope(dim: int, base: float, original: int) -> None:
    params = yarn(dim, base, 1.0, original)
    assert inverse_frequencies(params) == pytest.approx(default_inv_freq(base, dim), rel=1e-15)
    assert yarn_mscale(1.0) == 1.0


@pytest.mark.parametrize(("dim", "base", "original"), GRID)
@pytest.mark.parametrize("factor", [2.0, 8.0, 40.0])
def test_bands_exact_and_ramp_monotone(dim: int, base: float, original: int, factor: float) -> None:
    params = yarn(dim, base, factor, original)
    ratio = frequency_ratio(params)
    scaled = inverse_frequencies(params)
    high = correction_range(32, 1, dim, base, original)[1]
    for j, theta in enumerate(default_inv_freq(base, dim)):
        if wavelength(theta) <= original / 32:  # P1: pure extrapolation, untouched
            assert scaled[j] == theta
        if j >= high:  # P2: pure interpolation, divided by the factor exactly
            assert scaled[j] == theta / factor
            assert wavelength(theta) >= original / 1 - 1e-9
    assert all(1 / factor - 1e-15 <= r <= 1 + 1e-15 for r in ratio)  # P3 range
    assert all(a >= b - 1e-15 for a, b in zip(ratio, ratio[1:], strict=False))  # P3 monotone


def test_mscale_values() -> None:
    assert yarn_mscale(1.0) == 1.0
    assert yarn_mscale(0.5) == 1.0
    assert yarn_mscale(4.0) == 0.1 * math.log(4) + 1


def test_inferred_factor() -> None:
    params = RopeParams(
        rope_type="yarn", max_position_embeddings=131072, original_max_position_embeddings=4096
    )
    assert inferred_yarn_factor(params) == 32.0
    assert inferred_yarn_factor(RopeParams(rope_type="yarn", factor=4)) == 4.0


def test_linear_and_proportional() -> None:
    linear = RopeParams(rope_type="linear", factor=4.0)
    assert frequency_ratio(linear) == pytest.approx([0.25] * 64, rel=1e-15)
    prop = RopeParams(rope_type="proportional", theta=1e6, head_dim=512, rotary_dim=128)
    f = inverse_frequencies(prop)
    assert len(f) == 64
    assert f[1] == pytest.approx(1e6 ** (-2 / 512), rel=1e-15)
