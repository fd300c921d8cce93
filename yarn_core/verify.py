"""The verifier: run yarn_core on a declared rope configuration and return a verdict with evidence.

`verify(inp, device=...)` runs the schema and consistency checks of `yarn_core.checks`, then
property checks on real tensors from `yarn_core.rope` (P1-P9, rope-scaling.md section 6.1), then
the cross-runtime matrix of `yarn_core.conventions` (X1). Torch is imported inside the functions
that need it, so importing this module stays cheap.

Verdict: `fail` if any check fails (a real defect), else `warn` if any check warns (odd but
possibly intended), else `pass`; `n/a` when the config has no rotary embedding at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from yarn_core.checks import (
    SOFTMAX_MSCALE_MODEL_TYPES,
    Check,
    merge_layers,
    primary_layer,
    rope_layers,
    static_checks,
    worst,
)
from yarn_core.conventions import CONVENTIONS, Resolved, resolve
from yarn_core.params import RopeParams
from yarn_core.scaling import correction_range, wavelength, yarn_mscale

if TYPE_CHECKING:
    import torch

__all__ = ["CORE_VERSION", "Check", "Verdict", "VerifyInput", "verify"]

# Bumped whenever a check or a threshold changes, so stored verdicts can be recomputed.
CORE_VERSION = "verify-2"

# Runtimes whose agreement X1 judges; the older transformers lines are listed but only noted.
CURRENT_RUNTIMES = ("transformers", "vllm", "sglang", "llama.cpp")
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
DTYPES = {
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
}


@dataclass(frozen=True)
class VerifyInput:
    """Everything the verifier reads about one config (built from a tagger result)."""

    rope: dict[str, RopeParams | None]  # resolved parameters per layer type; None = NoPE
    raw_rope: dict[str, Any] | None = None  # the rope block exactly as the config wrote it
    raw_rope_path: str | None = None  # its key path, e.g. "text_config.rope_scaling"
    model_type: str | None = None
    torch_dtype: str | None = None
    declared_context: int | None = None  # max_position_embeddings (or alias)
    original_context: int | None = None  # trained, pre-extension context
    # Config facts outside the rope block, by key, e.g. a top-level
    # original_max_position_embeddings (Phi-3).
    extra_keys: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The verifier's answer for one config."""

    verdict: str  # pass | warn | fail | n/a
    checks: list[Check]
    runtimes: dict[str, dict[str, Any]]
    device: str
    core_version: str = CORE_VERSION
    reason: str | None = None  # why, for n/a

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers become None)."""
        return json_ready(
            {
                "verdict": self.verdict,
                "reason": self.reason,
                "checks": [c.to_dict() for c in self.checks],
                "runtimes": self.runtimes,
                "device": self.device,
                "core_version": self.core_version,
            }
        )

    def check(self, check_id: str) -> Check | None:
        """The check with this id (or id prefix such as "C8"), if it ran."""
        for c in self.checks:
            if c.id == check_id or c.id.split("-", 1)[0] == check_id:
                return c
        return None


def json_ready(value: Any) -> Any:
    """`value` with tuples as lists and NaN/infinity as None, so strict JSON can hold it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def verify(inp: VerifyInput, *, device: str = "auto") -> Verdict:
    """Every check, the runtime matrix and the verdict for one config."""
    from yarn_core.rope import resolve_device

    dev = resolve_device(device)
    layers = rope_layers(inp)
    if not layers:
        reason = "no rotary embedding: nothing for yarn_core to verify"
        return Verdict("n/a", [], {}, str(dev), reason=reason)
    checks = static_checks(inp)
    checks += tensor_checks(inp, layers, dev)
    runtimes, agreement = runtime_matrix(inp, layers)
    checks.append(agreement)
    status = worst(c.status for c in checks)
    verdict = status if status in ("fail", "warn") else "pass"
    return Verdict(verdict, checks, runtimes, str(dev))


# ---- properties on real tensors -------------------------------------------------------------


