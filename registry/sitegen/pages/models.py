"""The pages of the static site, one function per kind; `registry.sitegen.driver` drives them.

Each function turns catalog rows into template contexts and hands them to `Site.page`; nothing
here formats HTML except through the templates and the escaped SVG builders in
`registry.sitegen.plots`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from markupsafe import Markup

from registry.sitegen.driver import (
    COLUMNS,
    ENTRY_LIMIT,
    KEY_RE,
    LIST_LIMIT,
    PAGE_ROWS,
    SHARD_ROWS,
    RenderSummary,
    Site,
    catalog_row,
    counts,
    flatten,
    fmt_json,
    fmt_theta,
    fmt_tokens,
    fmt_value,
    glossary_html,
    model_path,
)
from registry.sitegen.feeds import FeedItem, write_feeds
from registry.sitegen.glossary import aliases
from registry.sitegen.plots import bar_chart_svg, frequency_series, frequency_svg

MODEL_SKIP = ("id", "snapshot_id")
RECENT_CHANGES = 20


# -- model pages --------------------------------------------------------------------------------


def model_pages(
    site: Site,
    records: Iterable[dict[str, Any]],
    changes: dict[int, list[dict[str, Any]]],
    summary: RenderSummary,
) -> list[dict[str, Any]]:
    """Write one page per model with a safe repo id; return every model's catalog row."""
    from scrapers.hubtree import is_valid_repo_id

    plots: dict[str, list[dict[str, Any]]] = {}  # by the model's rope fingerprint
    rows = []
    for record in records:
        repo_id = record["model"]["repo_id"]
        safe = is_valid_repo_id(repo_id)
        rows.append(catalog_row(record, safe))
        if not safe:
            summary.refused.append(repo_id)
            continue
        context = model_context(site, record, changes.get(record["model"]["id"], []))
        context["plots"] = cached_plots(record["facts"], plots, summary)
        site.page(model_path(repo_id), "model.html", **context)
        summary.model_pages += 1
    return rows


_FORKED: dict[str, Any] = {}  # what forked workers inherit: the site and changes by model


def forked_model_pages(
    site: Site, db_url: str, changes: dict[int, list[dict[str, Any]]], workers: int
) -> list[dict[str, Any]]:
    """`model_pages` split over `workers` forked processes, each reading its own id shard."""
    import multiprocessing

    _FORKED.update(site=site, changes=changes, url=db_url, workers=workers)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_model_shard, range(workers))
    finally:
        _FORKED.clear()
    summary = site.writer.summary
    rows: list[dict[str, Any]] = []
    for shard_rows, part, pages in parts:
        rows += shard_rows
        site.writer.pages += pages
        for name in ("model_pages", "pages", "files", "bytes", "plots"):
            setattr(summary, name, getattr(summary, name) + getattr(part, name))
        summary.plot_errors = sorted({*summary.plot_errors, *part.plot_errors})
        summary.refused = sorted([*summary.refused, *part.refused])
    return rows


def _model_shard(k: int) -> tuple[list[dict[str, Any]], RenderSummary, list[str]]:
    from sqlalchemy import create_engine

    from registry.sitegen.driver import iter_models

    site: Site = _FORKED["site"]
    part = RenderSummary(out_dir=site.writer.summary.out_dir)
    site.writer.summary, site.writer.pages = part, []
    engine = create_engine(_FORKED["url"])
    try:
        with engine.connect() as conn:
            records = iter_models(conn, (k, _FORKED["workers"]))
            rows = model_pages(site, records, _FORKED["changes"], part)
    finally:
        engine.dispose()
    return rows, part, site.writer.pages


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
        **verification_tables(verification),
        "evidence": kv_rows(sorted(flatten(_evidence(facts), keep_empty=True))),
        "attributes": kv_rows(attributes),
        "changes": changes,
        "cards": [site.card(s) for s in dict.fromkeys([slug, family_slug]) if s],
        "tag_slug": slug,
        "family_slug": family_slug,
    }


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


# Short titles of the verifier's checks, by id prefix (docs/verifier.md describes each one).
CHECK_TITLES = {
    "C1": "Type key (rope_type or legacy type)",
    "C2": "Legacy type names",
    "C3": "Required keys present",
    "C4": "Keys the type does not read",
    "C5": "Scaling factor",
    "C6": "Factor against the context lengths",
    "C7": "Original (trained) context declared",
    "C8": "YaRN beta_fast above beta_slow",
    "C9": "YaRN truncate flag",
    "C10": "DeepSeek mscale pair",
    "C11": "Explicit attention factor",
    "C12": "Llama 3 frequency bands",
    "C13": "LongRoPE factor lists",
    "C14": "mRoPE sections",
    "C15": "Partial rotary width",
    "C16": "Dynamic NTK base",
    "C19": "Value types",
    "C20": "Base frequency θ",
    "P0": "Embedding can be built",
    "P1": "High-frequency pairs untouched",
    "P2": "Low-frequency pairs interpolated",
    "P3": "Frequency ratio falls monotonically",
    "P4": "Rotation angles stay within training",
    "P5": "Attention logit magnitude",
    "P6": "YaRN range rounding, float32 vs float64",
    "P7": "Frequencies match the reference",
    "P8": "cos/sin finite in the declared dtype",
    "P9": "Relative positions still told apart",
    "X1": "Runtimes agree",
}
STATUS_TEXT = {"not-applicable": "n/a"}


