"""The one-pass rotation (`yarn_core.fused`) against transformers and the eager path.

Compiled kernels are built once per test session (torch.compile's cache is per process); the
shapes below vary sizes only, not ranks or widths, so each (pairing, dtype, pass-through) builds
once. The dispatch tests never compile: they check the choice of backend and the fallback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

import yarn_core.fused as fused
from yarn_core.params import RopeParams
from yarn_core.rope import _rotate, apply_rotary, apply_rotary_qk, cos_sin, mrope_cos_sin
from yarn_core.tables import cached_cos_sin, clear_table_cache, table_cache_info

DTYPES = [torch.float32, torch.bfloat16, torch.float16]
PAIRINGS = ["half", "interleaved"]


@pytest.fixture(autouse=True)
def _fresh_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees the automatic choice (no override from the environment), then forgets
    any choice it forced; compiled kernels stay cached for the session."""
    monkeypatch.delenv("ROPEDEX_ROTARY", raising=False)
    saved = dict(fused._chosen)
    yield
    fused._chosen.clear()
    fused._chosen.update(saved)


def _compiled_backend() -> str:
    backend = fused.select_backend("cpu")
    if backend != "compiled":  # gcc is installed in CI: a missing compiler is a failure there
        pytest.fail(f"torch.compile does not work here: the CPU backend is {backend!r}")
    return backend


