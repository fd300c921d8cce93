"""Model pages: one per model with a safe repo id, with its facts, evidence, verifier checks,
runtime matrix and frequency plots."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from markupsafe import Markup

from registry.formatting import fmt_theta, fmt_tokens, fmt_value
from registry.lead import (
    CONTEXT_FIGURES,
    DEEPSEEK_REFERENCE,
    LEAD_RUNTIMES,
    RUNTIME_NAMES,
    build_lead,
)
from registry.recipes import recipes
from registry.sitegen.filters import KEY_RE, flatten, fmt_json
from registry.sitegen.pages.api import (
    judged_keys,
    model_document,
    write_model_document,
)
from registry.sitegen.plots import frequency_series, frequency_svg
from registry.sitegen.read import MODEL_SKIP, catalog_row
from registry.sitegen.writer import RenderSummary, Site, model_path
from registry.verify.titles import STATUS_TEXT, check_title


def model_pages(
    site: Site,
    records: Iterable[dict[str, Any]],
    changes: dict[int, list[dict[str, Any]]],
    summary: RenderSummary,
) -> list[dict[str, Any]]:
    """Write one page per model with a safe repo id; return every model's catalog row."""
    from scrapers.hubtree import is_valid_repo_id

    plots: dict[str, list[dict[str, Any]]] = {}  # by the model's rope fingerprint
    plot_problems: dict[str, list[str]] = {}  # the plot errors each fingerprint gave
    rows = []
    for record in records:
        repo_id = record["model"]["repo_id"]
        safe = is_valid_repo_id(repo_id)
        row = catalog_row(record, safe)
        drift = site.drift.get(repo_id)
        row["drift"] = (drift or {}).get("level")
        rows.append(row)
        if not safe:
            summary.refused.append(repo_id)
            continue
        own_changes = changes.get(record["model"]["id"], [])
        rel = model_path(repo_id)
        summary.model_pages += 1
        context = model_context(site, record, own_changes)
        fingerprint = (record["facts"] or {}).get("rope_fingerprint")
        before = len(summary.plot_errors)
        context["plots"] = cached_plots(record["facts"], plots, summary)
        if fingerprint and len(summary.plot_errors) > before:
            plot_problems[fingerprint] = summary.plot_errors[before:]
        page = site.page(rel, "model.html", catalog_stamp=False, track=False, **context)
        document = write_model_document(site, model_document(repo_id, row, context))
        if site.reuse is not None:
            key = site.reuse.keys.get(record["model"]["id"], "")
            site.reuse.models[repo_id] = [key, page, document]
            if plot_problems.get(fingerprint or ""):
                site.reuse.errors[repo_id] = list(plot_problems[fingerprint or ""])
    return rows


def model_context(
    site: Site, record: dict[str, Any], changes: list[dict[str, Any]]
) -> dict[str, Any]:
    model, facts = record["model"], record["facts"]
    verification, snapshot = record["verification"], record["snapshot"]
    tag = facts["position_encoding"] if facts else None
    attributes = flatten({k: v for k, v in model.items() if k not in MODEL_SKIP})
    if facts:
        shown = {k: v for k, v in facts.items() if k != "evidence"}  # the evidence table has it
        attributes += flatten(shown, "facts")
    lead = build_lead(facts, verification, model.get("model_type"))
    if lead is not None:
        lead = {**lead, "cause_labels": [RUNTIME_NAMES.get(c, c) for c in lead["cause"]]}
    tables = verification_tables(verification)
    if tables["runtimes"] and lead is not None:
        named = {r["name"] for r in lead["runtimes"]}
        kept = [
            r
            for r in tables["runtimes"]["rows"]
            if r["name"] != DEEPSEEK_REFERENCE or r["name"] in named
        ]
        tables = {**tables, "runtimes": {**tables["runtimes"], "rows": kept}}
    slug = site.tag_entry.get(tag or "")
    family_slug = site.family_entry.get(model.get("family") or "")
    return {
        "model": model,
        "facts": facts,
        "tag": tag,
        "tag_page": bool(tag and KEY_RE.match(tag)),
        "family_page": bool(model.get("family") and KEY_RE.match(model["family"])),
        "snapshot": snapshot,
        "verification": verification,
        **tables,
        "checks_flagged": any(c["status"] in ("warn", "fail") for c in tables["checks"]),
        "lead": lead,
        "recipes": [
            r.to_dict()
            for r in recipes(
                model["repo_id"],
                facts,
                verification,
                model_type=model.get("model_type"),
                family=model.get("family"),
            )
        ],
        "figures": CONTEXT_FIGURES,
        "links": hub_links(site.config.hub_url, model["repo_id"], _commit(record)),
        "evidence": kv_rows(sorted(flatten(_evidence(facts), keep_empty=True))),
        "judged": judged_block(_evidence(facts)),
        "attributes": kv_rows(attributes),
        "changes": changes,
        "cards": [site.card(s) for s in dict.fromkeys([slug, family_slug]) if s],
        "tag_slug": slug,
        "family_slug": family_slug,
        "drift": site.drift.get(model["repo_id"]),
    }