def check_title(check_id: str) -> str:
    """'C1-type-key' -> its title; an unknown id as words ('Z9-new-thing' -> 'New thing')."""
    prefix, _, rest = check_id.partition("-")
    if prefix in CHECK_TITLES:
        return CHECK_TITLES[prefix]
    words = (rest or check_id).replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


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


def _runtime_order(name: str) -> tuple[int, str]:
    """The reference runtime first, then current runtimes, then older releases ('x-4.50')."""
    if name == REFERENCE_RUNTIME:
        return (0, name)
    return (2 if re.search(r"-\d", name) else 1, name)


def runtime_table(runtimes: Any) -> dict[str, Any] | None:
    """Verification.runtimes as a table: one row per runtime, known columns first with
    headings and formatted numbers, cells that differ from transformers marked, notes as text."""
    if not isinstance(runtimes, dict) or not runtimes:
        return None
    reported = {k for v in runtimes.values() if isinstance(v, dict) for k in v} - {"notes"}
    columns = [c for c in RUNTIME_COLUMNS if c[0] in reported]
    columns += [
        (k, k.replace("_", " "), fmt_value) for k in sorted(reported - {c[0] for c in columns})
    ]
    reference = runtimes.get(REFERENCE_RUNTIME)
    rows = []
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
        rows.append({"name": name, "cells": cells, "notes": [str(n) for n in notes]})
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


# -- catalog ------------------------------------------------------------------------------------


def catalog_pages(site: Site, rows: list[dict[str, Any]]) -> None:
    """JSON shards for the browser, plus a first page that works without JavaScript."""
    shards = []
    for number, start in enumerate(range(0, len(rows), SHARD_ROWS)):
        name = f"data/catalog-{number:04d}.json"
        chunk = [[_cell(r[c]) for c in COLUMNS] for r in rows[start : start + SHARD_ROWS]]
        site.writer.write(name, json.dumps(chunk, separators=(",", ":"), ensure_ascii=True))
        shards.append(name)
    facets = {k: counts(rows, k) for k in ("position_encoding", "scaling_type", "verdict")}
    facets["family"] = counts(rows, "family")
    index = {
        "columns": list(COLUMNS),
        "total": len(rows),
        "shards": shards,
        "page_rows": PAGE_ROWS,
        "facets": facets,
        "synonyms": synonyms(site),
        "tag_entry": site.tag_entry,  # tag -> glossary slug whose hover card the tag shows
    }
    site.writer.write("data/catalog.json", json.dumps(index, sort_keys=True, separators=(",", ":")))
    site.page(
        "catalog/index.html",
        "catalog.html",
        rows=rows[:PAGE_ROWS],
        total=len(rows),
        facets=facets,
        page_rows=PAGE_ROWS,
        tag_entry=site.tag_entry,
        cards=[site.card(slug) for slug in sorted(set(site.tag_entry.values()))],
    )


