"""Runtime conventions: each documented divergence of rope-scaling.md 0.1, 0.3 and 3.g."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yarn_core.conventions import CONVENTIONS, UnknownConvention, UnsupportedRope, resolve
from yarn_core.frequencies import frequency_ratio, inverse_frequencies, yarn_bands
from yarn_core.params import RopeParams
from yarn_core.scaling import correction_dim, correction_range, yarn_mscale

DEEPSEEK_V3 = RopeParams(
    rope_type="yarn",
    theta=10000.0,
    head_dim=192,
    rotary_dim=64,
    pairing="interleaved",
    factor=40.0,
    original_max_position_embeddings=4096,
    max_position_embeddings=163840,
    beta_fast=32.0,
    beta_slow=1.0,
    mscale=1.0,
    mscale_all_dim=1.0,
)
QWEN_STATIC = RopeParams(  # section 6.2 C6 "Qwen static": max_pos left at the original length
    rope_type="yarn",
    theta=1e6,
    factor=4.0,
    original_max_position_embeddings=32768,
    max_position_embeddings=32768,
)
GPT_OSS = RopeParams(
    rope_type="yarn",
    theta=150000.0,
    head_dim=64,
    rotary_dim=64,
    factor=32.0,
    original_max_position_embeddings=4096,
    max_position_embeddings=131072,
    truncate=False,
)


def test_cli_choices_match() -> None:
    import click

    from registry.cli.tagging import tagging_rope

    option = next(p for p in tagging_rope.params if p.name == "convention")
    assert isinstance(option.type, click.Choice)
    assert tuple(option.type.choices) == CONVENTIONS


def test_unknown_convention() -> None:
    with pytest.raises(UnknownConvention, match="choose one of"):
        resolve(GPT_OSS, "mlx")


def test_deepseek_v3_magnitudes() -> None:
    """TV3: cos/sin ratio 1.0 everywhere HF-like; the reference puts m(40,1)^2 on the softmax."""
    for convention in ("transformers", "vllm", "sglang", "llama.cpp"):
        assert resolve(DEEPSEEK_V3, convention).attention_scaling == 1.0
    ref = resolve(DEEPSEEK_V3, "deepseek")
    assert ref.attention_scaling == 1.0
    assert ref.softmax_multiplier == pytest.approx(1.8738542070926265, rel=1e-12)
    assert any("m(s, mscale_all_dim)^2" in n for n in resolve(DEEPSEEK_V3).notes)


def test_deepseek_gating_disables_yarn() -> None:
    """Section 3.d: no YaRN (frequencies or mscale) unless max_seq_len > original_seq_len."""
    res = resolve(QWEN_STATIC, "deepseek")
    assert not res.applies_scaling and res.softmax_multiplier == 1.0
    assert inverse_frequencies(QWEN_STATIC, "deepseek") == inverse_frequencies(
        RopeParams(theta=1e6)
    )


def test_qwen_static_factor_override_455() -> None:
    """Section 0.3 #2: 4.51-4.55 replaced factor 4 by max_pos / original = 1 (no YaRN)."""
    res = resolve(QWEN_STATIC, "transformers-4.55")
    assert res.factor == 1.0 and not res.applies_scaling
    assert frequency_ratio(QWEN_STATIC, "transformers-4.55") == [1.0] * 64
    assert resolve(QWEN_STATIC).factor == 4.0
    assert resolve(QWEN_STATIC).attention_scaling == pytest.approx(1.138629436111989, rel=1e-12)


def test_range_from_max_position_before_451() -> None:
    """TV11: HF <= 4.50 feeds max_position_embeddings (65536) into the range."""
    params = RopeParams(
        rope_type="yarn",
        factor=16.0,
        original_max_position_embeddings=4096,
        max_position_embeddings=65536,
    )
    assert yarn_bands(params, "transformers-4.50")["low"] == 40
    assert yarn_bands(params, "transformers-4.50")["high"] == 65
    assert yarn_bands(params)["low"] == 20 and yarn_bands(params)["high"] == 46