def _commit(record: dict[str, Any]) -> str | None:
    """The commit the judged config was fetched at (the snapshot's, else the model's sha)."""
    snapshot = record.get("snapshot") or {}
    commit = snapshot.get("commit_sha") or record["model"].get("sha")
    return str(commit) if commit else None


def hub_links(hub_url: str, repo_id: str, commit: str | None) -> list[tuple[str, str]]:
    """Links out: the model's Hub page and its config.json at the pinned commit (a raw file
    URL, which the Hub and a mirror both serve). Only safe repo ids get a page, and the commit
    is quoted, so no model-supplied text escapes the path."""
    from urllib.parse import quote

    base = hub_url.rstrip("/") + "/" + quote(repo_id, safe="/")
    links = [("Model on the Hub", base)]
    if commit:
        links.append(
            (
                f"config.json at {commit[:12]}",
                f"{base}/resolve/{quote(commit, safe='')}/config.json",
            )
        )
    return links


FOLD_ITEMS = 8  # lists longer than this (LongRoPE factors) are folded under a count


def kv_rows(pairs: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """(key, value) pairs as key / JSON text rows; long lists carry a fold summary."""
    return [
        {
            "key": key,
            "text": fmt_json(value),
            "fold": f"{len(value)} values"
            if isinstance(value, list) and len(value) > FOLD_ITEMS
            else None,
        }
        for key, value in pairs
    ]


def judged_block(evidence: dict[str, Any]) -> str | None:
    """The evidence keys nested back into config.json's shape, as indented JSON: the exact
    block that was judged. The tagger keeps these keys in the facts, which the published
    catalog keeps, so the block shows even where the raw config text was stripped."""
    import json

    if not evidence:
        return None
    return json.dumps(judged_keys(evidence), indent=2, ensure_ascii=False, default=str)


def _evidence(facts: dict[str, Any] | None) -> dict[str, Any]:
    evidence = (facts or {}).get("evidence")
    return evidence if isinstance(evidence, dict) else {}


def verification_tables(verification: dict[str, Any] | None) -> dict[str, Any]:
    """The checks and runtime tables of a verifier row, built once per row (rows are shared)."""
    if not verification:
        return {"checks": [], "skipped": [], "runtimes": None}
    if "_tables" not in verification:
        rows = [check_row(c) for c in verification.get("checks") or []]
        verification["_tables"] = {
            "checks": [r for r in rows if r["status"] != "not-applicable"],
            "skipped": [r for r in rows if r["status"] == "not-applicable"],
            "runtimes": runtime_table(verification.get("runtimes")),
        }
    tables: dict[str, Any] = verification["_tables"]
    return tables


def check_row(check: Any) -> dict[str, Any]:
    """A verifier check as id, title, status and message, plus its numbers formatted as
    (name, text, exact) triples, whatever extra keys it carries."""
    if not isinstance(check, dict):
        return {
            "id": "check",
            "title": "Check",
            "status": "",
            "status_text": "",
            "detail": fmt_json(check),
            "numbers": [],
        }
    rest = {k: v for k, v in check.items() if k not in ("name", "id", "status", "verdict")}
    detail = rest.pop("detail", None) or rest.pop("message", None)
    numbers = rest.pop("numbers", None)
    if isinstance(numbers, dict):
        rest.update(numbers)
    elif numbers is not None:
        rest["numbers"] = numbers
    check_id = str(check.get("id") or check.get("name") or "check")
    status = str(check.get("status") or check.get("verdict") or "")
    return {
        "id": check_id,
        "title": str(check.get("name") or check_title(check_id)),
        "status": status,
        "status_text": STATUS_TEXT.get(status, status),
        "detail": str(detail) if detail else "",
        "numbers": [  # numbers keyed by layer type read as 'full_attention.theta'
            (k, fmt_value(v), fmt_json(v))
            for k, v in flatten(dict(sorted(rest.items())), keep_empty=True)
        ],
    }


# Runtime matrix columns in reading order: key, heading, formatter.
RUNTIME_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("served_context", "Served context", fmt_tokens),
    ("applies_scaling", "Applies scaling", fmt_value),
    ("factor", "Factor", fmt_value),
    ("attention_scaling", "cos/sin factor", fmt_value),
    ("softmax_multiplier", "Softmax multiplier", fmt_value),
    ("logit_multiplier", "Logit multiplier", fmt_value),
)
REFERENCE_RUNTIME = "transformers"
NOTE_KEYS = ("served_context_key", "frequency_length")


def _key_notes(row: dict[str, Any]) -> list[str]:
    """The length key a runtime reads, and its frequency length when not the served one."""
    notes = []
    key = row.get("served_context_key")
    if isinstance(key, str) and key:
        notes.append(f"length from {key}")
    length = row.get("frequency_length")
    if length is not None and length != row.get("served_context"):
        notes.append(f"frequencies built for {fmt_tokens(length)}")
    return notes


