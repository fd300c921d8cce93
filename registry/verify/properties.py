"""Property checks on real tensors (P0-P9; docs/verifier.md lists each).

Torch is imported inside the functions that need it, so importing this module stays cheap."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry.formatting import fmt_value
from registry.verify.check import Check, merge_layers
from registry.verify.inputs import VerifyInput, declared_dtype
from yarn_core.conventions import Resolved, logit_multiplier, resolve
from yarn_core.frequencies import unscaled
from yarn_core.params import RopeParams
from yarn_core.scaling import correction_range, llama3_band_factors, wavelength, yarn_mscale

if TYPE_CHECKING:
    import torch


EXACT = 1e-9  # relative tolerance of "unchanged" / "exactly divided by s" in float64


COVERAGE_WARN = 1.01  # max angle ratio above which a pair rotates further than in training


COVERAGE_FAIL = 2.0  # ... and above which a scaling type fails to cover the declared context


INVARIANCE_WARN = 0.02  # normalised score error at the declared context (declared dtype)


INVARIANCE_FAIL = 0.5  # ... beyond which relative positions are no longer told apart


# Static scalings whose whole purpose is to cover the declared context; dynamic NTK only warns
# (its threshold is max_position_embeddings in transformers, the trained length in Qwen's code).
SCALING_TYPES_THAT_COVER = ("yarn", "linear", "longrope", "ntk")


# Architectures whose rotary layers use chunked attention (the NoPE layers see the whole
# context): transformers' Llama 4 builds `chunked_attention` layer types for every RoPE layer.
CHUNKED_ROPE_MODEL_TYPES = frozenset({"llama4", "llama4_text"})


def tensor_checks(
    inp: VerifyInput, layers: dict[str, RopeParams], dev: torch.device
) -> list[Check]:
    """P1-P9 per layer type, merged into one check per id."""
    results: dict[str, dict[str, Check]] = {}
    for layer, params in layers.items():
        for check in layer_tensor_checks(inp, params, dev):
            results.setdefault(check.id, {})[layer] = check
    return [merge_layers(per_layer) for per_layer in results.values()]


def layer_tensor_checks(inp: VerifyInput, params: RopeParams, dev: torch.device) -> list[Check]:
    """The property checks of one layer type; an embedding yarn_core cannot build fails P0."""
    from yarn_core.frequencies import UnsupportedRope

    try:
        freqs = Frequencies.build(inp, params, dev)
    except (UnsupportedRope, ArithmeticError, ValueError, TypeError) as exc:
        msg = f"yarn_core cannot build this embedding: {exc}"
        return [Check("P0-computable", "fail", msg)]
    checks = [Check("P0-computable", "pass", "yarn_core builds the embedding")]
    steps: list[tuple[str, Callable[[], list[Check]]]] = [
        ("P1-high-freq-untouched", lambda: [check_high_freq_untouched(freqs)]),
        ("P2-low-freq-interpolated", lambda: [check_low_freq_interpolated(freqs)]),
        ("P3-monotone-blend", lambda: [check_monotone_blend(freqs)]),
        ("P4-angle-coverage", lambda: [check_angle_coverage(freqs, inp.model_type)]),
        ("P5-magnitude", lambda: [check_magnitude(freqs, inp.model_type)]),
        ("P6-range-rounding", lambda: [check_range_rounding(freqs)]),
        ("P8-finite-cos-sin", lambda: cos_sin_checks(freqs, declared_dtype(inp.torch_dtype))),
    ]
    for check_id, step in steps:
        try:
            checks += step()
        except (UnsupportedRope, ArithmeticError, ValueError, TypeError) as exc:
            checks.append(Check(check_id, "fail", f"cannot be evaluated for these numbers: {exc}"))
    return checks


@dataclass
class Frequencies:
    """Scaled and unscaled inverse frequencies of one layer type, as float64 tensors."""

    params: RopeParams
    resolved: Resolved
    scaled: torch.Tensor  # (D/2,) at the declared context
    plain: torch.Tensor  # (D/2,) unscaled
    declared: int | None  # the context the config declares
    end: int  # positions checked run up to this (declared, else trained, else 4096)
    original: int | None  # the trained context L
    device: torch.device

    @classmethod
    def build(cls, inp: VerifyInput, params: RopeParams, dev: torch.device) -> Frequencies:
        import torch

        from yarn_core.rope import inv_freq

        if not (math.isfinite(params.theta) and params.theta > 1):
            raise ValueError(f"rope_theta {params.theta!r} must be a finite number > 1")
        res = resolve(params, "transformers", model_type=inp.model_type)
        declared = params.max_position_embeddings or inp.declared_context
        # Only fingerprinted inputs, so every model sharing a verify fingerprint gets this result.
        original = res.original_context if params.rope_type != "default" else None
        original = original or params.original_max_position_embeddings
        end = declared or original or 4096
        scaled = inv_freq(params, seq_len=end, dtype=torch.float64, device=dev)
        plain = inv_freq(unscaled(params), dtype=torch.float64, device=dev)
        if not bool(torch.isfinite(scaled).all()) or not bool((scaled > 0).all()):
            raise ValueError("inverse frequencies are not finite and positive")
        in32 = scaled.to(torch.float32)  # what runtimes compute them in
        if not bool(torch.isfinite(in32).all()) or not bool((in32 > 0).all()):
            raise ValueError("inverse frequencies underflow or overflow in float32")
        return cls(params, res, scaled, plain, declared, end, original, dev)

    @property
    def ratio(self) -> torch.Tensor:
        return self.scaled / self.plain  # (D/2,)

    @property
    def wavelengths(self) -> list[float]:
        return [wavelength(float(t)) for t in self.plain]


def _band_edges(f: Frequencies) -> tuple[float, float] | None:
    """Wavelength edges (keep below, divide above) of YaRN and llama3, in tokens."""
    res, p = f.resolved, f.params
    if not res.applies_scaling or res.original_context is None:
        return None
    if p.rope_type == "yarn":
        return res.original_context / res.beta_fast, res.original_context / res.beta_slow
    if p.rope_type == "llama3":
        low, high = llama3_band_factors(p)
        return res.original_context / high, res.original_context / low
    return None


def check_high_freq_untouched(f: Frequencies) -> Check:
    """P1: pairs that turn often within the trained context keep their frequency exactly."""
    cid = "P1-high-freq-untouched"
    edges = _band_edges(f)
    if edges is None:
        return Check(cid, "not-applicable", f"{f.params.rope_type} has no untouched band")
    strict = f.params.rope_type == "llama3"  # llama3 keeps wavelengths strictly below the edge
    idx = [j for j, w in enumerate(f.wavelengths) if (w < edges[0] if strict else w <= edges[0])]
    nums: dict[str, Any] = {"edge_wavelength": edges[0], "pairs": len(idx)}
    if not idx:
        return Check(cid, "pass", f"no pair has a wavelength below {edges[0]:.6g} tokens", nums)
    dev = max(abs(float(f.ratio[j]) - 1.0) for j in idx)
    nums["max_deviation"] = dev
    if dev > EXACT:
        return Check(cid, "fail", f"{len(idx)} high-frequency pairs moved by up to {dev:.3g}", nums)
    return Check(cid, "pass", f"{len(idx)} high-frequency pairs keep their frequency", nums)


def check_low_freq_interpolated(f: Frequencies) -> Check:
    """P2: pairs slower than the trained context are divided by the factor exactly."""
    cid = "P2-low-freq-interpolated"
    edges = _band_edges(f)
    if edges is None:
        return Check(cid, "not-applicable", f"{f.params.rope_type} has no interpolated band")
    factor = f.resolved.factor
    strict = f.params.rope_type == "llama3"
    idx = [j for j, w in enumerate(f.wavelengths) if (w > edges[1] if strict else w >= edges[1])]
    nums: dict[str, Any] = {"edge_wavelength": edges[1], "pairs": len(idx), "factor": factor}
    if not idx:
        msg = f"no pair has a wavelength above {edges[1]:.6g} tokens; nothing to interpolate"
        return Check(cid, "pass", msg, nums)
    dev = max(abs(float(f.ratio[j]) * factor - 1.0) for j in idx)
    nums["max_deviation"] = dev
    if dev > EXACT:
        msg = f"{len(idx)} low-frequency pairs are not divided by {factor:g} (off by {dev:.3g})"
        return Check(cid, "fail", msg, nums)
    return Check(cid, "pass", f"{len(idx)} low-frequency pairs divided by {factor:g}", nums)


def check_monotone_blend(f: Frequencies) -> Check:
    """P3: the scaled/unscaled ratio never rises with the pair index and stays in [1/s, 1]."""
    cid = "P3-monotone-blend"
    kind = f.params.rope_type
    if kind == "default" or not f.resolved.applies_scaling:
        return Check(cid, "not-applicable", "no scaling applied")
    ratio = [float(r) for r in f.ratio]
    rises = [j for j in range(1, len(ratio)) if ratio[j] > ratio[j - 1] * (1 + EXACT)]
    low = 1 / f.resolved.factor if kind in ("yarn", "llama3", "linear") else 0.0
    outside = [j for j, r in enumerate(ratio) if r > 1 + EXACT or r < low * (1 - EXACT)]
    nums = {"rises": len(rises), "outside": len(outside), "min": min(ratio), "max": max(ratio)}
    if rises or outside:
        msg = f"ratio rises at {len(rises)} pairs, leaves [{low:.4g}, 1] at {len(outside)}"
        if kind == "longrope":
            faster = sum(1 for r in ratio if r > 1 + EXACT)
            noun = "pair turns" if faster == 1 else "pairs turn"
            msg = (
                f"{faster} {noun} faster than unscaled (rescale factor below 1), "
                f"ratio rises at {len(rises)} pairs"
            )
        return Check(cid, "warn" if kind == "longrope" else "fail", msg, nums)
    if max(ratio) - min(ratio) <= EXACT:
        return Check(cid, "pass", f"ratio {fmt_value(max(ratio))} at every pair", nums)
    msg = f"ratio falls monotonically from {fmt_value(max(ratio))} to {fmt_value(min(ratio))}"
    return Check(cid, "pass", msg, nums)


def check_angle_coverage(f: Frequencies, model_type: str | None = None) -> Check:
    """P4: at the declared context no slow pair rotates further than it did in training.

    Scores depend on the offset between query and key only, so the angle that matters is
    offset x frequency over the longest offset a layer attends to: the declared context, except
    where the rotary layers attend within chunks (Llama 4).
    """
    cid = "P4-angle-coverage"
    if not f.original or not f.declared:
        return Check(cid, "not-applicable", "trained or declared context unknown")
    if f.declared <= f.original:
        msg = f"declared {f.declared} within the trained context {f.original}"
        return Check(cid, "pass", msg, {"declared": f.declared, "original": f.original})
    slow = [j for j, t in enumerate(f.plain) if f.original * float(t) < 2 * math.pi]
    nums: dict[str, Any] = {"declared": f.declared, "original": f.original, "slow_pairs": len(slow)}
    if not slow:
        msg = "every pair completed a full turn in training; all phases were seen"
        return Check(cid, "pass", msg, nums)
    ratios = [f.declared * float(f.scaled[j]) / (f.original * float(f.plain[j])) for j in slow]
    top = max(ratios)
    nums["max_angle_ratio"] = top
    msg = (
        f"slowest pairs reach {top:.4g}x their trained angle at {f.declared} (trained {f.original})"
    )
    if top <= COVERAGE_WARN:
        return Check(cid, "pass", msg, nums)
    if model_type in CHUNKED_ROPE_MODEL_TYPES:
        msg += (
            f"; {model_type} rotary layers attend within chunks (attention_chunk_size), "
            "so offsets stay within a chunk"
        )
        return Check(cid, "pass", msg, nums)
    kind = f.params.rope_type if f.resolved.applies_scaling else "default"
    if kind == "llama3" and top <= COVERAGE_FAIL * (1 + EXACT):
        # Section 6.1: Meta's recipe sets factor to half the context ratio (Llama 3.1: 8 vs 16)
        # and trains further at the long context; the same exception C12/C6 accept.
        msg += f"; llama3 factor {f.resolved.factor:g} below the context ratio by design"
        return Check(cid, "pass", msg, nums)
    if kind == "dynamic":
        # Section 2.3: transformers rescales only past max_position_embeddings.
        msg += " (dynamic NTK rescales only past max_position_embeddings in transformers)"
    if top > COVERAGE_FAIL and kind in SCALING_TYPES_THAT_COVER:
        return Check(cid, "fail", msg, nums)
    return Check(cid, "warn", msg, nums)


def check_magnitude(f: Frequencies, model_type: str | None) -> Check:
    """P5: the effective logit multiplier (cos/sin factor squared, times any softmax factor)."""
    cid = "P5-magnitude"
    res, p = f.resolved, f.params
    a = res.attention_scaling
    softmax = res.softmax_multiplier  # MLA architectures' m(s, mscale_all_dim)^2 included
    nums: dict[str, Any] = {"cos_sin_factor": a, "softmax_multiplier": softmax}
    if not (math.isfinite(a) and a > 0 and math.isfinite(softmax) and softmax > 0):
        return Check(cid, "fail", f"cos/sin factor {a!r}, softmax {softmax!r}", nums)
    logit = logit_multiplier(res)
    nums["logit_multiplier"] = logit
    if p.rope_type == "yarn" and res.applies_scaling:
        m = yarn_mscale(res.factor)
        nums["paper_logit_multiplier"] = m * m
    return Check(cid, "pass", f"attention logits scaled by {logit:.6g}", nums)


def check_range_rounding(f: Frequencies) -> Check:
    """P6: the floored/ceiled YaRN range is the same in float32 (llama.cpp) and float64."""
    cid = "P6-range-rounding"
    res, p = f.resolved, f.params
    if p.rope_type != "yarn" or not res.applies_scaling or res.original_context is None:
        return Check(cid, "not-applicable", "not YaRN")
    args = (res.beta_fast, res.beta_slow, p.rotary_dim, p.theta, res.original_context)
    try:
        in64 = correction_range(*args, truncate=True)
        in32 = correction_range(*args, truncate=True, float32=True)
        raw = correction_range(*args, truncate=False)
    except (ArithmeticError, ValueError) as exc:
        return Check(cid, "warn", f"range cannot be evaluated in float32 and float64: {exc}")
    nums = {"float64": list(in64), "float32": list(in32), "raw": list(raw)}
    if in64 != in32:
        msg = (
            f"rounded range is {_pair(in64)} in float64 but {_pair(in32)} in float32: non-portable"
        )
        return Check(cid, "warn", msg, nums)
    near = [x for x in raw if abs(x - round(x)) < 1e-4 and 0 < x < p.rotary_dim - 1]
    if near:
        return Check(cid, "warn", f"range edge {near[0]:.6f} within 1e-4 of an integer", nums)
    return Check(cid, "pass", f"rounded range {_pair(in64)} in float32 and float64", nums)


def _pair(edges: tuple[float, float]) -> str:
    """A band's pair-index edges as people read them: `[20, 46]`."""
    return f"[{fmt_value(edges[0])}, {fmt_value(edges[1])}]"


