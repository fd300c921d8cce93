"""catalog/: JSON shards and an index for the browser, plus a first page without JavaScript."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from operator import itemgetter
from pathlib import Path
from typing import Any

from registry.sitegen.glossary import aliases
from registry.sitegen.read import COLUMNS, counts
from registry.sitegen.writer import Site

SHARD_ROWS = 5000  # catalog rows per JSON shard
PAGE_ROWS = 100  # rows on the no-JS catalog page and per page in the browser


def shard_names(rows: list[dict[str, Any]]) -> list[str]:
    """The catalog's JSON shards, SHARD_ROWS rows each in the catalog's order."""
    return [f"data/catalog-{n:04d}.json" for n in range(-(-len(rows) // SHARD_ROWS))]


def write_shards(site: Site, rows: list[dict[str, Any]], share: tuple[int, int] = (0, 1)) -> None:
    """Shards k, k + n, ... of `shard_names(rows)` for `share=(k, n)`, each kept when its
    text is the one the previous render wrote."""
    k, n = share
    for number, name in enumerate(shard_names(rows)):
        if number % n != k:
            continue
        start = number * SHARD_ROWS
        chunk = [_cells(r) for r in rows[start : start + SHARD_ROWS]]
        text = json.dumps(chunk, separators=(",", ":"), ensure_ascii=True)
        key = hashlib.sha256(text.encode()).hexdigest()
        size = site.reuse.kept_file(name, key) if site.reuse is not None else None
        if size is None:
            site.writer.write(name, text, key=key)
        else:
            site.writer.kept(name, size, key=key)


def catalog_pages(site: Site, rows: list[dict[str, Any]], *, shards_written: bool = False) -> None:
    """JSON shards for the browser (unless `shards_written`: another process writes them),
    plus a first page that works without JavaScript."""
    if not shards_written:
        write_shards(site, rows)
    shards = shard_names(rows)
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
    site.writer.write(INDEX, json.dumps(index, sort_keys=True, separators=(",", ":")))
    caption = "Models, " + SORT_CAPTIONS[default_sort]
    starts = list(range(0, len(rows), PAGE_ROWS)) or [0]
    names = ["index.html"] + [f"page-{n}.html" for n in range(2, len(starts) + 1)]
    cards = [site.card(slug) for slug in sorted(set(site.tag_entry.values()))]
    for number, (start, name) in enumerate(zip(starts, names, strict=True), 1):
        shown = rows[start : start + PAGE_ROWS]
        pager = pager_links(number, names)
        site.page(
            f"catalog/{name}",
            "catalog.html",
            inputs=[
                [[r[c] for c in TABLE_COLUMNS] for r in shown],
                len(rows),
                facets,
                pager,
                default_sort,
                site.stamp if number == 1 else None,
            ],
            rows=shown,
            total=len(rows),
            facets=facets,
            page_rows=PAGE_ROWS,
            page=number,
            page_count=len(names),
            pager=pager,
            scripted=number == 1,  # later pages are the no-JavaScript catalog
            catalog_stamp=number == 1,  # later pages change only when their rows do
            caption=caption,
            sorts=list(SORT_CAPTIONS.items()),
            default_sort=default_sort,
            tag_entry=site.tag_entry,
            cards=cards,
        )


INDEX = "data/catalog.json"
# The row fields the catalog table (`model_table` in _macros.html) shows: a catalog page's key.
TABLE_COLUMNS = (
    "repo_id", "page", "position_encoding", "rope_theta", "scaling_type", "scaling_factor",
    "declared_context", "original_context", "served_context", "verdict", "family", "downloads",
)  # fmt: skip
PAGER_SPAN = 2  # page links on each side of the current one


def pager_links(page: int, names: list[str]) -> list[tuple[int, str] | None]:
    """Links to the first and last page and to those near `page`; None marks a gap. Linking
    every page from every page would make the no-JS catalog grow with the square of its size."""
    wanted = {1, len(names), *range(page - PAGER_SPAN, page + PAGER_SPAN + 1)}
    links: list[tuple[int, str] | None] = []
    for number in sorted(n for n in wanted if 1 <= n <= len(names)):
        last = links[-1] if links else None
        if last is not None and number > last[0] + 1:
            links.append(None)
        links.append((number, names[number - 1]))
    return links


def previous_rows(site_root: Path) -> dict[str, dict[str, Any]]:
    """The catalog rows of the site at `site_root`, by repo id, read back from its shards
    (empty when they cannot be read: every page is then rendered)."""
    try:
        index = json.loads((site_root / INDEX).read_text(encoding="utf-8"))
        out: dict[str, dict[str, Any]] = {}
        for name in index["shards"]:
            for cells in json.loads((site_root / str(name)).read_text(encoding="utf-8")):
                row = dict(zip(COLUMNS, cells, strict=True))
                row["page"] = bool(row["page"])
                out[row["repo_id"]] = row
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return out


# Sort keys of the catalog's select and their captions (catalog.js SORT_TEXT says the same).
SORT_CAPTIONS = {
    "downloads": "most downloaded first",
    "repo_id": "by repo id",
    "served_context": "longest served context first",
    "rope_theta": "largest θ first",
    "scaling_factor": "largest factor first",
}


_ROW_CELLS = itemgetter(*COLUMNS)
_PAGE = COLUMNS.index("page")


def _cells(row: dict[str, Any]) -> list[Any]:
    """A row's cells in COLUMNS order, its page flag as 0 or 1 (the only boolean column)."""
    cells = list(_ROW_CELLS(row))
    cells[_PAGE] = int(cells[_PAGE])
    return cells


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
