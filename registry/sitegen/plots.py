"""Inline SVG charts: the per-dimension frequency scaling of a model, and the tag bar chart.

Pure string building; every label is escaped. Colours come from CSS classes so the charts follow
the page's light or dark scheme, and every value is also written as text (never colour alone).
The frequency ratios come from `yarn_core`, imported inside `frequency_series`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from yarn_core.params import RopeParams

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 48


@dataclass(frozen=True)
class FrequencySeries:
    """Scaled / original inverse frequency for each rotating pair, plus the blend band."""

    ratios: tuple[float, ...]  # one per rotating pair i = 0 .. rotary_dim/2 - 1
    band: tuple[float, float] | None  # pair indices where the method blends (YaRN, llama3)
    band_label: str | None
    floor: float | None = None  # 1/factor: where fully interpolated pairs sit
    label: str | None = None  # legend text of `ratios` when there is more than one line
    others: tuple[tuple[str, tuple[float, ...]], ...] = ()  # further (legend text, ratios) lines


def frequency_series(params: RopeParams, convention: str = "transformers") -> FrequencySeries:
    """Ratios and blend band of one layer type's rope parameters, computed by `yarn_core`.

    The YaRN band is the correction range `yarn_core` resolves; the Llama 3 band is the run of
    pairs that are neither kept (ratio 1) nor fully divided (ratio 1/factor).
    """
    from yarn_core.conventions import resolve
    from yarn_core.frequencies import frequency_ratio, yarn_range

    floor = 1.0 / float(params.factor) if params.factor and params.factor > 1 else None
    if params.rope_type == "longrope" and params.short_factor and params.long_factor:
        return _longrope_series(params, convention, floor)
    values = tuple(float(v) for v in frequency_ratio(params, convention))
    if params.rope_type == "yarn":
        low, high = yarn_range(params, resolve(params, convention))
        return FrequencySeries(values, (float(low), float(high)), "YaRN blend band", floor)
    if params.rope_type == "llama3" and params.factor:
        factor = float(params.factor)
        blended = [
            i
            for i, r in enumerate(values)
            if abs(r - 1.0) > 1e-12 and abs(r * factor - 1.0) > 1e-12
        ]
        if blended:
            band = (blended[0], blended[-1])
            return FrequencySeries(values, band, "Llama 3 smooth band", floor)
    return FrequencySeries(values, None, None, floor)


def _longrope_series(params: RopeParams, convention: str, floor: float | None) -> FrequencySeries:
    """LongRoPE carries two factor lists; chart both (each computed with the list in both
    slots, so whichever one the runtime picks for a length, the line is that list's)."""
    from dataclasses import replace

    from yarn_core.frequencies import frequency_ratio

    def ratios(factors: tuple[float, ...]) -> tuple[float, ...]:
        only = replace(params, short_factor=factors, long_factor=factors)
        return tuple(float(v) for v in frequency_ratio(only, convention))

    short = ratios(tuple(params.short_factor or ()))
    long = ratios(tuple(params.long_factor or ()))
    if short == long:
        return FrequencySeries(short, None, None, floor, label="short_factor = long_factor")
    return FrequencySeries(
        short,
        None,
        None,
        floor,
        label="short_factor (up to the original context)",
        others=(("long_factor (beyond it)", long),),
    )


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 0.01:
        return f"{value:.3g}"
    return f"{value:.1e}"


def _log_bounds(values: tuple[float, ...]) -> tuple[float, float]:
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return -1.0, 0.5
    low, high = math.log10(min(positive)), math.log10(max(positive))
    low, high = min(low, 0.0), max(high, 0.0)
    pad = max((high - low) * 0.08, 0.05)
    return low - pad, high + pad


def frequency_svg(series: FrequencySeries, *, title: str, svg_id: str) -> str:
    """A log-scale line chart of `series.ratios` against pair index, band shaded and labelled."""
    n = len(series.ratios)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    every = series.ratios + tuple(v for _, line in series.others for v in line)
    y_low, y_high = _log_bounds(every)

    def x_at(i: float) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y_at(v: float) -> float:
        lv = math.log10(v) if v > 0 else y_low
        return TOP + plot_h * (y_high - lv) / (y_high - y_low)

    lo_r = min(every) if every else 1.0
    hi_r = max(every) if every else 1.0
    desc = (
        f"{n} rotating pairs; scaled over original inverse frequency ranges from "
        f"{_fmt(lo_r)} to {_fmt(hi_r)}"
    )
    if series.band is not None:
        desc += f"; {series.band_label} from pair {_fmt(series.band[0])} to {_fmt(series.band[1])}"
    if series.others:
        names = [series.label or "ratios", *(text for text, _ in series.others)]
        desc += "; one line each for " + ", ".join(names)
    parts = [
        f'<svg class="plot" id="{escape(svg_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(svg_id)}-t {escape(svg_id)}-d" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(svg_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(svg_id)}-d">{escape(desc)}.</desc>',
    ]
    if series.band is not None and n > 1:
        x0, x1 = x_at(max(series.band[0], 0)), x_at(min(series.band[1], n - 1))
        parts.append(
            f'<rect class="band" x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{plot_h}"/>'
        )
        parts.append(
            f'<text class="band-label" x="{(x0 + x1) / 2:.1f}" y="{TOP - 8}" '
            f'text-anchor="middle">{escape(series.band_label or "")}</text>'
        )
    for exponent in range(math.ceil(y_low), math.floor(y_high) + 1):
        y = y_at(10.0**exponent)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_fmt(10.0**exponent)}</text>"
        )
    for i in sorted({0, (n - 1) // 2, n - 1} if n else set()):
        parts.append(
            f'<text class="tick" x="{x_at(i):.1f}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle">{i}</text>'
        )
    if series.floor is not None and 0 < series.floor < 1:
        y = y_at(series.floor)
        parts.append(
            f'<line class="ref" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{WIDTH - RIGHT - 4}" y="{y - 5:.1f}" text-anchor="end">'
            f"1/factor = {_fmt(series.floor)}</text>"
        )
    lines = [("line", series.label, series.ratios)]
    lines += [(f"line alt{k}", text, line) for k, (text, line) in enumerate(series.others, 1)]
    for css, _, line in lines:
        points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(line))
        parts.append(f'<polyline class="{css}" points="{points}"/>')
    if series.label:  # a legend: a short stroke of each line's style, then its text
        for row, (css, text, _) in enumerate(lines):
            y = TOP + 14 + row * 18
            parts.append(
                f'<line class="{css}" x1="{WIDTH - RIGHT - 290}" x2="{WIDTH - RIGHT - 262}" '
                f'y1="{y - 4}" y2="{y - 4}"/><text class="legend" x="{WIDTH - RIGHT - 256}" '
                f'y="{y}">{escape(text or "")}</text>'
            )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" '
        f'y2="{TOP + plot_h}"/>'
        f'<text class="label" x="{LEFT + plot_w / 2}" y="{HEIGHT - 10}" text-anchor="middle">'
        "rotating pair i (high frequency left, low frequency right)</text>"
        f'<text class="label" x="14" y="{TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2})">scaled / original frequency</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart_svg(
    bars: list[tuple[str, int, str]], *, title: str, svg_id: str, bar_h: int = 22
) -> str:
    """Horizontal bars (label, count, href); each label links and shows its count as text.

    Raises:
        ValueError: an href carries a scheme (links must be relative site paths).
    """
    label_w, count_w, width = 150, 56, 480
    height = bar_h * len(bars) + 8
    top = max((count for _, count, _ in bars), default=1) or 1
    span = width - label_w - count_w - RIGHT
    parts = [
        # a group, not an image: its bars are links (an img role may not hold interactive parts)
        f'<svg class="chart" id="{escape(svg_id)}" viewBox="0 0 {width} {height}" '
        f'role="group" aria-labelledby="{escape(svg_id)}-t" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(svg_id)}-t">{escape(title)}</title>',
    ]
    for row, (label, count, href) in enumerate(bars):
        if re.match(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:", href):
            raise ValueError(f"chart links must be relative site paths, got {href!r}")
        y = 4 + row * bar_h
        w = span * count / top
        parts.append(
            f'<a href="{escape(href)}"><text class="bar-label" x="{label_w - 8}" '
            f'y="{y + bar_h * 0.7:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" '
            f'height="{bar_h - 6}"/></a>'
            f'<text class="bar-count" x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}">'
            f"{count:,}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
