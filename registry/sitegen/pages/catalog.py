"""catalog/: JSON shards and an index for the browser, plus a first page without JavaScript."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from registry.sitegen.glossary import aliases
from registry.sitegen.read import COLUMNS, counts
from registry.sitegen.writer import Site

SHARD_ROWS = 5000  # catalog rows per JSON shard
PAGE_ROWS = 100  # rows on the no-JS catalog page and per page in the browser


def catalog_pages(site: Site, rows: list[dict[str, Any]]) -> None:
    """JSON shards for the browser, plus a first page that works without JavaScript."""
    shards = []
    for number, start in enumerate(range(0, len(rows), SHARD_ROWS)):
        name = f"data/catalog-{number:04d}.json"
        chunk = [[_cell(r[c]) for c in COLUMNS] for r in rows[start : start + SHARD_ROWS]]
        site.writer.write(name, json.dumps(chunk, separators=(",", ":"), ensure_ascii=True))
        shards.append(name)
    facets = {k: counts(rows, k) for k in ("position_encoding", "scaling_type", "verdict", "drift")}
    facets["family"] = counts(rows, "family")
    default_sort = "downloads" if any(r["downloads"] for r in rows) else "repo_id"
    index = {
        "columns": list(COLUMNS),
        "default_sort": default_sort,
        "total": len(rows),
        "shards": shards,
        "page_rows": PAGE_ROWS,
        "facets": facets,
        "synonyms": synonyms(site),
        "tag_entry": site.tag_entry,  # tag -> glossary slug whose hover card the tag shows
    }
    site.writer.write("data/catalog.json", json.dumps(index, sort_keys=True, separators=(",", ":")))
    caption = "Models, " + SORT_CAPTIONS[default_sort]
    starts = list(range(0, len(rows), PAGE_ROWS)) or [0]
    names = ["index.html"] + [f"page-{n}.html" for n in range(2, len(starts) + 1)]
    for number, (start, name) in enumerate(zip(starts, names, strict=True), 1):
        site.page(
            f"catalog/{name}",
            "catalog.html",
            rows=rows[start : start + PAGE_ROWS],
            total=len(rows),
            facets=facets,
            page_rows=PAGE_ROWS,
            page=number,
            pages=list(enumerate(names, 1)),
            scripted=number == 1,  # later pages are the no-JavaScript catalog
            caption=caption,
            sorts=list(SORT_CAPTIONS.items()),
            default_sort=default_sort,
            tag_entry=site.tag_entry,
            cards=[site.card(slug) for slug in sorted(set(site.tag_entry.values()))],
        )


# Sort keys of the catalog's select and their captions (catalog.js SORT_TEXT says the same).
SORT_CAPTIONS = {
    "downloads": "most downloaded first",
    "repo_id": "by repo id",
    "served_context": "longest served context first",
    "rope_theta": "largest θ first",
    "scaling_factor": "largest factor first",
}


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
