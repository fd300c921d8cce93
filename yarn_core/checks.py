"""Schema and consistency checks of a declared rope block (pure Python, no torch).

Each check reads the raw block as the config wrote it and the normalised `RopeParams` the tagger
resolved from it, and returns one `Check`. The ids follow rope-scaling.md section 6.2 (C1-C16),
with C19-C20 added for value types and the base. A check fails only for a real defect (a runtime
raises, or the numbers cannot describe a working embedding); odd but intended configs warn.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from yarn_core.params import FLOAT_KNOBS, RopeParams
from yarn_core.scaling import DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW, dynamic_base, yarn_mscale

if TYPE_CHECKING:
    from yarn_core.verify import VerifyInput

STATUSES = ("pass", "warn", "fail", "not-applicable")
_SEVERITY = {"not-applicable": 0, "pass": 1, "warn": 2, "fail": 3}

# Types that scale frequencies with a factor, and the keys each one reads (transformers 5.24,
# rope-scaling.md 4.4); `type`, `rope_type`, `rope_theta` and `partial_rotary_factor` are common.
COMMON_KEYS = frozenset({"type", "rope_type", "rope_theta", "partial_rotary_factor"})
MROPE_KEYS = frozenset({"mrope_section", "mrope_interleaved"})
TYPE_KEYS: dict[str, frozenset[str]] = {
    "default": frozenset(),
    "linear": frozenset({"factor"}),
    "dynamic": frozenset({"factor", "original_max_position_embeddings", "alpha"}),
    "ntk": frozenset({"factor", "alpha"}),
    "yarn": frozenset(
        {
            "factor",
            "original_max_position_embeddings",
            "attention_factor",
            "beta_fast",
            "beta_slow",
            "mscale",
            "mscale_all_dim",
            "truncate",
        }
    ),
    "longrope": frozenset(
        {"short_factor", "long_factor", "original_max_position_embeddings", "attention_factor"}
        | {"factor"}
    ),
    "llama3": frozenset(
        {"factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"}
    ),
    "proportional": frozenset({"factor"}),
}
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "linear": ("factor",),
    "dynamic": ("factor",),
    "yarn": ("factor",),
    "longrope": ("short_factor", "long_factor"),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor"),
}
# Keys some runtime or model family reads although transformers' generic validator does not.
ENGINE_KEYS: dict[str, str] = {
    "attn_factor": "original YaRN repo / SGLang multiplier",
    "extrapolation_factor": "original YaRN repo / llama.cpp ext_factor",
    "finetuned": "original YaRN repo dynamic-YaRN switch",
    "short_mscale": "vLLM LongRoPE override",
    "long_mscale": "vLLM LongRoPE override",
    "apply_yarn_scaling": "old vLLM / SGLang switch",
    "llama_4_scaling_beta": "Mistral-3/4 query temperature",
    "mixed_b": "vLLM ntk variant",
    "max_trained_positions": "vLLM dynamic variant",
    "xdrope_section": "HunYuan-VL legacy mRoPE sections",
    "alpha": "HunYuan static NTK-aware alpha",
    "mscale": "DeepSeek magnitude coefficient",
    "mscale_all_dim": "DeepSeek magnitude coefficient",
    "original_max_position_embeddings": "trained context (read by engines for every type)",
}
# Raw type spellings and what runtimes read them as (rope-scaling.md 6.2 C2, 3.c legacy patching).
LEGACY_TYPES = {"su": "longrope", "mrope": "default", "telechat3-yarn": "yarn"}
ALIAS_PAIRS = {frozenset({"su", "longrope"}), frozenset({"mrope", "default"})}
MODEL_LOCAL_TYPES = frozenset(
    {"axial", "ntk_alpha", "xdrope", "deepseek_yarn", "deepseek_llama_scaling", "mllama4", "ntk"}
)
KNOWN_RAW_TYPES = frozenset(TYPE_KEYS) | frozenset(LEGACY_TYPES) | MODEL_LOCAL_TYPES
# Architectures whose attention code multiplies the softmax scale by m(s, mscale_all_dim)^2, as
# DeepSeek's MLA does (rope-scaling.md 3.b, 6.2 C10).
SOFTMAX_MSCALE_MODEL_TYPES = frozenset(
    {
        "deepseek_v2",
        "deepseek_v3",
        "deepseek_v32",
        "kimi_k2",
        "kimi_k25",
        "kimi_vl",
        "mistral4",
        "sarvam_mla",
        "bailing_moe",
        "bailing_hybrid",
        "longcat_flash",
        "glm4_moe_lite",
    }
)
NUMBER_KEYS = ("factor", *FLOAT_KNOBS, "rope_theta", "partial_rotary_factor")
RATIO_TOLERANCE = 1e-6  # relative tolerance of factor == declared / original


@dataclass(frozen=True)
class Check:
    """One verifier finding: an id, a status, a one-line message and the numbers behind it."""

    id: str
    status: str  # pass | warn | fail | not-applicable
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "message": self.message,
            "numbers": self.numbers,
        }


def worst(statuses: Iterable[str]) -> str:
    """The most severe status (fail > warn > pass > not-applicable)."""
    return max(statuses, key=_SEVERITY.__getitem__, default="not-applicable")


def guarded(check_id: str) -> Callable[[Callable[..., Check]], Callable[..., Check]]:
    """Turn an arithmetic or type error inside a check into a failed check with that id."""

    def wrap(fn: Callable[..., Check]) -> Callable[..., Check]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Check:
            try:
                return fn(*args, **kwargs)
            except (ArithmeticError, ValueError, TypeError) as exc:
                return Check(check_id, "fail", f"cannot be evaluated for these values: {exc}")

        return run

    return wrap


def _na(check_id: str, why: str) -> Check:
    return Check(check_id, "not-applicable", why)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float (bool excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def raw_type(block: dict[str, Any]) -> str | None:
    """The block's rope type as written (`rope_type` first, then legacy `type`)."""
    value = block.get("rope_type", block.get("type"))
    return value if isinstance(value, str) else None


