"""The cross-runtime matrix: what each runtime derives from a config's primary layer type, and
X1, whether they agree."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from registry.verify.check import Check
from registry.verify.inputs import VerifyInput
from registry.verify.keys import primary_layer
from yarn_core.conventions import (
    CONVENTIONS,
    MLA_SOFTMAX_MODEL_TYPES,
)
from yarn_core.params import RopeParams
from yarn_core.report import runtime_numbers

if TYPE_CHECKING:
    pass


# Runtimes whose agreement X1 judges; the older transformers lines are listed but only noted.
# The numbers of each matrix row (as `ropedex rope` reports them, from `runtime_numbers`).
ROW_KEYS = (
    "served_context",
    "served_context_key",
    "factor_set",
    "attention_scaling",
    "softmax_multiplier",
    "applies_scaling",
    "factor",
    "logit_multiplier",
    "frequency_length",
    "notes",
)
CURRENT_RUNTIMES = ("transformers", "vllm", "sglang", "llama.cpp")


def runtime_matrix(
    inp: VerifyInput,
    layers: dict[str, RopeParams],
    config: dict[str, Any] | None = None,
) -> tuple[dict[str, dict[str, Any]], Check]:
    """What each runtime derives from the primary layer type, and X1: do they agree?

    `config` (the whole config.json) lets a runtime's served context follow keys outside the
    rope block (llama.cpp's per-architecture GGUF context_length)."""
    from yarn_core.frequencies import UnsupportedRope

    cid = "X1-runtime-agreement"
    params = layers[primary_layer(layers)]
    declared = params.max_position_embeddings or inp.declared_context
    rows: dict[str, dict[str, Any]] = {}
    freqs: dict[str, list[float] | None] = {}
    for conv in CONVENTIONS:
        try:
            rows[conv], freqs[conv] = _runtime_row(params, conv, declared, inp, config)
        except (UnsupportedRope, ArithmeticError, ValueError, TypeError) as exc:
            rows[conv] = dict.fromkeys(ROW_KEYS)
            rows[conv]["notes"] = [f"cannot resolve this config: {exc}"]
            freqs[conv] = None
    judged = list(CURRENT_RUNTIMES)
    if params.rope_type == "yarn" and inp.model_type in MLA_SOFTMAX_MODEL_TYPES:
        judged.append("deepseek")
    return rows, _agreement(cid, rows, freqs, judged)


def _runtime_row(
    params: RopeParams,
    conv: str,
    declared: int | None,
    inp: VerifyInput,
    config: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[float] | None]:
    """One row of the runtime matrix and that runtime's inverse frequencies (None if unbuilt)."""
    block = inp.raw_rope if isinstance(inp.raw_rope, dict) else {}
    numbers = runtime_numbers(
        params, conv, model_type=inp.model_type, rope_block=block, declared=declared, config=config
    )
    row = {key: numbers[key] for key in ROW_KEYS}
    return row, numbers["inv_freq"]


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:.4g}"


def _serves(context: int | None) -> str:
    return f"serves {context}" if context is not None else "serves no stated context length"


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
            what.append(_serves(row["served_context"]))
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
    base = f"transformers {_serves(ref['served_context'])}, logits x{_num(ref['logit_multiplier'])}"
    if differ:
        detail = "; ".join(f"{c}: {', '.join(w)}" for c, w in differ.items())
        return Check(cid, "warn", f"{base}; {detail}", nums)
    return Check(cid, "pass", f"{base}; {', '.join(judged[1:])} agree", nums)