def _runtime_order(name: str) -> tuple[int, int, str]:
    """The reference runtime first, then the current ones in the lead's order, then the DeepSeek
    reference and any other, then older releases ('transformers-4.50')."""
    if re.search(r"-\d", name):
        return (2, 0, name)
    order = [*LEAD_RUNTIMES, DEEPSEEK_REFERENCE]
    return (0 if name == REFERENCE_RUNTIME else 1, order.index(name) if name in order else 99, name)


def runtime_table(runtimes: Any) -> dict[str, Any] | None:
    """Verification.runtimes as a table: one row per runtime, known columns first with
    headings and formatted numbers, cells that differ from transformers marked, notes as text."""
    if not isinstance(runtimes, dict) or not runtimes:
        return None
    # The length key and the frequency length read as notes: the table stays narrow enough for
    # the first screen.
    reported = {k for v in runtimes.values() if isinstance(v, dict) for k in v} - {
        "notes",
        *NOTE_KEYS,
    }
    columns = [c for c in RUNTIME_COLUMNS if c[0] in reported]
    columns += [
        (k, k.replace("_", " "), fmt_value) for k in sorted(reported - {c[0] for c in columns})
    ]
    reference = runtimes.get(REFERENCE_RUNTIME)
    rows: list[dict[str, Any]] = []
    for name in sorted(runtimes, key=_runtime_order):
        value = runtimes[name]
        cells_in = value if isinstance(value, dict) else {}
        cells = []
        for key, _, fmt in columns:
            cell = cells_in.get(key)
            differs = (
                isinstance(reference, dict)
                and name != REFERENCE_RUNTIME
                and key in cells_in
                and cell != reference.get(key)
            )
            exact = fmt_json(cell) if cell is not None else ""
            cells.append({"text": fmt(cell), "exact": exact, "differs": differs})
        notes = cells_in.get("notes")
        if not isinstance(value, dict):
            notes = [fmt_json(value)]
        elif isinstance(notes, str):
            notes = [notes]
        elif not isinstance(notes, list):
            notes = [] if notes is None else [fmt_json(notes)]
        notes = _key_notes(cells_in) + list(notes)
        text = [str(n) for n in notes]
        if name != REFERENCE_RUNTIME and rows and len(text) > 1 and text == rows[0]["notes"]:
            text = [f"notes as {REFERENCE_RUNTIME}"]  # the long ones once, on the reference row
        rows.append(
            {
                "name": name,
                "cells": cells,
                "notes": text,
                "older": _runtime_order(name)[0] == 2,
            }
        )
    return {
        "columns": [heading for _, heading, _ in columns],
        "rows": rows,
        "reference": REFERENCE_RUNTIME if isinstance(reference, dict) else None,
        "any_differs": any(c["differs"] for r in rows for c in r["cells"]),
    }


def cached_plots(
    facts: dict[str, Any] | None, cache: dict[str, list[dict[str, Any]]], summary: RenderSummary
) -> list[dict[str, Any]]:
    """A model's plots, computed once per distinct rope fingerprint in a render."""
    key = (facts or {}).get("rope_fingerprint")
    if not key:
        return []
    if key not in cache:
        cache[key] = model_plots(facts, summary)
    return cache[key]


def model_plots(facts: dict[str, Any] | None, summary: RenderSummary) -> list[dict[str, Any]]:
    """One frequency plot per distinct layer parameters of one model; a layer type whose
    frequencies are all untouched gets a sentence instead of a flat line."""
    from yarn_core.params import RopeParams

    groups: dict[str, list[str]] = defaultdict(list)
    params_of: dict[str, RopeParams] = {}
    for layer, data in sorted(((facts or {}).get("rope_parameters") or {}).items()):
        if not isinstance(data, dict):
            continue
        params = RopeParams.from_dict(data)
        fp = params.fingerprint()
        groups[fp].append(layer)
        params_of[fp] = params
    plots = []
    for fp, layers in groups.items():
        params = params_of[fp]
        svg, flat = _plot(params, fp, summary)
        plots.append(
            {
                "layers": layers,
                "svg": Markup(svg) if svg else None,
                "flat": flat,
                "params": fp,
                "rope_type": params.rope_type,
                "theta": fmt_theta(params.theta),
                "pairs": params.rotary_dim // 2 if params.rotary_dim else None,
                "factor": fmt_value(params.factor) if params.factor else None,
                "sections": fmt_value(list(params.mrope_section)) if params.mrope_section else None,
            }
        )
    return plots


def _plot(params: Any, fp: str, summary: RenderSummary) -> tuple[str | None, bool]:
    """The SVG of one layer type's ratios (None when it cannot be computed or is flat at 1)."""
    try:
        series = frequency_series(params)
    except (ValueError, NotImplementedError, ArithmeticError) as exc:
        summary.plot_errors.append(f"{fp}: {exc}")
        return None, False
    summary.plots += 1
    if all(abs(r - 1.0) < 1e-12 for r in series.ratios):
        return None, True
    title = f"Per-dimension frequency scaling ({params.rope_type}, theta {fmt_theta(params.theta)})"
    return frequency_svg(series, title=title, svg_id=f"plot-{fp}"), False
