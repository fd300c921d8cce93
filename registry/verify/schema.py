"""Schema checks of one rope block (pure Python, no torch): ids C1-C5, C8, C9, C11-C15, C19, C20.

Each check reads the raw block as the config wrote it and the normalised `RopeParams` the tagger
resolved from it, and returns one `Check`. A check fails only for a real defect (a runtime
raises, or the numbers cannot describe a working embedding); odd but intended configs warn."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from registry.formatting import fmt_theta
from registry.verify.check import Check, _na, guarded, is_number
from registry.verify.keys import (
    ALIAS_PAIRS,
    COMMON_KEYS,
    ENGINE_KEYS,
    KNOWN_RAW_TYPES,
    LEGACY_TYPES,
    MODEL_LOCAL_TYPES,
    MROPE_KEYS,
    NUMBER_KEYS,
    REQUIRED_KEYS,
    TYPE_KEYS,
    block_type,
    raw_type,
)
from yarn_core.frequencies import mrope_pair_axes
from yarn_core.params import RopeParams
from yarn_core.scaling import DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW

if TYPE_CHECKING:
    pass


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
        msg = f"rope type {written!r} is implemented by no runtime (transformers: KeyError)"
        return Check(cid, "fail", msg, nums)
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
    return Check(cid, "pass", f"rope_theta {fmt_theta(params.theta)}", {"theta": params.theta})


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
        return Check(cid, "warn", f"beta_fast = beta_slow = {fast:g}: a step, not a ramp", nums)
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
        return Check(cid, "warn", f"high = low = {low:g}: a hard switch with no blend band", nums)
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
        axes = mrope_pair_axes(section, pairs, True)
        got = [axes.count(axis) for axis in range(len(section))]
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


def check_valid_values(invalid: dict[str, Any]) -> Check:
    """C0: every value a runtime reads is one it can use (the tagger keeps bad ones as written)."""
    cid = "C0-valid-values"
    if not invalid:
        return Check(cid, "pass", "every rope-related value is usable")
    detail = ", ".join(f"{key} = {_written(value)}" for key, value in sorted(invalid.items()))
    msg = f"values no runtime can use: {detail}"
    return Check(cid, "fail", msg, {"invalid": dict(invalid)})


def _written(value: Any) -> str:
    """A value the way the config wrote it (JSON spelling), cut to a readable length."""
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
