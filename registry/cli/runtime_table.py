"""The runtime table of `ropedex show`: what context each runtime serves and how it scales, from
the verifier's runtime matrix (`registry.verify.matrix`)."""

from __future__ import annotations

from typing import Any


def runtime_rows(runtimes: dict[str, Any] | None, model_type: str | None) -> list[dict[str, Any]]:
    """One row per current runtime (the DeepSeek reference only for DeepSeek-architecture
    models), with the numbers formatted for people."""
    from registry.formatting import fmt_num, fmt_tokens, fmt_value
    from registry.verify.matrix import CURRENT_RUNTIMES
    from yarn_core.conventions import MLA_SOFTMAX_MODEL_TYPES

    if not runtimes:
        return []
    names = list(CURRENT_RUNTIMES)
    if model_type in MLA_SOFTMAX_MODEL_TYPES and "deepseek" in runtimes:
        names.append("deepseek")
    rows = []
    for name in names:
        row = runtimes.get(name)
        if not isinstance(row, dict):
            continue
        served = row.get("served_context")
        applies = row.get("applies_scaling")
        rows.append(
            {
                "runtime": name,
                "serves": fmt_tokens(served) if served is not None else "not stated",
                "scaling": "—" if applies is None else ("applied" if applies else "off"),
                "factor": fmt_num(row.get("factor")),
                "attn x": fmt_value(row.get("attention_scaling")),
                "logits x": fmt_value(row.get("logit_multiplier")),
            }
        )
    return rows