def _cell(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def synonyms(site: Site) -> dict[str, list[str]]:
    """Search words (entry slugs, titles, aliases) -> the tags and families they stand for."""
    out: dict[str, set[str]] = defaultdict(set)
    for entry in site.glossary.values():
        values = set(entry.pe_tags) | set(entry.families)
        if not values:
            continue
        for word in (entry.slug, entry.title.lower(), *entry.aka):
            out[word] |= values
    for alias, slug in aliases(site.glossary).items():
        entry = site.glossary[slug]
        out[alias] |= set(entry.pe_tags) | set(entry.families)
    return {k: sorted(v) for k, v in sorted(out.items()) if v}


# -- tags and families --------------------------------------------------------------------------


def group_pages(site: Site, rows: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    """tags/ and families/: an index each, and one page per tag or family."""
    for key, folder, entry_of in (
        ("position_encoding", "tags", site.tag_entry),
        ("family", "families", site.family_entry),
    ):
        members = groups(site, rows, key)
        names = sorted(members, key=lambda k: (-len(members[k]), k))
        listing = [
            {"name": n, "count": len(members[n]), "linked": bool(KEY_RE.match(n))} for n in names
        ]
        site.page(f"{folder}/index.html", f"{folder}.html", groups=listing)
        for name in names:
            if not KEY_RE.match(name):
                continue
            slug = entry_of.get(name)
            site.page(
                f"{folder}/{name}.html",
                "group.html",
                kind=folder,
                name=name,
                definition=site.tag_text.get(name, "") if folder == "tags" else "",
                count=len(members[name]),
                breakdown=_breakdown(members[name], "family" if folder == "tags" else "tag"),
                models=members[name][:LIST_LIMIT],
                limit=LIST_LIMIT,
                cards=[site.card(slug)] if slug else [],
                entry_slug=slug,
            )


def _breakdown(members: list[dict[str, Any]], by: str) -> dict[str, Any]:
    """How a tag's models split by family (`by="family"`), or a family's by tag (`by="tag"`)."""
    column = "family" if by == "family" else "position_encoding"
    return {
        "folder": "families" if by == "family" else "tags",
        "label": "By family" if by == "family" else "By tag",
        "items": [(v, c, bool(KEY_RE.match(v))) for v, c in counts(members, column)],
    }


def groups(site: Site, rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """Tag or family -> its models; vocabulary tags and glossary subjects appear even if empty."""
    members = _members(rows, key)
    if key == "position_encoding":
        known = [*site.tag_text, *site.tag_entry]
    else:
        known = list(site.family_entry)
    for name in known:
        members.setdefault(name, [])
    return members


def _members(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:  # rows are already in popularity order
        if row[key] is not None:
            out[row[key]].append(row)
    return dict(out)


# -- glossary -----------------------------------------------------------------------------------


def glossary_pages(site: Site, rows: list[dict[str, Any]]) -> None:
    """glossary/index.html, one page per entry, and a redirect page per alias."""
    by_tag = _members(rows, "position_encoding")
    by_family = _members(rows, "family")
    layers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in site.glossary.values():
        for layer in entry.layers:
            others = [x for x in entry.layers if x != layer]
            layers[layer].append({"entry": entry, "also": others})
    site.page(
        "glossary/index.html",
        "glossary.html",
        layers=sorted(layers.items()),
        entries=list(site.glossary.values()),
        aliases=aliases(site.glossary),
    )
    for entry in site.glossary.values():
        body, cards = glossary_html(site, entry, lambda slug: f"{slug}.html")
        sections = [
            _group_section("tags", tag, by_tag.get(tag, []), site.tag_text.get(tag, ""))
            for tag in entry.pe_tags
        ] + [_group_section("families", fam, by_family.get(fam, []), "") for fam in entry.families]
        site.page(
            f"glossary/{entry.slug}.html",
            "entry.html",
            entry=entry,
            body=Markup(body),
            cards=cards,
            sections=sections,
        )
    for alias, slug in aliases(site.glossary).items():
        site.page(f"glossary/{alias}.html", "redirect.html", sitemap=False, target=f"{slug}.html")


def _group_section(
    kind: str, name: str, members: list[dict[str, Any]], definition: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "linked": bool(KEY_RE.match(name)),
        "count": len(members),
        "models": members[:ENTRY_LIMIT],
        "definition": definition,
    }


# -- home and feeds -----------------------------------------------------------------------------


def home_page(site: Site, rows: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    tags = counts(rows, "position_encoding")
    bars = [(t, c, f"tags/{t}.html" if KEY_RE.match(t) else "catalog/") for t, c in tags]
    chart = bar_chart_svg(bars, title="Models per position-encoding tag", svg_id="tag-chart")
    site.page(
        "index.html",
        "home.html",
        total=len(rows),
        tags=tags,
        families=counts(rows, "family"),
        verdicts=counts(rows, "verdict"),
        chart=Markup(chart),
        changes=changes[:RECENT_CHANGES],
        safe_ids={r["repo_id"] for r in rows if r["page"]},
        entries=len(site.glossary),
    )


def feeds(site: Site, rows: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    """feeds/changes.{atom,rss}, plus one pair per tag and per family."""
    base = site.config.base_url
    by_repo = {r["repo_id"]: r for r in rows}
    items: list[tuple[FeedItem, dict[str, Any] | None]] = []
    for change in changes:
        row = by_repo.get(change["repo_id"])
        page = base + (model_path(change["repo_id"]) if row and row["page"] else "catalog/")
        text = f"{change['field_path']}: {change['old_value']} → {change['new_value']}"
        item = FeedItem(
            uid=f"{page}#change-{change['id']}",
            title=f"{change['repo_id']}: {change['field_path']} changed",
            link=page,
            summary=text + (f" (commit {change['commit_sha']})" if change["commit_sha"] else ""),
            updated=change["changed_at"],
        )
        items.append((item, row))
    root = site.writer.root
    _feed(site, [i for i, _ in items], "changes", root, base, "catalog changes", base)
    for key, folder in (("position_encoding", "tags"), ("family", "families")):
        names = sorted(n for n in groups(site, rows, key) if KEY_RE.match(n))
        for name in names:
            picked = [i for i, row in items if row is not None and row[key] == name]
            page = f"{base}{folder}/{name}.html"
            _feed(site, picked, f"{folder}/{name}", root, base, f"changes in {name}", page)


def _feed(
    site: Site, items: list[FeedItem], name: str, root: Any, base: str, what: str, page: str
) -> None:
    atom, rss = write_feeds(
        items,
        title=f"{site.config.title}: {what}",
        description=f"Position-encoding changes ({what}) in the {site.config.title} catalog.",
        page_url=page,
        base_path=site.writer.path(f"feeds/{name}"),
        feed_url=f"{base}feeds/{name}",
        stamp=site.stamp,
    )
    for path in (atom, rss):
        site.writer.summary.files += 1
        site.writer.summary.bytes += path.stat().st_size
