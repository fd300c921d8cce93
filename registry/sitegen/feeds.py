"""RSS 2.0 and Atom feeds of catalog changes, written with `feedgen`.

Feeds carry no wall-clock time: the build date is the catalog's last run, so two renders of the
same catalog write the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

FEED_LIMIT = 50  # newest changes per feed


@dataclass(frozen=True)
class FeedItem:
    uid: str  # stable, absolute URL-like id
    title: str
    link: str  # absolute URL
    summary: str
    updated: str  # ISO 8601


def parse_time(value: str | None) -> datetime:
    """An ISO 8601 string as an aware datetime (naive means UTC); the epoch when absent/bad."""
    if value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime(1970, 1, 1, tzinfo=UTC)


def write_feeds(
    items: list[FeedItem],
    *,
    title: str,
    description: str,
    page_url: str,
    base_path: Path,
    feed_url: str,
    stamp: str | None,
) -> tuple[Path, Path]:
    """Write `<base_path>.atom` and `<base_path>.rss`; items newest first, at most FEED_LIMIT.

    `feed_url` is the absolute URL of the feed without its suffix (the Atom self link).
    """
    from feedgen.feed import FeedGenerator

    built = parse_time(stamp)
    atom_path = base_path.with_name(base_path.name + ".atom")
    rss_path = base_path.with_name(base_path.name + ".rss")
    fg = FeedGenerator()
    fg.id(page_url)
    fg.title(title)
    fg.description(description)
    fg.subtitle(description)
    fg.link(href=page_url, rel="alternate")
    fg.link(href=feed_url + ".atom", rel="self")
    fg.language("en")
    fg.updated(built)
    fg.lastBuildDate(built)
    fg.generator("ropedex")
    for item in items[:FEED_LIMIT]:
        entry = fg.add_entry(order="append")
        entry.id(item.uid)
        entry.guid(item.uid, permalink=False)
        entry.title(item.title)
        entry.link(href=item.link)
        # Readers treat RSS descriptions as HTML: escape, and say so for Atom.
        entry.description(escape(item.summary), isSummary=True)
        entry.summary(escape(item.summary), type="html")
        entry.updated(parse_time(item.updated))
        entry.published(parse_time(item.updated))
    base_path.parent.mkdir(parents=True, exist_ok=True)
    fg.atom_file(str(atom_path), pretty=True)
    # Each format links to its own file as `self`; RSS's <link> is the page (feedgen writes
    # the last link given there).
    fg.link(
        [{"href": feed_url + ".rss", "rel": "self"}, {"href": page_url, "rel": "alternate"}],
        replace=True,
    )
    fg.rss_file(str(rss_path), pretty=True)
    return atom_path, rss_path