def block_type(block: dict[str, Any], params: RopeParams) -> str:
    """The canonical rope type the block declares (the tagger's reading when it declares none)."""
    written = raw_type(block)
    if written is None or written in MODEL_LOCAL_TYPES:
        return params.rope_type
    if written == "yarn" and params.rope_type == "longrope":  # Phi-3 reads "yarn" as LongRoPE
        return "longrope"
    if written in LEGACY_TYPES:
        return LEGACY_TYPES[written]
    return written if written in TYPE_KEYS else params.rope_type


def split_blocks(
    raw: dict[str, Any] | None, layers: dict[str, RopeParams]
) -> dict[str, dict[str, Any]]:
    """The raw block of each layer type.

    Nested per-layer dicts are split by layer name. A flat block belongs to the one layer type
    whose resolved type it declares (Gemma 3 scales only its full-attention layers), else to the
    primary layer type.
    """
    if not isinstance(raw, dict) or not layers:
        return {}
    nested = {k: v for k, v in raw.items() if isinstance(v, dict) and k in layers}
    if nested:
        return nested
    for name, params in layers.items():
        if params.rope_type == block_type(raw, params):
            return {name: raw}
    return {primary_layer(layers): raw}


def primary_layer(layers: dict[str, RopeParams]) -> str:
    """The layer type whose embedding carries the long context (full attention first)."""
    # The tagger's order (DeepSeek-V4: the compressed layers carry YaRN, "main" is a window).
    for name in ("full_attention", "default", "compress", "global", "main", "attention"):
        if name in layers:
            return name
    return next(iter(layers))


# ---- schema ---------------------------------------------------------------------------------


@guarded("C1-type-key")
def check_type_key(block: dict[str, Any], params: RopeParams) -> Check:
    """C1: `rope_type` preferred; legacy `type` accepted; both present and different is an error."""
    cid = "C1-type-key"
    new, old = block.get("rope_type"), block.get("type")
    if new is None and old is None:
        return Check(cid, "pass", "no type key: runtimes read the block as `default`")
    if new is not None and old is not None and new != old:
        nums = {"rope_type": new, "type": old}
        if frozenset({str(new), str(old)}) in ALIAS_PAIRS:
            return Check(cid, "warn", f"`type` {old!r} and `rope_type` {new!r} are aliases", nums)
        return Check(cid, "fail", f"`type` {old!r} conflicts with `rope_type` {new!r}", nums)
    if new is None:
        return Check(cid, "pass", f"legacy `type` {old!r}, read as rope_type by every runtime")
    return Check(cid, "pass", f"rope_type {new!r}")


