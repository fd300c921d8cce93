"""feeds/: which catalog changes go in which Atom/RSS feed (all, per tag, per family); the
feed files themselves are written by `registry.sitegen.feeds`."""

from __future__ import annotations

from typing import Any

from registry.sitegen.feeds import FeedItem, write_feeds
from registry.sitegen.filters import KEY_RE
from registry.sitegen.pages.groups import members_by
from registry.sitegen.writer import Site, model_path
from registry.store import ADDED_FIELD


def feeds(site: Site, rows: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    """feeds/changes.{atom,rss}, plus one pair per tag and per family."""
    base = site.config.base_url
    by_repo = {r["repo_id"]: r for r in rows}
    items: list[tuple[FeedItem, dict[str, Any] | None]] = []
    for change in changes:
        row = by_repo.get(change["repo_id"])
        page = base + (model_path(change["repo_id"]) if row and row["page"] else "catalog/")
        if change["field_path"] == ADDED_FIELD:
            title = f"{change['repo_id']} added to the catalog"
            text = f"first seen, position encoding {change['new_value']}"
        else:
            title = f"{change['repo_id']}: {change['field_path']} changed"
            text = f"{change['field_path']}: {change['old_value']} → {change['new_value']}"
        item = FeedItem(
            uid=f"{page}#change-{change['id']}",
            title=title,
            link=page,
            summary=text + (f" (commit {change['commit_sha']})" if change["commit_sha"] else ""),
            updated=change["changed_at"],
        )
        items.append((item, row))
    root = site.writer.root
    _feed(site, [i for i, _ in items], "changes", root, base, "catalog changes", base)
    for key, folder in (("position_encoding", "tags"), ("family", "families")):
        # Only groups with models have feeds (an empty vocabulary tag has nothing to report).
        names = sorted(n for n in members_by(rows, key) if KEY_RE.match(n))
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
