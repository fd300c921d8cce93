"""The lead: the answer a reader comes for, built once from a model's stored facts and verdict.

What each current runtime serves, the context the rope was trained at, the declared scaling, and
the verdict with its one-line reason and the runtime that causes it. The site's lead box, the
catalog's served-context column, `ropedex show` and `ropedex check` all read it from `build_lead`,
so a figure has one name and one definition everywhere (`CONTEXT_FIGURES`).
"""

from __future__ import annotations

from typing import Any

from yarn_core.conventions import MLA_SOFTMAX_MODEL_TYPES

# The runtimes a reader runs, in reading order; the DeepSeek reference joins them only for the
# architectures it was written for.
LEAD_RUNTIMES = ("transformers", "vllm", "sglang", "llama.cpp")
DEEPSEEK_REFERENCE = "deepseek"
RUNTIME_NAMES = {
    "transformers": "transformers",
    "vllm": "vLLM",
    "sglang": "SGLang",
    "llama.cpp": "llama.cpp",
    "deepseek": "DeepSeek reference",
}

# One name and one definition per context figure, for the site, the catalog, the CLI and docs.
CONTEXT_FIGURES: dict[str, tuple[str, str]] = {
    "served_context": (
        "Served context",
        "the longest sequence a runtime accepts by default with the config as published "
        "(vLLM's max model length, llama.cpp's training context); the catalog shows the "
        "smallest across transformers, vLLM, SGLang and llama.cpp",
    ),
    "trained_context": (
        "Trained context",
        "the context the rope was trained at before any scaling: "
        "original_max_position_embeddings, or the declared length when nothing is scaled",
    ),
    "declared_context": (
        "Declared context",
        "max_position_embeddings (or the family's equivalent key) as config.json writes it",
    ),
    "scaled_range": (
        "Scaled range",
        "trained context x scaling factor: how far the declared factor stretches the "
        "frequencies; no runtime serves this unless the declared context says so",
    ),
}


def lead_runtimes(model_type: str | None, runtimes: dict[str, Any] | None) -> list[str]:
    """The runtimes the lead names for this model: the four current ones, plus the DeepSeek
    reference for DeepSeek-architecture models that have its row."""
    names = list(LEAD_RUNTIMES)
    if model_type in MLA_SOFTMAX_MODEL_TYPES and DEEPSEEK_REFERENCE in (runtimes or {}):
        names.append(DEEPSEEK_REFERENCE)
    return names


def build_lead(
    facts: dict[str, Any] | None,
    verification: dict[str, Any] | None,
    model_type: str | None = None,
) -> dict[str, Any] | None:
    """The lead of one model (None when it has no position facts).

    Keys: runtimes (name, label, served_context, differs, note per runtime), served_context
    (smallest served across the current runtimes), served_differs, trained_context,
    declared_context, scaled_range, scaling_type, scaling_factor, verdict, reason, cause
    (runtime names that cause a warn or fail; empty when the config itself does)."""
    if not facts:
        return None
    model_type = model_type or (facts.get("details") or {}).get("model_type")
    verification = verification or {}
    runtimes = verification.get("runtimes")
    runtimes = runtimes if isinstance(runtimes, dict) else {}
    checks = [c for c in verification.get("checks") or [] if isinstance(c, dict)]
    differ = _differ(checks)
    rows = []
    for name in lead_runtimes(model_type, runtimes):
        found = runtimes.get(name)
        served = found.get("served_context") if isinstance(found, dict) else None
        rows.append(
            {
                "name": name,
                "label": RUNTIME_NAMES[name],
                "served_context": served if isinstance(served, int) else None,
                "differs": name in differ,
                "note": "; ".join(differ.get(name, [])) or None,
            }
        )
    served_all = [r["served_context"] for r in rows[: len(LEAD_RUNTIMES)]]
    known = [s for s in served_all if s is not None]
    reason, cause = _reason(verification, checks, differ)
    declared = facts.get("declared_context")
    original = facts.get("original_context")
    scaling = facts.get("scaling_type")
    factor = facts.get("scaling_factor")
    trained = original if original is not None else (declared if not scaling else None)
    scaled = None
    if isinstance(original, int) and isinstance(factor, int | float) and factor > 1:
        scaled = round(original * factor)
    return {
        "runtimes": rows,
        "served_context": min(known) if known else None,
        "served_differs": len(set(served_all)) > 1,
        "trained_context": trained,
        "declared_context": declared,
        "scaled_range": scaled,
        "scaling_type": scaling,
        "scaling_factor": factor,
        "verdict": verification.get("verdict"),
        "reason": reason,
        "cause": cause,
    }


def _differ(checks: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Runtime -> what differs from transformers, as the X1 agreement check recorded it."""
    for check in checks:
        if str(check.get("id", "")).startswith("X1"):
            numbers = check.get("numbers")
            found = numbers.get("differ") if isinstance(numbers, dict) else None
            if isinstance(found, dict):
                return {str(k): [str(w) for w in v] for k, v in found.items()}
    return {}


def _reason(
    verification: dict[str, Any], checks: list[dict[str, Any]], differ: dict[str, list[str]]
) -> tuple[str | None, list[str]]:
    """The verdict's one-line reason and the runtimes that cause it: the first failing check,
    else the first warning, else the stored reason (n/a)."""
    for status in ("fail", "warn"):
        for check in checks:
            if check.get("status") != status:
                continue
            if str(check.get("id", "")).startswith("X1") and differ:
                causes = list(differ)
                text = "; ".join(
                    f"{RUNTIME_NAMES.get(k, k)} {', '.join(v)}" for k, v in differ.items()
                )
                return text, causes
            return str(check.get("message") or check.get("id")), []
    stored = verification.get("reason")
    return (str(stored) if stored else None), []


def lead_lines(lead: dict[str, Any]) -> list[str]:
    """The lead as a few short text lines (the CLI's block at the top of show and check)."""
    from registry.formatting import fmt_tokens, fmt_value

    served = ", ".join(
        f"{r['label']} {fmt_tokens(r['served_context'])}" + (" (differs)" if r["differs"] else "")
        for r in lead["runtimes"]
    )
    scaling = lead["scaling_type"] or "none"
    if lead["scaling_type"] and lead["scaling_factor"] is not None:
        scaling += f" x{fmt_value(lead['scaling_factor'])}"
    second = (
        f"{CONTEXT_FIGURES['trained_context'][0]}: {fmt_tokens(lead['trained_context'])}"
        f" · scaling {scaling}"
    )
    if lead["scaled_range"] and lead["scaled_range"] != lead["served_context"]:
        name = CONTEXT_FIGURES["scaled_range"][0].lower()
        second += f" · {name} {fmt_tokens(lead['scaled_range'])}"
    lines = [f"{CONTEXT_FIGURES['served_context'][0]}: {served}", second]
    verdict = lead["verdict"] or "unverified"
    line = f"Verdict: {verdict}"
    if lead["reason"]:
        line += f": {lead['reason']}"
    if lead["cause"]:
        line += f" (caused by {', '.join(RUNTIME_NAMES.get(c, c) for c in lead['cause'])})"
    lines.append(line)
    return lines