@guarded("C2-legacy-type")
def check_legacy_type(block: dict[str, Any], params: RopeParams, model_type: str | None) -> Check:
    """C2: legacy spellings (`su`, `mrope`, Phi-3 `yarn`) and types no reference runtime knows."""
    cid = "C2-legacy-type"
    written = raw_type(block)
    if written is None:
        return _na(cid, "no type written")
    nums = {"written": written, "resolved": params.rope_type}
    if written == "mrope" and not block.get("mrope_section"):
        return Check(cid, "fail", "legacy `mrope` without `mrope_section`", nums)
    if written == "yarn" and params.rope_type == "longrope":
        return Check(cid, "warn", f"`yarn` on {model_type} is read as LongRoPE, not YaRN", nums)
    if written in LEGACY_TYPES:
        canonical = LEGACY_TYPES[written]
        return Check(cid, "pass", f"legacy {written!r}, read as {canonical!r} by runtimes", nums)
    if written not in KNOWN_RAW_TYPES:
        return Check(cid, "warn", f"rope type {written!r} is unknown to reference runtimes", nums)
    if written in MODEL_LOCAL_TYPES:
        return Check(cid, "pass", f"model-specific rope type {written!r}", nums)
    return Check(cid, "pass", f"canonical rope type {written!r}", nums)


@guarded("C3-required-keys")
def check_required_keys(block: dict[str, Any], params: RopeParams) -> Check:
    """C3: keys a rope type cannot work without (transformers and vLLM raise KeyError)."""
    cid = "C3-required-keys"
    kind = block_type(block, params)
    needed = REQUIRED_KEYS.get(kind, ())
    if kind in ("dynamic", "ntk") and "alpha" in block:
        needed = ()
    if not needed:
        return _na(cid, f"rope type {kind!r} needs no scaling keys")
    missing = [k for k in needed if block.get(k) is None]
    if missing:
        return Check(cid, "fail", f"{kind} block lacks {', '.join(missing)}", {"missing": missing})
    return Check(cid, "pass", f"{kind} keys present: {', '.join(needed)}")


@guarded("C4-unknown-keys")
def check_unknown_keys(block: dict[str, Any], params: RopeParams) -> Check:
    """C4: keys the rope type does not read (transformers logs "Unrecognized keys")."""
    cid = "C4-unknown-keys"
    allowed = COMMON_KEYS | MROPE_KEYS | TYPE_KEYS.get(block_type(block, params), frozenset())
    extra = sorted(str(k) for k in block if k not in allowed)
    unknown = [k for k in extra if k not in ENGINE_KEYS]
    engine = [k for k in extra if k in ENGINE_KEYS]
    nums: dict[str, Any] = {"unknown": unknown, "engine_specific": engine}
    if unknown:
        return Check(cid, "warn", f"keys no runtime reads: {', '.join(unknown)}", nums)
    if engine:
        notes = "; ".join(f"{k} ({ENGINE_KEYS[k]})" for k in engine)
        return Check(cid, "pass", f"keys read by some runtimes only: {notes}", nums)
    return Check(cid, "pass", "every key is read by the rope type", nums)


@guarded("C19-value-types")
def check_value_types(block: dict[str, Any], params: RopeParams) -> Check:
    """C19: every known key holds the type runtimes expect."""
    cid = "C19-value-types"
    bad: dict[str, str] = {}
    for key in NUMBER_KEYS:
        if key in block and block[key] is not None and not is_number(block[key]):
            bad[key] = type(block[key]).__name__
    orig = block.get("original_max_position_embeddings")
    if orig is not None and not (is_number(orig) and orig > 0 and float(orig).is_integer()):
        bad["original_max_position_embeddings"] = repr(orig)
    for key in ("truncate", "mrope_interleaved"):
        if key in block and block[key] is not None and not isinstance(block[key], bool):
            bad[key] = type(block[key]).__name__
    for key in ("short_factor", "long_factor", "mrope_section"):
        value = block.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(is_number(v) for v in value):
            bad[key] = "not a list of numbers"
    for key in ("type", "rope_type"):
        if key in block and not isinstance(block[key], str):
            bad[key] = type(block[key]).__name__
    if bad:
        detail = ", ".join(f"{k} ({v})" for k, v in sorted(bad.items()))
        return Check(cid, "fail", f"values of the wrong type: {detail}", {"bad": bad})
    return Check(cid, "pass", "every value has the expected type")


@guarded("C20-theta")
def check_theta(params: RopeParams) -> Check:
    """C20: the base must exceed 1 (frequencies b^(-2j/D) must decrease) and be finite."""
    cid = "C20-theta"
    if not (is_number(params.theta) and params.theta > 1):
        return Check(
            cid, "fail", f"rope_theta {params.theta!r} is not > 1", {"theta": params.theta}
        )
    return Check(cid, "pass", f"rope_theta {params.theta:g}", {"theta": params.theta})