def test_truncate_support() -> None:
    """Section 0.3 #3: gpt-oss truncate=false honoured by HF/vLLM/SGLang, not llama.cpp/DeepSeek."""
    for convention in ("transformers", "vllm", "sglang"):
        bands = yarn_bands(GPT_OSS, convention)
        assert bands["low"] == pytest.approx(8.092779115512402, rel=1e-9)
    for convention in ("llama.cpp", "deepseek"):
        assert (
            yarn_bands(GPT_OSS, convention)["low"],
            yarn_bands(GPT_OSS, convention)["high"],
        ) == (
            8,
            18,
        )


def test_llamacpp_float32_range_differs_only_in_rounding() -> None:
    exact = correction_dim(32, 128, 10000, 4096)
    bands = yarn_bands(
        RopeParams(rope_type="yarn", factor=16.0, original_max_position_embeddings=4096),
        "llama.cpp",
    )
    assert abs(bands["raw_low"] - exact) < 1e-12  # raw dims are reported in float64
    low32, _ = correction_range(32, 1, 128, 10000, 4096, truncate=False, float32=True)
    assert low32 != exact and abs(low32 - exact) < 1e-5


def test_sglang_ignores_attention_factor() -> None:
    """Section 0.3 #7: explicit attention_factor replaces (HF, vLLM), ignored by SGLang."""
    params = RopeParams(
        rope_type="yarn",
        factor=4.0,
        original_max_position_embeddings=4096,
        max_position_embeddings=16384,
        attention_factor=1.0,
    )
    assert resolve(params).attention_scaling == 1.0
    assert resolve(params, "vllm").attention_scaling == 1.0
    assert resolve(params, "sglang").attention_scaling == yarn_mscale(4.0)
    assert resolve(params, "llama.cpp").attention_scaling == yarn_mscale(4.0)


def test_truthiness_vs_presence_of_mscale() -> None:
    """Section 0.3 #6: mscale_all_dim 0 -> HF m(s,1); SGLang m(s,mscale)/m(s,0) = m(s,mscale)."""
    params = RopeParams(
        rope_type="yarn",
        factor=40.0,
        original_max_position_embeddings=4096,
        max_position_embeddings=163840,
        mscale=0.707,
        mscale_all_dim=0.0,
    )
    assert resolve(params).attention_scaling == yarn_mscale(40.0)
    assert resolve(params, "sglang").attention_scaling == pytest.approx(yarn_mscale(40.0, 0.707))


def test_served_context() -> None:
    """Section 6.2 C17: SGLang multiplies by factor unless original is declared."""
    no_original = RopeParams(rope_type="yarn", factor=4.0, max_position_embeddings=32768)
    assert resolve(no_original, "sglang").served_context == 131072
    assert resolve(no_original).served_context == 32768
    assert resolve(QWEN_STATIC, "sglang").served_context == 32768


def test_served_context_of_linear_and_dynamic() -> None:
    """Sections 3.c, 3.f: vLLM and SGLang multiply max_position_embeddings by factor for linear and
    dynamic too; vLLM skips gemma3 model types and SGLang skips a block that writes original."""
    linear = RopeParams(rope_type="linear", factor=2.5, max_position_embeddings=4096)
    block = {"type": "linear", "factor": 2.5}
    assert resolve(linear, "transformers", rope_block=block).served_context == 4096
    assert resolve(linear, "llama.cpp", rope_block=block).served_context == 4096
    assert resolve(linear, "vllm", model_type="llama", rope_block=block).served_context == 10240
    assert resolve(linear, "sglang", model_type="llama", rope_block=block).served_context == 10240

    gemma = RopeParams(rope_type="linear", factor=8.0, max_position_embeddings=131072)
    block = {"rope_type": "linear", "factor": 8.0}
    assert resolve(gemma, "vllm", model_type="gemma3_text").served_context == 131072
    assert resolve(gemma, "sglang", rope_block=block).served_context == 1048576

    # The tagger fills original from max_position_embeddings; SGLang reads the block as written.
    dynamic = RopeParams(
        rope_type="dynamic",
        factor=4.0,
        max_position_embeddings=2048,
        original_max_position_embeddings=2048,
    )
    written = {"rope_type": "dynamic", "factor": 4.0, "original_max_position_embeddings": 2048}
    assert resolve(dynamic, "vllm", rope_block=written).served_context == 8192
    assert resolve(dynamic, "sglang", rope_block=written).served_context == 2048
    bare = {"rope_type": "dynamic", "factor": 4.0}
    assert resolve(dynamic, "sglang", rope_block=bare).served_context == 8192
    # No block at all (Qwen-1 `use_dynamic_ntk`), or a nested per-layer block: no top-level factor.
    assert resolve(dynamic, "sglang", rope_block={}).served_context == 2048
    nested = {"full_attention": {"rope_type": "linear", "factor": 8.0}}
    assert resolve(gemma, "sglang", rope_block=nested).served_context == 131072

    llama3 = RopeParams(rope_type="llama3", factor=8.0, max_position_embeddings=131072)
    assert (
        resolve(llama3, "sglang", rope_block={"rope_type": "llama3", "factor": 8.0}).served_context
        == 131072
    )
    assert resolve(llama3, "vllm").served_context == 131072