def declared_dtype(torch_dtype: str | None) -> str:
    """The activation dtype the config declares (float32 when absent or unknown)."""
    return DTYPES.get(str(torch_dtype).lower(), "float32") if torch_dtype else "float32"


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
        res = resolve(params, "transformers")
        declared = params.max_position_embeddings or inp.declared_context
        # Only fingerprinted inputs, so every model sharing a verify fingerprint gets this result.
        original = res.original_context if params.rope_type != "default" else None
        original = original or params.original_max_position_embeddings
        end = declared or original or 4096
        scaled = inv_freq(params, seq_len=end, dtype=torch.float64, device=dev)
        plain = inv_freq(unscaled(params), dtype=torch.float64, device=dev)
        if not bool(torch.isfinite(scaled).all()) or not bool((scaled > 0).all()):
            raise ValueError("inverse frequencies are not finite and positive")
        return cls(params, res, scaled, plain, declared, end, original, dev)

    @property
    def ratio(self) -> torch.Tensor:
        return self.scaled / self.plain  # (D/2,)

    @property
    def wavelengths(self) -> list[float]:
        return [wavelength(float(t)) for t in self.plain]


def unscaled(params: RopeParams) -> RopeParams:
    """The same embedding without its context extension."""
    if params.rope_type == "proportional":
        return replace(params, factor=None)
    return replace(params, rope_type="default", factor=None)


def _band_edges(f: Frequencies) -> tuple[float, float] | None:
    """Wavelength edges (keep below, divide above) of YaRN and llama3, in tokens."""
    res, p = f.resolved, f.params
    if not res.applies_scaling or res.original_context is None:
        return None
    if p.rope_type == "yarn":
        return res.original_context / res.beta_fast, res.original_context / res.beta_slow
    if p.rope_type == "llama3":
        low = p.low_freq_factor if p.low_freq_factor is not None else 1.0
        high = p.high_freq_factor if p.high_freq_factor is not None else 4.0
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
    return Check(
        cid, "pass", f"ratio falls monotonically from {max(ratio):.4g} to {min(ratio):.4g}", nums
    )


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
    softmax = res.softmax_multiplier
    if model_type in SOFTMAX_MSCALE_MODEL_TYPES and p.mscale_all_dim and res.applies_scaling:
        m = yarn_mscale(res.factor, p.mscale_all_dim)
        softmax *= m * m
    nums: dict[str, Any] = {"cos_sin_factor": a, "softmax_multiplier": softmax}
    if not (math.isfinite(a) and a > 0 and math.isfinite(softmax) and softmax > 0):
        return Check(cid, "fail", f"cos/sin factor {a!r}, softmax {softmax!r}", nums)
    logit = a * a * softmax
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
        msg = f"rounded range is {in64} in float64 but {in32} in float32: non-portable"
        return Check(cid, "warn", msg, nums)
    near = [x for x in raw if abs(x - round(x)) < 1e-4 and 0 < x < p.rotary_dim - 1]
    if near:
        return Check(cid, "warn", f"range edge {near[0]:.6f} within 1e-4 of an integer", nums)
    return Check(cid, "pass", f"rounded range {in64} in float32 and float64", nums)


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


# ---- cross-runtime matrix -------------------------------------------------------------------


def _arch_softmax(params: RopeParams, res: Resolved, model_type: str | None) -> float:
    if res.convention == "deepseek" or not res.applies_scaling:
        return 1.0
    if model_type in SOFTMAX_MSCALE_MODEL_TYPES and params.mscale_all_dim:
        m = yarn_mscale(res.factor, params.mscale_all_dim)
        return m * m
    return 1.0