@guarded("C5-factor")
def check_factor(block: dict[str, Any], params: RopeParams) -> Check:
    """C5: `factor` is a finite number >= 1; exactly 1 makes a scaling type a no-op."""
    cid = "C5-factor"
    value = block.get("factor", params.factor)
    if value is None:
        return _na(cid, "no factor")
    if not is_number(value):
        return Check(
            cid, "fail", f"factor {value!r} is not a finite number", {"factor": repr(value)}
        )
    nums = {"factor": value}
    if value <= 0:
        return Check(cid, "fail", f"factor {value} is not positive", nums)
    if value < 1:
        return Check(cid, "fail", f"factor {value} < 1 shrinks the context", nums)
    kind = block_type(block, params)
    if value == 1 and kind in ("linear", "dynamic", "yarn", "llama3") and "alpha" not in block:
        return Check(cid, "warn", f"factor 1 makes {kind} scaling a no-op", nums)
    return Check(cid, "pass", f"factor {value:g}", nums)


@guarded("C8-beta-order")
def check_beta_order(block: dict[str, Any], params: RopeParams) -> Check:
    """C8: `beta_fast > beta_slow > 0`; equal betas give a hard step instead of a ramp."""
    cid = "C8-beta-order"
    if block_type(block, params) != "yarn":
        return _na(cid, "not YaRN")
    fast = block.get("beta_fast", params.beta_fast)
    slow = block.get("beta_slow", params.beta_slow)
    fast = DEFAULT_BETA_FAST if fast is None else fast
    slow = DEFAULT_BETA_SLOW if slow is None else slow
    if not (is_number(fast) and is_number(slow)):
        return Check(cid, "fail", "beta_fast / beta_slow are not numbers")
    nums = {"beta_fast": fast, "beta_slow": slow}
    if slow <= 0 or fast <= 0:
        return Check(cid, "fail", f"betas must be positive (fast {fast}, slow {slow})", nums)
    if fast < slow:
        return Check(
            cid, "fail", f"beta_fast {fast} < beta_slow {slow}: the ramp runs backwards", nums
        )
    if fast == slow:
        return Check(cid, "warn", f"beta_fast = beta_slow = {fast}: a step, not a ramp", nums)
    return Check(cid, "pass", f"beta_fast {fast:g} > beta_slow {slow:g}", nums)


@guarded("C9-truncate")
def check_truncate(block: dict[str, Any], params: RopeParams) -> Check:
    """C9: `truncate` is a boolean; `false` is honoured by transformers, vLLM and SGLang only."""
    cid = "C9-truncate"
    if "truncate" not in block:
        return _na(cid, "no truncate key (runtimes floor/ceil the range)")
    value = block["truncate"]
    if not isinstance(value, bool):
        return Check(cid, "fail", f"truncate {value!r} is not a boolean", {"truncate": repr(value)})
    if value:
        return Check(cid, "pass", "truncate true (the default)", {"truncate": True})
    return Check(
        cid,
        "pass",
        "truncate false: exact range in transformers/vLLM/SGLang; llama.cpp, DeepSeek round",
        {"truncate": False},
    )


@guarded("C11-attention-factor")
def check_attention_factor(block: dict[str, Any], params: RopeParams) -> Check:
    """C11: an explicit `attention_factor` must be a positive number (SGLang ignores it)."""
    cid = "C11-attention-factor"
    if "attention_factor" not in block or block["attention_factor"] is None:
        return _na(cid, "no explicit attention_factor")
    value = block["attention_factor"]
    if not is_number(value) or value <= 0:
        return Check(cid, "fail", f"attention_factor {value!r} is not a positive number")
    return Check(
        cid,
        "pass",
        f"explicit attention_factor {value:g} (SGLang ignores it)",
        {"attention_factor": value},
    )


@guarded("C12-llama3-bands")
def check_llama3_bands(params: RopeParams) -> Check:
    """C12: `high_freq_factor > low_freq_factor > 0`; equal factors switch without a blend band."""
    cid = "C12-llama3-bands"
    if params.rope_type != "llama3":
        return _na(cid, "not llama3")
    low, high = params.low_freq_factor, params.high_freq_factor
    if not (is_number(low) and is_number(high)):
        return Check(cid, "fail", "low_freq_factor / high_freq_factor missing or not numbers")
    assert low is not None and high is not None
    nums = {"low_freq_factor": low, "high_freq_factor": high}
    if low <= 0:
        return Check(cid, "fail", f"low_freq_factor {low} is not positive", nums)
    if high < low:
        return Check(cid, "fail", f"high_freq_factor {high} < low_freq_factor {low}", nums)
    if high == low:
        return Check(cid, "warn", f"high = low = {low}: a hard switch with no blend band", nums)
    return Check(cid, "pass", f"bands low {low:g} < high {high:g}", nums)


