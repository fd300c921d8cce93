"""Tensor side of yarn_core: cos/sin tables, apply_rotary, mRoPE and the relative-position property.

References are transformers' own functions (`apply_rotary_pos_emb` of Llama and GLM, the Qwen2-VL
and Qwen3-VL rotary classes) and an independent float64 rotation written as complex products.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from yarn_core.params import RopeParams
from yarn_core.rope import (
    apply_rotary,
    apply_rotary_qk,
    attention_scaling,
    cos_sin,
    inv_freq,
    mrope_cos_sin,
    mrope_pair_streams,
    resolve_device,
)

YARN = RopeParams(
    rope_type="yarn",
    theta=10000.0,
    head_dim=128,
    rotary_dim=128,
    factor=16.0,
    original_max_position_embeddings=4096,
    max_position_embeddings=65536,
)


def complex_reference(
    x: torch.Tensor, freqs: torch.Tensor, positions: torch.Tensor, pairing: str, scale: float
) -> torch.Tensor:
    """Rotation as a complex product in float64: pair (a, b) -> (a + ib) * scale * e^(i p theta)."""
    x64 = x.double()
    rot = 2 * freqs.numel()
    if pairing == "half":
        a, b = x64[..., : rot // 2], x64[..., rot // 2 : rot]
    else:
        a, b = x64[..., 0:rot:2], x64[..., 1:rot:2]
    angles = positions.double()[:, None] * freqs.double()[None, :]  # (seq, D/2)
    z = torch.complex(a, b) * torch.polar(torch.full_like(angles, scale), angles)
    out = x64.clone()
    if pairing == "half":
        out[..., : rot // 2], out[..., rot // 2 : rot] = z.real, z.imag
    else:
        out[..., 0:rot:2], out[..., 1:rot:2] = z.real, z.imag
    return out


def angle_tolerance(x: torch.Tensor, last_position: int) -> float:
    """Float32 rotation error bound: angle error p * theta_0 * 2^-22 plus a few ulps, times |x|."""
    return float(x.abs().max()) * 2 * (last_position * 2.0**-22 + 4 * 2.0**-23)


def test_resolve_device() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


def test_inv_freq_tensor_matches_float32_reference() -> None:
    freqs = inv_freq(YARN)
    assert freqs.shape == (64,) and freqs.dtype == torch.float64
    f32 = inv_freq(YARN, dtype=torch.float32)
    assert torch.allclose(f32.double(), freqs, rtol=3e-7, atol=0)


def test_cos_sin_against_transformers_llama() -> None:
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config = LlamaConfig(
        hidden_size=1024,
        num_attention_heads=8,
        max_position_embeddings=65536,
        rope_parameters={
            "rope_type": "yarn",
            "rope_theta": 10000.0,
            "factor": 16.0,
            "original_max_position_embeddings": 4096,
        },
    )
    rotary = LlamaRotaryEmbedding(config)
    positions = torch.arange(0, 65536, 97)
    x = torch.zeros(1, dtype=torch.float32)
    hf_cos, hf_sin = rotary(x, positions[None])
    cos, sin = cos_sin(YARN, positions)
    assert cos.shape == (positions.numel(), 128)
    # identical float32 angles up to one ulp of inv_freq: |d angle| <= p * theta * 2^-23
    tol = 65536 * 2**-23 * attention_scaling(YARN) + 1e-6
    assert torch.allclose(cos, hf_cos[0], atol=tol, rtol=0)
    assert torch.allclose(sin, hf_sin[0], atol=tol, rtol=0)
    assert attention_scaling(YARN) == pytest.approx(float(rotary.attention_scaling), rel=1e-12)


def test_cos_sin_float64_angles_and_dtypes() -> None:
    cos64, sin64 = cos_sin(YARN, 5000, dtype=torch.float64, angle_dtype=torch.float64)
    angles = torch.arange(5000, dtype=torch.float64)[:, None] * inv_freq(YARN)[None, :]
    scale = attention_scaling(YARN)
    assert torch.allclose(cos64[:, :64], angles.cos() * scale, atol=1e-12)
    assert torch.equal(cos64[:, :64], cos64[:, 64:])
    bf_cos, _ = cos_sin(YARN, 10, dtype=torch.bfloat16)
    assert bf_cos.dtype == torch.bfloat16
    with pytest.raises(ValueError, match="float32 or float64"):
        cos_sin(YARN, 10, angle_dtype=torch.bfloat16)


@pytest.mark.parametrize("rotary_dim", [128, 64, 32])
def test_apply_rotary_half_against_transformers(rotary_dim: int) -> None:
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    params = RopeParams(theta=500000.0, head_dim=128, rotary_dim=rotary_dim)
    torch.manual_seed(0)
    q, k = torch.randn(2, 4, 300, 128), torch.randn(2, 2, 300, 128)
    cos, sin = cos_sin(params, 300)
    rq, rk = apply_rotary_qk(q, k, cos, sin)
    hq, hk = apply_rotary_pos_emb(q[..., :rotary_dim], k[..., :rotary_dim], cos[None], sin[None])
    assert torch.allclose(rq[..., :rotary_dim], hq, atol=2e-6, rtol=0)
    assert torch.allclose(rk[..., :rotary_dim], hk, atol=2e-6, rtol=0)
    assert torch.equal(rq[..., rotary_dim:], q[..., rotary_dim:])  # pass-through untouched
    ref = complex_reference(q, inv_freq(params), torch.arange(300), "half", 1.0)
    assert torch.allclose(rq.double(), ref, atol=angle_tolerance(q, 299), rtol=0)


@pytest.mark.parametrize("rotary_dim", [128, 64])
def test_apply_rotary_interleaved_against_transformers_glm(rotary_dim: int) -> None:
    from transformers.models.glm.modeling_glm import apply_rotary_pos_emb

    half = RopeParams(theta=10000.0, head_dim=128, rotary_dim=rotary_dim, pairing="half")
    inter = RopeParams(theta=10000.0, head_dim=128, rotary_dim=rotary_dim, pairing="interleaved")
    torch.manual_seed(1)
    q, k = torch.randn(1, 3, 257, 128), torch.randn(1, 3, 257, 128)
    hf_cos, hf_sin = cos_sin(half, 257)  # GLM takes the half layout and interleaves it itself
    hq, hk = apply_rotary_pos_emb(q, k, hf_cos[None], hf_sin[None])
    cos, sin = cos_sin(inter, 257)
    rq, rk = apply_rotary_qk(q, k, cos, sin, pairing="interleaved")
    assert torch.allclose(rq, hq, atol=2e-6, rtol=0)
    assert torch.allclose(rk, hk, atol=2e-6, rtol=0)
    ref = complex_reference(q, inv_freq(inter), torch.arange(257), "interleaved", 1.0)
    assert torch.allclose(rq.double(), ref, atol=angle_tolerance(q, 256), rtol=0)


@pytest.mark.parametrize("pairing", ["half", "interleaved"])
def test_apply_rotary_float64_exact_and_scaled(pairing: str) -> None:
    params = RopeParams(
        rope_type="yarn",
        theta=150000.0,
        head_dim=64,
        rotary_dim=64,
        pairing=pairing,
        factor=32.0,
        original_max_position_embeddings=4096,
        max_position_embeddings=131072,
        truncate=False,
    )
    positions = torch.tensor([0, 1, 4095, 4096, 65535, 131071])
    x = torch.randn(3, positions.numel(), 64, dtype=torch.float64)
    cos, sin = cos_sin(params, positions, dtype=torch.float64, angle_dtype=torch.float64)
    out = apply_rotary(x, cos, sin, pairing=pairing)
    ref = complex_reference(x, inv_freq(params), positions, pairing, attention_scaling(params))
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("block_rows", [7, 100, 1000, 2500, 1 << 20])
@pytest.mark.parametrize("pairing", ["half", "interleaved"])
def test_apply_rotary_blocks_match_single_pass(
    block_rows: int, pairing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every CPU block layout (rows within a sequence, whole sequences, one block) equals the
    plain single pass (a broadcast table disables blocking)."""
    import yarn_core.rope as rope_module

    monkeypatch.setattr(rope_module, "_CPU_BLOCK_BYTES", block_rows * 64 * 4)
    params = RopeParams(head_dim=64, rotary_dim=48, pairing=pairing)
    x = torch.randn(3, 5, 1000, 64)
    cos, sin = cos_sin(params, 1000)
    blocked = apply_rotary(x, cos, sin, pairing=pairing)
    plain = apply_rotary(x, cos[None, None], sin[None, None], pairing=pairing)
    assert torch.equal(blocked, plain)
    out = torch.empty_like(x)
    assert apply_rotary(x, cos, sin, pairing=pairing, out=out) is out
    assert torch.equal(out, plain)