def runtime_matrix(
    inp: VerifyInput, layers: dict[str, RopeParams]
) -> tuple[dict[str, dict[str, Any]], Check]:
    """What each runtime derives from the primary layer type, and X1: do they agree?"""
    from yarn_core.frequencies import UnsupportedRope

    cid = "X1-runtime-agreement"
    params = layers[primary_layer(layers)]
    declared = params.max_position_embeddings or inp.declared_context
    rows: dict[str, dict[str, Any]] = {}
    freqs: dict[str, list[float] | None] = {}
    for conv in CONVENTIONS:
        try:
            rows[conv], freqs[conv] = _runtime_row(params, conv, declared, inp)
        except (UnsupportedRope, ArithmeticError, ValueError, TypeError) as exc:
            rows[conv] = {
                "served_context": None,
                "attention_scaling": None,
                "softmax_multiplier": None,
                "applies_scaling": None,
                "factor": None,
                "logit_multiplier": None,
                "notes": [f"cannot resolve this config: {exc}"],
            }
            freqs[conv] = None
    judged = list(CURRENT_RUNTIMES)
    if params.rope_type == "yarn" and inp.model_type in SOFTMAX_MSCALE_MODEL_TYPES:
        judged.append("deepseek")
    return rows, _agreement(cid, rows, freqs, judged)


def _runtime_row(
    params: RopeParams, conv: str, declared: int | None, inp: VerifyInput
) -> tuple[dict[str, Any], list[float] | None]:
    """One row of the runtime matrix and that runtime's inverse frequencies (None if unbuilt)."""
    from yarn_core.frequencies import UnsupportedRope, inverse_frequencies

    model_type = inp.model_type
    block = inp.raw_rope if isinstance(inp.raw_rope, dict) else {}
    res = resolve(params, conv, model_type=model_type, rope_block=block)
    freqs: list[float] | None
    try:
        freqs = inverse_frequencies(params, conv, declared, resolved=res)
    except (UnsupportedRope, ArithmeticError, ValueError, TypeError):
        freqs = None
    arch = _arch_softmax(params, res, model_type)
    row = {
        "served_context": res.served_context,
        "attention_scaling": res.attention_scaling,
        "softmax_multiplier": res.softmax_multiplier * arch,
        "applies_scaling": res.applies_scaling,
        "factor": res.factor,
        "logit_multiplier": res.attention_scaling
        * res.attention_scaling
        * res.softmax_multiplier
        * arch,
        "notes": list(res.notes),
    }
    return row, freqs


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:.4g}"


def _rel(a: float | None, b: float | None) -> float:
    if a is None or b is None:
        return 0.0 if a is b else math.inf
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _agreement(
    cid: str,
    rows: dict[str, dict[str, Any]],
    freqs: dict[str, list[float] | None],
    judged: list[str],
) -> Check:
    ref = rows["transformers"]
    ref_freq = freqs["transformers"]
    differ: dict[str, list[str]] = {}
    for conv in judged[1:]:
        row, what = rows[conv], []
        if row["served_context"] != ref["served_context"]:
            what.append(f"serves {row['served_context']}")
        if row["applies_scaling"] != ref["applies_scaling"]:
            what.append("scaling " + ("on" if row["applies_scaling"] else "off"))
        if _rel(row["logit_multiplier"], ref["logit_multiplier"]) > 1e-6:
            what.append(f"logits x{_num(row['logit_multiplier'])}")
        if any("raises" in note for note in row["notes"]):
            what.append("refuses the config")
        other = freqs[conv]
        if other is None or ref_freq is None:
            what.append("cannot build")
        elif max(_rel(x, y) for x, y in zip(other, ref_freq, strict=True)) > 1e-6:
            why = [n for n in row["notes"] if "truncate" in n]
            what.append("other frequencies" + (f" ({why[0]})" if why else ""))
        if what:
            differ[conv] = what
    others = [c for c in CONVENTIONS if c not in judged and freqs[c] != ref_freq]
    nums: dict[str, Any] = {"judged": judged, "differ": differ, "unjudged_differ": others}
    base = f"transformers serves {ref['served_context']}, logits x{_num(ref['logit_multiplier'])}"
    if differ:
        detail = "; ".join(f"{c}: {', '.join(w)}" for c, w in differ.items())
        return Check(cid, "warn", f"{base}; {detail}", nums)
    return Check(cid, "pass", f"{base}; {', '.join(judged[1:])} agree", nums)