@guarded("C13-longrope-lists")
def check_longrope_lists(params: RopeParams) -> Check:
    """C13: both LongRoPE lists hold rotary_dim/2 positive factors (long >= short, >= 1 typical)."""
    cid = "C13-longrope-lists"
    if params.rope_type != "longrope":
        return _na(cid, "not LongRoPE")
    short, long_ = params.short_factor, params.long_factor
    pairs = params.rotary_dim // 2
    if short is None or long_ is None:
        return Check(cid, "fail", "short_factor / long_factor missing")
    nums: dict[str, Any] = {"pairs": pairs, "short": len(short), "long": len(long_)}
    if len(short) != pairs or len(long_) != pairs:
        msg = f"lists have {len(short)} / {len(long_)} entries, rotary_dim/2 is {pairs}"
        return Check(cid, "fail", msg, nums)
    if not all(is_number(v) and v > 0 for v in (*short, *long_)):
        return Check(cid, "fail", "rescale factors must be finite and positive", nums)
    below_one = sum(1 for v in (*short, *long_) if v < 1)
    long_below_short = sum(1 for s, lg in zip(short, long_, strict=True) if lg < s)
    nums.update(below_one=below_one, long_below_short=long_below_short)
    if below_one or long_below_short:
        msg = f"{below_one} factors < 1, {long_below_short} pairs with long < short"
        return Check(cid, "warn", msg, nums)
    return Check(cid, "pass", f"{pairs} short and long factors, all >= 1", nums)


def mrope_pairs_per_axis(section: tuple[int, ...], pairs: int, interleaved: bool) -> list[int]:
    """How many frequency pairs each mRoPE axis (t, h, w, ...) really gets out of `pairs`."""
    if not interleaved:
        return list(section)
    counts = [0] * len(section)
    for j in range(pairs):
        axis = 0
        for a in range(1, len(section)):
            if j % 3 == a and j < 3 * section[a]:
                axis = a
        counts[axis] += 1
    return counts


@guarded("C14-mrope-sections")
def check_mrope_sections(params: RopeParams) -> Check:
    """C14: mRoPE sections add up to rotary_dim/2 and each axis gets the pairs it declares."""
    cid = "C14-mrope-sections"
    section = params.mrope_section
    if not section:
        return _na(cid, "no mRoPE sections")
    pairs = params.rotary_dim // 2
    nums: dict[str, Any] = {"section": list(section), "sum": sum(section), "pairs": pairs}
    if any(not isinstance(s, int) or s < 0 for s in section):
        return Check(cid, "fail", f"sections {list(section)} must be non-negative integers", nums)
    if sum(section) != pairs:
        return Check(cid, "fail", f"sections sum to {sum(section)}, rotary_dim/2 is {pairs}", nums)
    if params.mrope_interleaved:
        got = mrope_pairs_per_axis(section, pairs, True)
        nums["realised"] = got
        if got != list(section):
            return Check(
                cid, "fail", f"interleaved layout gives {got}, declared {list(section)}", nums
            )
    return Check(cid, "pass", f"sections {list(section)} cover {pairs} pairs", nums)


@guarded("C15-partial-rotary")
def check_partial_rotary(block: dict[str, Any], params: RopeParams) -> Check:
    """C15: the rotary width is even, positive and at most the head width."""
    cid = "C15-partial-rotary"
    nums = {"rotary_dim": params.rotary_dim, "head_dim": params.head_dim}
    prf = block.get("partial_rotary_factor")
    if prf is not None and (not is_number(prf) or not 0 < prf <= 1):
        return Check(cid, "fail", f"partial_rotary_factor {prf!r} is outside (0, 1]", nums)
    if params.head_dim <= 0 or params.rotary_dim <= 0:
        return Check(cid, "fail", "rotary width must be positive", nums)
    if params.rotary_dim % 2:
        return Check(cid, "fail", f"rotary width {params.rotary_dim} is odd", nums)
    if params.rotary_dim > params.head_dim:
        return Check(cid, "fail", f"rotary width {params.rotary_dim} > head width", nums)
    return Check(cid, "pass", f"{params.rotary_dim} of {params.head_dim} dims rotate", nums)


