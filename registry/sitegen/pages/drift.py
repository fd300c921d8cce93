"""drift/: derivatives whose position encoding differs from their base model (overall and per
family), and the feed of drift (`feeds/drift.{atom,rss}`)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

from registry.lineage import LEVELS
from registry.sitegen.feeds import FeedItem, write_feeds
from registry.sitegen.filters import KEY_RE
from registry.sitegen.writer import Site, model_path

LEVEL_TEXT = {
    "harmless": "harmless: a length its own scaling covers",
    "suspicious": "suspicious: context cut or uncovered, or a changed factor or original context",
    "breaking": "breaking: another rotation than the base was trained with",
}


def drift_entries(site: Site, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each derivative with drift, worst first, with its family and whether pages exist."""
    by_repo = {r["repo_id"]: r for r in rows}
    entries = []
    for repo_id, node in site.drift.items():
        row = by_repo.get(repo_id) or {}
        base = by_repo.get(node["base_model"]) or {}
        entries.append(
            {
                **node,
                "family": row.get("family"),
                "page": bool(row.get("page")),
                "base_page": bool(base.get("page")),
            }
        )
    entries.sort(key=lambda e: (-LEVELS.index(e["level"]), e["repo_id"]))
    return entries


def drift_pages(site: Site, rows: list[dict[str, Any]]) -> None:
    """drift/index.html (every family), drift/FAMILY.html, and the drift feed."""
    entries = drift_entries(site, rows)
    families: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        if entry["family"] and KEY_RE.match(entry["family"]):
            families[entry["family"]].append(entry)
    listing = [{"name": n, "count": len(families[n])} for n in sorted(families)]
    paged = {r["repo_id"] for r in rows if r.get("page")}
    ggufs = [
        {**g, "source_page": g["source_page"] and g["source"] in paged} for g in site.gguf_drift
    ]
    feed = bool(entries)  # like the group feeds, written only when there is something in it
    site.page(
        "drift/index.html",
        "drift.html",
        family=None,
        ggufs=ggufs,
        entries=entries,
        families=listing,
        counts=_counts(entries),
        levels=LEVEL_TEXT,
        model_path=model_path,
        feed=feed,
    )
    for name, members in sorted(families.items()):
        site.page(
            f"drift/{name}.html",
            "drift.html",
            family=name,
            ggufs=[],
            entries=members,
            families=listing,
            counts=_counts(members),
            levels=LEVEL_TEXT,
            model_path=model_path,
            feed=feed,
        )
    if feed:
        _feed(site, entries)


def _counts(entries: list[dict[str, Any]]) -> dict[str, int]:
    return {level: sum(1 for e in entries if e["level"] == level) for level in LEVELS}


def _feed(site: Site, entries: list[dict[str, Any]]) -> None:
    """One item per derivative and drift: a drift that changes is a new item."""
    base = site.config.base_url
    items = []
    for entry in entries:
        digest = hashlib.sha256(
            json.dumps(entry["drifts"], sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        page = base + (model_path(entry["repo_id"]) if entry["page"] else "drift/index.html")
        fields = ", ".join(d["field"] for d in entry["drifts"])
        items.append(
            FeedItem(
                uid=f"{page}#drift-{digest}",
                title=f"{entry['repo_id']} drifts from {entry['base_model']} ({entry['level']})",
                link=page,
                summary="; ".join(d["why"] for d in entry["drifts"]) + f" [{fields}]",
                updated=site.stamp or "",
            )
        )
    atom, rss = write_feeds(
        items,
        title=f"{site.config.title}: drift from base models",
        description=f"Derivatives whose position encoding differs from their base model in "
        f"the {site.config.title} catalog.",
        page_url=f"{base}drift/index.html",
        base_path=site.writer.path("feeds/drift"),
        feed_url=f"{base}feeds/drift",
        stamp=site.stamp,
    )
    for path in (atom, rss):
        site.writer.summary.files += 1
        site.writer.summary.bytes += path.stat().st_size


def read_drift(conn: Any) -> dict[str, dict[str, Any]]:
    """Repo id -> its drift from its base, with `base_page` (whether the base has a page)."""
    from registry.lineage import drift_by_repo
    from scrapers.hubtree import is_valid_repo_id

    found = drift_by_repo(conn)
    for node in found.values():
        node["base_page"] = is_valid_repo_id(node["base_model"])
    return found


def read_gguf_drift(conn: Any) -> list[dict[str, Any]]:
    """GGUF files whose stored check differs from their source, with page flags."""
    from registry.lineage import gguf_drift
    from scrapers.hubtree import is_valid_repo_id

    found = gguf_drift(conn)
    for entry in found:  # drift_pages keeps the link only when the source has a page
        entry["source_page"] = bool(entry["source"]) and is_valid_repo_id(str(entry["source"]))
    return found