def test_apply_rotary_rejects_bad_shapes() -> None:
    x = torch.randn(2, 10, 64)
    cos, sin = cos_sin(RopeParams(head_dim=64, rotary_dim=64), 10)
    with pytest.raises(ValueError, match="rotary_dim"):
        apply_rotary(x, cos, sin, rotary_dim=62)
    with pytest.raises(ValueError, match="pairing"):
        apply_rotary(x, cos, sin, pairing="diagonal")


def test_mrope_against_qwen2_vl() -> None:
    from transformers import Qwen2VLConfig
    from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VLRotaryEmbedding

    fields: dict[str, Any] = {
        "hidden_size": 1536,
        "num_attention_heads": 12,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1e6,
            "mrope_section": [16, 24, 24],
        },
    }
    config: Any = Qwen2VLConfig(**fields).get_text_config()
    params = RopeParams(theta=1e6, head_dim=128, rotary_dim=128, mrope_section=(16, 24, 24))
    torch.manual_seed(2)
    position_ids = torch.randint(0, 5000, (3, 77))
    rotary = Qwen2VLRotaryEmbedding(config)
    assert torch.allclose(rotary.inv_freq.double(), inv_freq(params), rtol=1e-6, atol=0)
    # same float32 angles on both sides: the layout must then match bit for bit
    rotary.register_buffer("inv_freq", inv_freq(params, dtype=torch.float32), persistent=False)
    hf_cos, hf_sin = rotary(torch.zeros(1), position_ids[:, None, :])
    cos, sin = mrope_cos_sin(params, position_ids)
    assert torch.equal(cos, hf_cos[0])
    assert torch.equal(sin, hf_sin[0])