# ---- consistency ----------------------------------------------------------------------------


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
            f"static scaling: max_position_embeddings left at the original {original}; "
            f"runtimes serve {original} or {original * factor:g}"
        )
        return Check(cid, "warn", msg, nums)
    if ratio > factor:
        msg = f"declared {declared} exceeds original {original} x factor {factor:g}"
        return Check(cid, "fail", msg, nums)
    msg = (
        f"declared {declared} covers {ratio:g}x of the original, factor is {factor:g} "
        f"(enough for {original * factor:g})"
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
        # transformers/vLLM need both truthy, SGLang both present (rope-scaling.md 0.3 #6).
        plain = yarn_mscale(factor)
        sglang = plain
        if is_number(mscale) and is_number(all_dim):
            sglang = yarn_mscale(factor, mscale) / yarn_mscale(factor, all_dim)
        nums.update(transformers=plain, sglang=sglang)
        pair = f"mscale {mscale!r} / mscale_all_dim {all_dim!r}"
        if not math.isclose(plain, sglang):
            msg = f"{pair}: transformers uses {plain:.4g}, SGLang {sglang:.4g} on cos/sin"
            return Check(cid, "warn", msg, nums)
        return Check(cid, "pass", f"{pair} not both set: every runtime uses {plain:.4g}", nums)
    cos_sin = yarn_mscale(factor, mscale) / yarn_mscale(factor, all_dim)
    m = yarn_mscale(factor, all_dim)
    softmax = m * m
    nums.update(cos_sin_factor=cos_sin, softmax_multiplier=softmax)
    if model_type in SOFTMAX_MSCALE_MODEL_TYPES:
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
        f"base {params.theta:g} up to {declared}, {at_double:.6g} at {2 * declared}; "
        "cached keys keep the angles they were built with"
    )
    return Check(cid, "pass", msg, nums)


# ---- assembly -------------------------------------------------------------------------------

BlockCheck = Callable[[dict[str, Any], RopeParams], Check]
SCHEMA_BLOCK_CHECKS: tuple[BlockCheck, ...] = (
    check_type_key,
    check_required_keys,
    check_unknown_keys,
    check_value_types,
    check_factor,
    check_beta_order,
    check_truncate,
    check_attention_factor,
    check_partial_rotary,
)


def merge_layers(per_layer: dict[str, Check]) -> Check:
    """One check from its per-layer results: the worst status, the numbers keyed by layer."""
    checks = list(per_layer.values())
    if len(checks) == 1:
        return checks[0]
    worst_layer = max(per_layer, key=lambda k: _SEVERITY[per_layer[k].status])
    top = per_layer[worst_layer]
    numbers = {layer: c.numbers for layer, c in per_layer.items() if c.numbers}
    return Check(top.id, top.status, f"{worst_layer}: {top.message}", numbers)


def rope_layers(inp: VerifyInput) -> dict[str, RopeParams]:
    """The layer types that rotate (NoPE layer types are left out)."""
    return {k: v for k, v in inp.rope.items() if v is not None}


def static_checks(inp: VerifyInput) -> list[Check]:
    """Every schema and consistency check, merged over layer types, in a stable order."""
    layers = rope_layers(inp)
    blocks = split_blocks(inp.raw_rope, layers)
    results: dict[str, dict[str, Check]] = {}

    def add(layer: str, check: Check) -> None:
        results.setdefault(check.id, {})[layer] = check

    for layer, params in layers.items():
        block = blocks.get(layer, {})
        if block:
            for fn in SCHEMA_BLOCK_CHECKS:
                add(layer, fn(block, params))
            add(layer, check_legacy_type(block, params, inp.model_type))
            add(layer, check_mscale_pair(block, params, inp.model_type))
        else:
            add(layer, check_partial_rotary({}, params))
        add(layer, check_theta(params))
        add(layer, check_llama3_bands(params))
        add(layer, check_longrope_lists(params))
        add(layer, check_mrope_sections(params))
        add(layer, check_factor_vs_context(block, inp, params))
        add(layer, check_original_context(block, inp, params))
        add(layer, check_dynamic(inp, params))
    merged = [merge_layers(per_layer) for per_layer in results.values()]
    return sorted(merged, key=check_order)


def check_order(check: Check) -> tuple[str, int]:
    """Sort key: the letter of the id, then its number (C2 before C10)."""
    head = check.id.split("-", 1)[0]
    digits = head[1:]
    return head[:1], int(digits) if digits.isdigit() else 0
