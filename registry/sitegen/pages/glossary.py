"""glossary/: the index by layer, one page per entry with the models it covers, and a redirect
page per alias."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from registry.sitegen.filters import KEY_RE
from registry.sitegen.glossary import GlossaryEntry, aliases
from registry.sitegen.glossary import render_markdown as render_glossary_markdown
from registry.sitegen.pages.groups import members_by
from registry.sitegen.writer import Site

ENTRY_LIMIT = 100  # models listed on a glossary entry


def glossary_pages(site: Site, rows: list[dict[str, Any]]) -> None:
    """glossary/index.html, one page per entry, and a redirect page per alias."""
    by_tag = members_by(rows, "position_encoding")
    by_family = members_by(rows, "family")
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


def glossary_html(
    site: Site, entry: GlossaryEntry, href: Callable[[str], str]
) -> tuple[str, list[dict[str, Any]]]:
    """An entry body as HTML and the cards of the terms it links."""
    html, used = render_glossary_markdown(
        site.md, entry.body, site.glossary, href=href, where=f"glossary entry {entry.slug}.md"
    )
    return html, [site.card(slug) for slug in used]