def test_architecture_attention_factor_is_not_a_config_key() -> None:
    """DeepSeek-V4 style: the tagger supplies attention_factor 1.0 from the model code. SGLang
    ignores the key only when the config writes it (3.f); written, SGLang uses m(16) instead."""
    params = RopeParams(
        rope_type="yarn",
        factor=16.0,
        original_max_position_embeddings=65536,
        max_position_embeddings=1048576,
        attention_factor=1.0,
    )
    bare = {"type": "yarn", "factor": 16, "original_max_position_embeddings": 65536}
    for conv in ("transformers", "vllm", "sglang", "llama.cpp"):
        assert resolve(params, conv, rope_block=bare).attention_scaling == 1.0
    written = {**bare, "attention_factor": 1.0}
    m16 = 0.1 * math.log(16) + 1
    assert resolve(params, "sglang", rope_block=written).attention_scaling == pytest.approx(m16)
    assert resolve(params, "llama.cpp", rope_block=written).attention_scaling == pytest.approx(m16)
    nested = {"compress": written}
    assert resolve(params, "sglang", rope_block=nested).attention_scaling == pytest.approx(m16)


def test_inferred_factor_v5() -> None:
    params = RopeParams(
        rope_type="yarn", original_max_position_embeddings=4096, max_position_embeddings=131072
    )
    res = resolve(params)
    assert res.factor == 32.0
    assert res.attention_scaling == pytest.approx(0.1 * math.log(32) + 1)
    assert resolve(params, "sglang").factor == 1.0  # SGLang defaults a missing factor to 1.0


def test_longrope_vllm_serves_original_with_short_factors() -> None:
    params = RopeParams(
        rope_type="longrope",
        theta=10000.0,
        head_dim=8,
        rotary_dim=8,
        original_max_position_embeddings=4096,
        max_position_embeddings=131072,
        short_factor=(1.0, 1.0, 1.0, 1.0),
        long_factor=(1.0, 2.0, 4.0, 8.0),
    )
    assert frequency_ratio(params) == [1.0] * 4
    assert inverse_frequencies(params, seq_len=5000) == pytest.approx(
        [1.0, 0.1 / 2, 0.01 / 4, 0.001 / 8], rel=1e-12
    )
    # vLLM 0.33 defaults max_model_len to original_max_position_embeddings for LongRoPE, so
    # Phi3LongRoPEScaledRotaryEmbedding keeps the short factors (use_long_rope is False).
    vllm = resolve(params, "vllm")
    assert (vllm.served_context, vllm.longrope_long) == (4096, False)
    assert frequency_ratio(params, "vllm") == pytest.approx([1.0] * 4, rel=1e-12)
    assert resolve(params).attention_scaling == pytest.approx(1.1902380714238083, rel=1e-12)