def sample_positions(end: int, original: int | None) -> list[int]:
    """A few positions: the start, around the trained context, and the declared end."""
    picks = {0, 1, 2, end // 2, end - 2, end - 1}
    if original and original < end:
        picks |= {original - 1, original}
    return sorted(p for p in picks if 0 <= p < end)


def cos_sin_checks(f: Frequencies, dtype_name: str) -> list[Check]:
    """P8 finite cos/sin and P9 relative-position invariance at the declared context."""
    import torch

    from yarn_core.rope import apply_rotary, cos_sin

    dtype = getattr(torch, dtype_name)
    end = f.end
    p = f.params
    positions = torch.tensor(sample_positions(end, f.original), dtype=torch.float64)
    cos, sin = cos_sin(
        p, positions, dtype=dtype, device=f.device, seq_len=end, angle_dtype=torch.float32
    )  # (n, D) each
    a = f.resolved.attention_scaling
    bound = abs(a) * (1 + 2**-7) + 1e-6
    finite = bool(torch.isfinite(cos).all() and torch.isfinite(sin).all())
    peak = float(torch.maximum(cos.abs().max(), sin.abs().max()))
    nums = {"positions": [int(x) for x in positions], "dtype": dtype_name, "peak": peak}
    if not finite or peak > bound:
        msg = f"cos/sin not finite or above {a:.4g} at the declared context in {dtype_name}"
        p8 = Check("P8-finite-cos-sin", "fail", msg, nums)
    else:
        p8 = Check("P8-finite-cos-sin", "pass", f"cos/sin finite up to position {end - 1}", nums)
    return [p8, _invariance(f, dtype, end, apply_rotary, cos_sin)]


def _invariance(f: Frequencies, dtype: Any, end: int, apply_rotary: Any, cos_sin: Any) -> Check:
    """P9: q.k for offset d at the declared end matches the same offset at the start."""
    import torch

    cid = "P9-relative-invariance"
    p = f.params
    gen = torch.Generator().manual_seed(0)
    offsets = [d for d in (1, 7, 100, 4000) if d < end]
    if not offsets:
        return Check(cid, "not-applicable", f"context {end} too short for an offset")
    q = torch.randn(len(offsets), p.head_dim, generator=gen, dtype=torch.float64).to(f.device)
    k = torch.randn(len(offsets), p.head_dim, generator=gen, dtype=torch.float64).to(f.device)
    far_q = torch.tensor([end - 1] * len(offsets), dtype=torch.float64)
    far_k = far_q - torch.tensor(offsets, dtype=torch.float64)
    near_q = torch.tensor(offsets, dtype=torch.float64)
    near_k = torch.zeros(len(offsets), dtype=torch.float64)

    x = torch.cat((q, k))[:, None, :]  # (2n, 1, head_dim): queries then keys
    n = len(offsets)

    def scores(pos_q: torch.Tensor, pos_k: torch.Tensor, dt: Any, angles: Any) -> torch.Tensor:
        pos = torch.cat((pos_q, pos_k))  # (2n,)
        cos, sin = cos_sin(
            p, pos, dtype=dt, device=f.device, seq_len=end, angle_dtype=angles
        )  # (2n, D)
        rot = apply_rotary(x.to(dt), cos[:, None, :], sin[:, None, :], pairing=p.pairing)
        rot = rot[:, 0, :].to(torch.float64)  # (2n, head_dim)
        return (rot[:n] * rot[n:]).sum(-1)  # (n,)

    reference = scores(near_q, near_k, torch.float64, torch.float64)
    declared = scores(far_q, far_k, dtype, torch.float32)
    a = f.resolved.attention_scaling
    scale = q.norm(dim=-1) * k.norm(dim=-1) * a * a
    error = float(((declared - reference).abs() / scale).max())
    nums = {"offsets": offsets, "position": end - 1, "normalised_error": error}
    msg = f"score error {error:.3g} (of |q||k|) at position {end - 1} vs position 0"
    if not math.isfinite(error) or error > INVARIANCE_FAIL:
        return Check(cid, "fail", msg, nums)
    return Check(cid, "warn" if error > INVARIANCE_WARN else "pass", msg, nums)