def _tables(
    pairing: str, seq: int, rot: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    params = RopeParams(theta=10000.0, head_dim=rot, rotary_dim=rot, pairing=pairing)
    cos, sin = cos_sin(params, seq)
    return cos.to(dtype), sin.to(dtype)


def _reference(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, pairing: str) -> Any:
    """Exact rotation in float64 of x by the given (already rounded) table."""
    out = torch.empty(x.shape, dtype=torch.float64)
    rot = cos.shape[-1]
    _rotate(x.double(), cos.double(), sin.double(), out, pairing, rot)
    return out


def _ulp(dtype: torch.dtype, magnitude: float) -> float:
    return float(torch.finfo(dtype).eps) * magnitude


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pairing", PAIRINGS)
def test_fused_matches_transformers_and_eager(pairing: str, dtype: torch.dtype) -> None:
    if pairing == "half":
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
    else:
        from transformers.models.glm.modeling_glm import apply_rotary_pos_emb
    _compiled_backend()
    torch.manual_seed(3)
    seq, rot = 37, 64
    q = torch.randn(2, 3, seq, rot).to(dtype)
    k = torch.randn(2, 1, seq, rot).to(dtype)  # grouped keys: another leading size
    cos, sin = _tables(pairing, seq, rot, dtype)
    fq, fk = apply_rotary_qk(q, k, cos, sin, pairing=pairing, fused=True)
    eq, ek = apply_rotary_qk(q, k, cos, sin, pairing=pairing, fused=False)
    hf_cos, hf_sin = _tables("half", seq, rot, dtype)  # GLM interleaves the half layout itself
    hq, hk = apply_rotary_pos_emb(q, k, hf_cos[None], hf_sin[None])
    for x, f, e, h in ((q, fq, eq, hq), (k, fk, ek, hk)):
        assert f.dtype == dtype and f.shape == x.shape
        exact = _reference(x, cos, sin, pairing)
        scale = float(exact.abs().max())
        err = (f.double() - exact).abs().max().item()
        # float32 math, one rounding: within one ulp of the exact result for the same table
        assert err <= _ulp(dtype, scale), (err, scale)
        # no worse than transformers' or the eager path's own error (to half an ulp)
        assert err <= (h.double() - exact).abs().max().item() + _ulp(dtype, scale) / 2
        assert err <= (e.double() - exact).abs().max().item() + _ulp(dtype, scale) / 2
        assert (f.double() - e.double()).abs().max().item() <= 2 * _ulp(dtype, scale)
        assert (f.double() - h.double()).abs().max().item() <= 4 * _ulp(dtype, scale)


@pytest.mark.parametrize("pairing", PAIRINGS)
def test_fused_partial_rotary_and_odd_shapes(pairing: str) -> None:
    _compiled_backend()
    torch.manual_seed(4)
    for shape in [(1, 5, 7, 48), (3, 2, 130, 48), (11, 48)]:
        x = torch.randn(shape)
        cos, sin = _tables(pairing, shape[-2], 32, torch.float32)
        got = apply_rotary(x, cos, sin, pairing=pairing, fused=True)
        want = apply_rotary(x, cos, sin, pairing=pairing, fused=False)
        assert torch.equal(got[..., 32:], x[..., 32:])  # pass-through copied bit for bit
        assert torch.allclose(got, want, atol=_ulp(torch.float32, 4 * float(x.abs().max())))
        exact = _reference(x, cos, sin, pairing)
        bound = _ulp(torch.float32, float(exact.abs().max()))
        assert torch.allclose(got.double(), exact, atol=bound, rtol=0)


@pytest.mark.parametrize("pairing", PAIRINGS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_one_kernel_for_q_and_k_equals_each_alone(
    pairing: str, dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply_rotary_qk's single compiled kernel gives bit for bit what rotating q and k one at
    a time does, for grouped keys, partial rotary and strided inputs (which take the per-tensor
    path), and it is the path taken for contiguous inputs."""
    import yarn_core.fused as fused_module

    _compiled_backend()
    torch.manual_seed(6)
    seq = 19
    calls: list[str] = []
    kernel = fused_module._compiled_kernel
    monkeypatch.setattr(
        fused_module,
        "_compiled_kernel",
        lambda p, both=False: calls.append("qk" if both else "one") or kernel(p, both=both),
    )
    cases = [
        (torch.randn(2, 4, seq, 64), torch.randn(2, 2, seq, 64), 64),  # grouped keys
        (torch.randn(1, 3, seq, 48), torch.randn(1, 3, seq, 48), 32),  # partial rotary
        (torch.randn(2, seq, 3, 64).transpose(1, 2), torch.randn(2, 3, seq, 64), 64),  # strided
    ]
    for q, k, rot in cases:
        q, k = q.to(dtype), k.to(dtype)
        cos, sin = _tables(pairing, seq, rot, dtype)
        calls.clear()
        got_q, got_k = apply_rotary_qk(q, k, cos, sin, pairing=pairing, fused=True)
        assert calls[0] == ("qk" if q.is_contiguous() else "one")
        want_q = apply_rotary(q, cos, sin, pairing=pairing, fused=True)
        want_k = apply_rotary(k, cos, sin, pairing=pairing, fused=True)
        assert torch.equal(got_q, want_q) and torch.equal(got_k, want_k)
        eager_q = apply_rotary(q, cos, sin, pairing=pairing, fused=False)
        scale = float(q.abs().max())
        assert (got_q.double() - eager_q.double()).abs().max().item() <= 2 * _ulp(dtype, scale)
        outs = (torch.empty_like(q), torch.empty_like(k))
        into = apply_rotary_qk(q, k, cos, sin, pairing=pairing, fused=True, out=outs)
        assert into[0] is outs[0] and into[1] is outs[1] and torch.equal(outs[1], want_k)


def test_fused_non_contiguous_inputs_and_outputs() -> None:
    _compiled_backend()
    torch.manual_seed(5)
    seq, rot = 29, 64
    x = torch.randn(2, seq, 3, rot).transpose(1, 2)  # (2, 3, seq, rot), strided
    assert not x.is_contiguous()
    cos, sin = _tables("half", seq, rot, torch.float32)
    out = torch.empty(2, seq, 3, rot).transpose(1, 2)  # strided output
    got = apply_rotary(x, cos, sin, out=out, fused=True)
    assert got is out
    want = apply_rotary(x.contiguous(), cos, sin, fused=False)
    assert torch.allclose(got, want, atol=_ulp(torch.float32, 4 * float(x.abs().max())))
    # a table broadcast over heads of a (batch, seq, heads, dim) layout
    y = torch.randn(2, seq, 3, rot)
    b = apply_rotary(y, cos[:, None, :], sin[:, None, :], fused=True)
    e = apply_rotary(y, cos[:, None, :], sin[:, None, :], fused=False)
    assert torch.allclose(b, e, atol=_ulp(torch.float32, 4 * float(y.abs().max())))


def test_fused_mrope_tables_against_eager() -> None:
    _compiled_backend()
    params = RopeParams(theta=1e6, head_dim=64, rotary_dim=64, mrope_section=(8, 12, 12))
    torch.manual_seed(6)
    position_ids = torch.randint(0, 5000, (3, 41))
    cos, sin = mrope_cos_sin(params, position_ids)
    x = torch.randn(1, 4, 41, 64)
    got = apply_rotary(x, cos, sin, fused=True)
    want = apply_rotary(x, cos, sin, fused=False)
    assert torch.allclose(got, want, atol=_ulp(torch.float32, 4 * float(x.abs().max())))
    exact = _reference(x, cos, sin, "half")
    assert (got.double() - exact).abs().max() <= (want.double() - exact).abs().max() + 1e-7


def test_fused_into_outputs_and_default_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    _compiled_backend()
    torch.manual_seed(7)
    q, k = torch.randn(1, 2, 33, 64), torch.randn(1, 2, 33, 64)
    cos, sin = _tables("half", 33, 64, torch.float32)
    outs = (torch.empty_like(q), torch.empty_like(k))
    rq, rk = apply_rotary_qk(q, k, cos, sin, out=outs, fused=True)
    assert rq is outs[0] and rk is outs[1]
    calls: list[str] = []
    real = fused.rotate_fused

    def spy(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(kwargs["backend"])
        return real(*args, **kwargs)

    monkeypatch.setattr(fused, "rotate_fused", spy)
    apply_rotary(q, cos, sin)  # small: the default keeps the eager path, nothing compiles
    assert calls == []
    monkeypatch.setattr(fused, "FUSED_MIN_ELEMENTS", q.numel())
    default = apply_rotary(q, cos, sin)  # now large enough for the default
    assert calls == ["compiled"]
    assert torch.allclose(default, rq, atol=0, rtol=0)
    apply_rotary(q.double(), cos, sin)  # float64 is not a fused dtype: eager
    assert calls == ["compiled"]


# ---- dispatch (no compilation) ----


def test_available_backends_order() -> None:
    assert fused.available_backends("cpu", triton_ok=False, compiler_ok=True) == (
        "compiled",
        "eager",
    )
    assert fused.available_backends("cpu", triton_ok=True, compiler_ok=False) == ("eager",)
    assert fused.available_backends("cuda", triton_ok=True, compiler_ok=True) == (
        "triton",
        "compiled",
        "eager",
    )
    # inductor generates Triton on CUDA: without triton nothing compiles there
    assert fused.available_backends("cuda", triton_ok=False, compiler_ok=True) == ("eager",)
    assert fused.available_backends("mps", triton_ok=True, compiler_ok=True) == ("eager",)


def test_cuda_without_triton_falls_back_to_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused, "_triton_importable", lambda: False)
    monkeypatch.setattr(fused, "_probe", lambda *a: pytest.fail("nothing to probe"))
    fused._chosen.clear()
    assert fused.select_backend("cuda") == "eager"
    with pytest.raises(ValueError, match="'triton' is not available on cuda"):
        fused.select_backend("cuda", "triton")


def test_cuda_with_triton_tries_triton_first(monkeypatch: pytest.MonkeyPatch) -> None:
    probed: list[tuple[str, str]] = []

    def probe(name: str, device_type: str) -> bool:
        probed.append((name, device_type))
        return name == "compiled"  # the Triton kernel fails its probe: the next one is taken

    monkeypatch.setattr(fused, "_triton_importable", lambda: True)
    monkeypatch.setattr(fused, "_compiler_present", lambda: True)
    monkeypatch.setattr(fused, "_probe", probe)
    fused._chosen.clear()
    assert fused.select_backend("cuda") == "compiled"
    assert probed == [("triton", "cuda"), ("compiled", "cuda")]
    assert fused.select_backend("cuda") == "compiled"  # cached: no second probe
    assert len(probed) == 2


def test_no_compiler_or_failed_probe_means_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(8)
    x = torch.randn(2, 3, 9, 16)
    cos, sin = _tables("half", 9, 16, torch.float32)
    want = apply_rotary(x, cos, sin, fused=False)
    monkeypatch.setattr(fused, "_compiler_present", lambda: False)
    fused._chosen.clear()
    assert fused.select_backend("cpu") == "eager"
    assert torch.equal(apply_rotary(x, cos, sin, fused=True), want)  # eager, bit for bit
    monkeypatch.setattr(fused, "_compiler_present", lambda: True)
    monkeypatch.setattr(fused, "_run_compiled", _raise)  # a compiler that cannot build
    fused._chosen.clear()
    assert fused.select_backend("cpu") == "eager"
    assert torch.equal(apply_rotary(x, cos, sin, fused=True), want)


def _raise(*args: Any) -> None:
    raise RuntimeError("inductor: C++ compile failed")


def test_environment_forces_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROPEDEX_ROTARY", "eager")
    monkeypatch.setattr(fused, "_probe", lambda *a: pytest.fail("eager needs no probe"))
    assert fused.backend_override() == "eager"
    x = torch.randn(1, 2, 5, 8)
    cos, sin = _tables("interleaved", 5, 8, torch.float32)
    forced = apply_rotary(x, cos, sin, pairing="interleaved", fused=True)
    assert torch.equal(forced, apply_rotary(x, cos, sin, pairing="interleaved", fused=False))
    monkeypatch.setenv("ROPEDEX_ROTARY", "fast")
    with pytest.raises(ValueError, match="ROPEDEX_ROTARY must be one of"):
        fused.backend_override()
    with pytest.raises(ValueError, match="backend must be one of"):
        fused.select_backend("cpu", "fast")


# ---- cached tables ----


def test_cached_cos_sin_float64_angles_and_reuse() -> None:
    params = RopeParams(
        rope_type="yarn",
        theta=10000.0,
        head_dim=64,
        rotary_dim=64,
        factor=8.0,
        original_max_position_embeddings=1024,
    )
    clear_table_cache()
    cos, sin = cached_cos_sin(params, 4096)
    again = cached_cos_sin(params, 4096)
    assert again[0] is cos and again[1] is sin
    hits, misses, size = table_cache_info()
    assert (hits, misses, size) == (1, 1, 1)
    c64, s64 = cos_sin(params, 4096, dtype=torch.float64, angle_dtype=torch.float64)
    assert cos.dtype == torch.float32
    # float64 angles rounded once: half an ulp of float32 at most
    assert (cos.double() - c64).abs().max() <= 2.0**-24 * float(c64.abs().max())
    c32, _ = cos_sin(params, 4096)  # float32 angles drift with the position
    assert (c32.double() - c64).abs().max() > 10 * (cos.double() - c64).abs().max()
    other = cached_cos_sin(params, 4096, dtype=torch.bfloat16)
    assert other[0].dtype == torch.bfloat16 and table_cache_info()[2] == 2


def test_fused_reads_one_member_of_shared_pairs_and_notices_changes() -> None:
    _compiled_backend()
    torch.manual_seed(9)
    seq, rot = 23, 64
    x = torch.randn(2, 3, seq, rot)
    cos, sin = _tables("half", seq, rot, torch.float32)
    c, s = fused._paired_tables(cos, sin, "half")
    assert c.shape == (seq, 1, rot // 2) and s.shape == (seq, 1, rot // 2)  # one member read
    before = apply_rotary(x, cos, sin, fused=True)
    assert torch.allclose(before, apply_rotary(x, cos, sin, fused=False), atol=1e-6, rtol=0)
    cos[:, rot // 2 :].mul_(0.5)  # in place: the two members now differ
    c, s = fused._paired_tables(cos, sin, "half")
    assert c.shape == (seq, 2, rot // 2)
    after = apply_rotary(x, cos, sin, fused=True)
    want = apply_rotary(x, cos, sin, fused=False)
    assert not torch.allclose(after, before)
    assert torch.allclose(after, want, atol=_ulp(torch.float32, 4 * float(x.abs().max())), rtol=0)
    # an arbitrary table (no shared pairs) in the interleaved layout
    rc, rs = torch.randn(seq, rot), torch.randn(seq, rot)
    got = apply_rotary(x, rc, rs, pairing="interleaved", fused=True)
    want = apply_rotary(x, rc, rs, pairing="interleaved", fused=False)
    assert torch.allclose(got, want, atol=_ulp(torch.float32, 8 * float(x.abs().max())), rtol=0)


def test_too_many_specialisations_fall_back_to_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    _compiled_backend()

    def exhausted(*tensors: torch.Tensor) -> None:
        raise torch._dynamo.exc.Unsupported("Dynamo recompile limit exceeded")

    monkeypatch.setattr(fused, "_compiled_kernel", lambda pairing: exhausted)
    torch.manual_seed(10)
    for pairing in PAIRINGS:
        x = torch.randn(2, 3, 17, 48)
        cos, sin = _tables(pairing, 17, 32, torch.float32)
        got = apply_rotary(x, cos, sin, pairing=pairing, fused=True)
        assert torch.equal(got, apply_rotary(x, cos, sin, pairing=pairing, fused=False))


def test_shared_pair_check_is_never_taken_from_a_freed_table() -> None:
    """A new table may land at a freed table's address: the check must be made again."""
    _compiled_backend()
    torch.manual_seed(11)
    x = torch.randn(2, 3, 23, 64)
    atol = _ulp(torch.float32, 8 * float(x.abs().max()))
    for i in range(6):
        if i % 2:
            cos, sin = torch.randn(23, 64), torch.randn(23, 64)  # members differ
        else:
            cos, sin = _tables("half", 23, 64, torch.float32)  # members repeat
        got = apply_rotary(x, cos, sin, fused=True)
        want = apply_rotary(x, cos, sin, fused=False)
        assert torch.allclose(got, want, atol=atol, rtol=0), i
        del cos, sin, got, want


def test_large_fresh_outputs_live_on_their_own_mapping_and_stay_valid() -> None:
    """Large CPU outputs come from `yarn_core.outputs` (a huge-page mapping); they hold the
    right values, outlive every input, and are freed with the tensor. Small or strided ones
    are plain `empty_like` tensors."""
    import gc

    from yarn_core.outputs import HUGE_MIN_BYTES, empty_like

    seq, rot = 4096, 128
    q = torch.randn(1, 8, seq, rot)  # 16 MiB
    assert q.numel() * q.element_size() >= HUGE_MIN_BYTES
    cos, sin = _tables("half", seq, rot, torch.float32)
    got_q, got_k = apply_rotary_qk(q, q.clone(), cos, sin, fused=True)
    want = apply_rotary(q, cos, sin, fused=False)
    del q, cos, sin
    gc.collect()
    assert got_q.untyped_storage().data_ptr() % 4096 == 0 and got_q.is_contiguous()
    assert torch.allclose(got_q, want, atol=1e-5) and torch.equal(got_q, got_k)
    got_q.add_(1.0)  # writable
    small = torch.randn(4, 16)
    assert empty_like(small).shape == small.shape
    strided = torch.randn(8, seq, rot).transpose(0, 1)
    assert empty_like(strided).stride() == torch.empty_like(strided).stride()
