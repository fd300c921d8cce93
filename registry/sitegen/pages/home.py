"""index.html: totals, the models-per-tag chart and the latest changes."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from registry.sitegen.filters import KEY_RE
from registry.sitegen.plots import bar_chart_svg
from registry.sitegen.read import counts
from registry.sitegen.writer import Site

RECENT_CHANGES = 20


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