def test_mrope_interleaved_against_qwen3_vl() -> None:
    from transformers import Qwen3VLConfig
    from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLTextRotaryEmbedding

    rope = {
        "rope_type": "default",
        "rope_theta": 5e6,
        "mrope_section": [24, 20, 20],
        "mrope_interleaved": True,
    }
    config: Any = Qwen3VLConfig(
        text_config={
            "hidden_size": 2048,
            "num_attention_heads": 16,
            "head_dim": 128,
            "rope_parameters": rope,
        },
    ).get_text_config()
    params = RopeParams(
        theta=5e6, head_dim=128, rotary_dim=128, mrope_section=(24, 20, 20), mrope_interleaved=True
    )
    streams = mrope_pair_streams(params)
    assert streams[:6] == [0, 1, 2, 0, 1, 2] and streams[60:] == [0, 0, 0, 0]
    position_ids = torch.randint(0, 3000, (3, 50))
    rotary = Qwen3VLTextRotaryEmbedding(config)
    assert torch.allclose(rotary.inv_freq.double(), inv_freq(params), rtol=1e-6, atol=0)
    # same float32 angles on both sides: the layout must then match bit for bit
    rotary.register_buffer("inv_freq", inv_freq(params, dtype=torch.float32), persistent=False)
    hf_cos, hf_sin = rotary(torch.zeros(1), position_ids[:, None, :])
    cos, sin = mrope_cos_sin(params, position_ids)
    assert torch.equal(cos, hf_cos[0])
    assert torch.equal(sin, hf_sin[0])


def test_mrope_section_must_cover_pairs() -> None:
    params = RopeParams(head_dim=128, rotary_dim=128, mrope_section=(16, 24, 16))
    with pytest.raises(ValueError, match="sum"):
        mrope_pair_streams(params)


# --- relative position: q.k after rotation depends only on m - n -------------------------------