def test_dynamic_not_in_gguf_or_vllm() -> None:
    params = RopeParams(rope_type="dynamic", factor=2.0, max_position_embeddings=4096)
    assert not resolve(params, "llama.cpp").applies_scaling
    assert not resolve(params, "vllm").applies_scaling
    assert inverse_frequencies(params, "vllm", seq_len=8192) == inverse_frequencies(RopeParams())
    assert inverse_frequencies(params, seq_len=8192) != inverse_frequencies(RopeParams())


@given(
    half=st.integers(min_value=4, max_value=128),
    base=st.floats(min_value=1e3, max_value=1e7),
    factor=st.floats(min_value=1.0, max_value=64.0),
    original=st.integers(min_value=256, max_value=262144),
    truncate=st.booleans(),
    betas=st.tuples(st.floats(min_value=2.0, max_value=64.0), st.floats(0.25, 1.5)),
)
@settings(max_examples=150, deadline=None)
def test_every_convention_gives_a_valid_yarn_blend(
    half: int,
    base: float,
    factor: float,
    original: int,
    truncate: bool,
    betas: tuple[float, float],
) -> None:
    """Whatever the runtime: frequencies lie in [theta/s, theta] and never increase their ratio."""
    params = RopeParams(
        rope_type="yarn",
        theta=base,
        head_dim=2 * half,
        rotary_dim=2 * half,
        factor=factor,
        original_max_position_embeddings=original,
        max_position_embeddings=int(original * factor),
        truncate=truncate,
        beta_fast=betas[0],
        beta_slow=betas[1],
    )
    for convention in CONVENTIONS:
        res = resolve(params, convention)
        ratio = frequency_ratio(params, convention)
        s = res.factor if res.applies_scaling else 1.0
        assert all(1 / s - 1e-12 <= r <= 1 + 1e-12 for r in ratio), convention
        assert all(a >= b - 1e-12 for a, b in zip(ratio, ratio[1:], strict=False)), convention
        assert res.attention_scaling > 0 and res.softmax_multiplier >= 1.0
        bands = yarn_bands(params, convention)
        assert 0 <= bands["low"] and bands["high"] <= 2 * half - 1
        if bands["low"] > bands["high"] and res.applies_scaling:
            # the [0, D-1] clamp can put high below low (L huge for this base); the reference
            # code then interpolates every pair (rope-scaling.md 3.0, clamp note)
            assert ratio == pytest.approx([1 / s] * half, rel=1e-12)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (RopeParams(theta=1.0), "theta"),
        (RopeParams(theta=float("inf")), "theta"),
        (RopeParams(theta=-5.0), "theta"),
        (RopeParams(rope_type="linear", factor=0.0), "factor"),
        (
            RopeParams(rope_type="yarn", factor=-4.0, original_max_position_embeddings=4096),
            "factor",
        ),
        (RopeParams(rope_type="yarn", factor=4.0), "original_max_position_embeddings"),
        (RopeParams(rope_type="ntk", head_dim=2, rotary_dim=2, alpha=2.0), "rotary_dim > 2"),
        (RopeParams(rope_type="dynamic", factor=2.0), "max_position_embeddings"),
        (RopeParams(rotary_dim=63), "even"),
        (
            RopeParams(
                rope_type="yarn",
                factor=4.0,
                original_max_position_embeddings=4096,
                mscale=1.0,
                mscale_all_dim=-1 / (0.1 * math.log(4.0)),
            ),
            "resolve",
        ),
        (
            RopeParams(
                rope_type="longrope",
                original_max_position_embeddings=1,
                max_position_embeddings=100,
                short_factor=(1.0,) * 64,
                long_factor=(1.0,) * 64,
            ),
            "resolve",
        ),
        (RopeParams(rope_type="longrope", short_factor=(1.0,), long_factor=(1.0,)), "64"),
        (RopeParams(rope_type="xpos"), "unknown rope type"),
    ],
)
def test_bad_parameters_give_a_clear_error(params: RopeParams, message: str) -> None:
    """Values no runtime could use raise UnsupportedRope with the reason, never a math error."""
    with pytest.raises(UnsupportedRope, match=message):
        inverse_frequencies(params)
