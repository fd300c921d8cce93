"""tags/ and families/: an index each, one page per tag or family, and the member lists that
the glossary pages and feeds share."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from registry.sitegen.filters import KEY_RE
from registry.sitegen.pages.catalog import TABLE_COLUMNS
from registry.sitegen.read import counts
from registry.sitegen.writer import Site

LIST_LIMIT = 500  # models listed on a tag or family page (the catalog has the rest)


def group_pages(site: Site, rows: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    """tags/ and families/: an index each, and one page per tag or family."""
    for key, folder, entry_of in (
        ("position_encoding", "tags", site.tag_entry),
        ("family", "families", site.family_entry),
    ):
        members = groups(site, rows, key)
        names = sorted(members, key=lambda k: (-len(members[k]), k))
        # The index lists what the catalog holds (as the home page counts it), each tag with its
        # definition; a known tag without models keeps its page for links into it.
        listing = [
            {
                "name": n,
                "count": len(members[n]),
                "linked": bool(KEY_RE.match(n)),
                "definition": _definition(site, n) if folder == "tags" else "",
            }
            for n in names
            if members[n]
        ]
        site.page(f"{folder}/index.html", f"{folder}.html", groups=listing)
        for name in names:
            if not KEY_RE.match(name):
                continue
            slug = entry_of.get(name)
            listed = members[name][:LIST_LIMIT]
            breakdown = _breakdown(members[name], "family" if folder == "tags" else "tag")
            site.page(
                f"{folder}/{name}.html",
                "group.html",
                inputs=[
                    [[r[c] for c in TABLE_COLUMNS] for r in listed],
                    len(members[name]),
                    breakdown,
                    slug,
                    site.stamp,
                ],
                kind=folder,
                name=name,
                definition=site.tag_text.get(name, "") if folder == "tags" else "",
                count=len(members[name]),
                breakdown=breakdown,
                models=listed,
                limit=LIST_LIMIT,
                cards=[site.card(slug)] if slug else [],
                entry_slug=slug,
            )


UNTAGGED = "Models with no usable config.json yet, so no tag (their fetch error is on their page)."


def _definition(site: Site, tag: str) -> str:
    return UNTAGGED if tag == "untagged" else site.tag_text.get(tag, "")


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
    members = members_by(rows, key)
    if key == "position_encoding":
        known = [*site.tag_text, *site.tag_entry]
    else:
        known = list(site.family_entry)
    for name in known:
        members.setdefault(name, [])
    return members


def members_by(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:  # rows are already in popularity order
        if row[key] is not None:
            out[row[key]].append(row)
    return dict(out)