def float32_budget(q: torch.Tensor, k: torch.Tensor, freqs: torch.Tensor, m: int, n: int) -> float:
    """Worst-case |error| of a float32 rotated dot product against exact arithmetic.

    Each float32 angle p * theta_j carries at most p * theta_j * 2^-23 of error (one rounding of
    theta_j, one of the product); cos/sin, the rotation and the dot product add a few ulps.
    """
    eps = 2.0**-23
    rot = 2 * freqs.numel()
    qa, qb = q[: rot // 2].double(), q[rot // 2 : rot].double()
    ka, kb = k[: rot // 2].double(), k[rot // 2 : rot].double()
    mag = torch.sqrt(qa**2 + qb**2) * torch.sqrt(ka**2 + kb**2)  # (D/2,)
    angle_err = (m + n) * freqs.double() * eps
    return float((mag * (angle_err + 8 * eps)).sum() + rot * eps * mag.sum())


def rotated_dot(
    params: RopeParams, q: torch.Tensor, k: torch.Tensor, m: int, n: int, dtype: torch.dtype
) -> float:
    positions = torch.tensor([m, n])
    cos, sin = cos_sin(params, positions, dtype=dtype, angle_dtype=dtype)
    rq = apply_rotary(q.to(dtype)[None], cos[:1], sin[:1])[0]
    rk = apply_rotary(k.to(dtype)[None], cos[1:], sin[1:])[0]
    return float((rq.double() * rk.double()).sum())


CONTEXTS = [
    pytest.param(YARN, id="yarn-64k"),
    pytest.param(
        RopeParams(
            rope_type="llama3",
            theta=500000.0,
            factor=8.0,
            low_freq_factor=1.0,
            high_freq_factor=4.0,
            original_max_position_embeddings=8192,
            max_position_embeddings=131072,
        ),
        id="llama3-128k",
    ),
    pytest.param(RopeParams(theta=1e7, max_position_embeddings=1 << 20), id="default-1M"),
]


@pytest.mark.parametrize("params", CONTEXTS)
def test_relative_position_property(params: RopeParams) -> None:
    """Scores at (m, n) and (m + d, n + d) agree, up to the declared context, in float32."""
    assert params.max_position_embeddings is not None
    last = params.max_position_embeddings - 1
    torch.manual_seed(3)
    q, k = torch.randn(128), torch.randn(128)
    freqs = inv_freq(params)
    scale = attention_scaling(params) ** 2
    for gap in (0, 1, 17, 1000, last // 3):
        exact = rotated_dot(params, q, k, gap, 0, torch.float64)
        for shift in (1, 4096, last // 2, last - gap):
            m, n = gap + shift, shift
            assert rotated_dot(params, q, k, m, n, torch.float64) == pytest.approx(
                exact, abs=1e-9 * scale * float(q.norm() * k.norm())
            )
            f32 = rotated_dot(params, q, k, m, n, torch.float32)
            budget = scale * float32_budget(q, k, freqs, m, n)
            assert abs(f32 - exact) <= budget, (m, n, f32 - exact, budget)


def relative_error_budget(context: int, trials: int = 32) -> dict[str, float]:
    """Observed float32 error of rotated q.k at the end of `context` (for docs/yarn_core.md)."""
    params = RopeParams(theta=1e6 if context > 200_000 else 500000.0)
    torch.manual_seed(4)
    worst_abs = worst_rel = budget = 0.0
    for _ in range(trials):
        q, k = torch.randn(128), torch.randn(128)
        m, n = context - 1, context - 1 - 100
        exact = rotated_dot(params, q, k, 100, 0, torch.float64)
        err = abs(rotated_dot(params, q, k, m, n, torch.float32) - exact)
        worst_abs = max(worst_abs, err)
        worst_rel = max(worst_rel, err / float(q.norm() * k.norm()))
        budget = max(budget, float32_budget(q, k, inv_freq(params), m, n))
    return {
        "context": context,
        "max_abs": worst_abs,
        "max_rel_to_norms": worst_rel,
        "budget": budget,
        "float32_ulp_at_end": 2.0 ** (math.floor(math.log2(context - 1)) - 23),
    }


if __name__ == "__main__":
    for ctx in (131072, 1 << 20):
        print(relative_error_budget(ctx))
