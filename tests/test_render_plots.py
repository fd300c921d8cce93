"""Inline SVG charts: what they draw follows the ratios, and every label is escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from registry.sitegen.plots import FrequencySeries, bar_chart_svg, frequency_series, frequency_svg
from yarn_core.params import RopeParams

SVG = "{http://www.w3.org/2000/svg}"


def points(svg: str) -> list[tuple[float, float]]:
    found = re.search(r'<polyline class="line" points="([^"]+)"', svg)
    assert found is not None
    return [(float(x), float(y)) for x, y in (p.split(",") for p in found.group(1).split())]


def test_linear_scaling_is_a_flat_line_on_the_floor() -> None:
    params = RopeParams(rope_type="linear", theta=10000.0, head_dim=64, rotary_dim=64, factor=4.0)
    series = frequency_series(params)
    assert len(series.ratios) == 32
    assert all(abs(r - 0.25) < 1e-12 for r in series.ratios)
    assert series.band is None and series.floor == 0.25
    svg = frequency_svg(series, title="linear", svg_id="p")
    assert len({y for _, y in points(svg)}) == 1
    assert "1/factor = 0.25" in svg


def test_yarn_band_is_shaded_and_the_line_never_rises() -> None:
    params = RopeParams(
        rope_type="yarn",
        theta=10000.0,
        head_dim=128,
        rotary_dim=128,
        factor=16.0,
        original_max_position_embeddings=4096,
        max_position_embeddings=65536,
    )
    series = frequency_series(params)
    assert series.band is not None and 0 <= series.band[0] < series.band[1] <= 63
    # outside the band: untouched before it, fully interpolated after it
    assert all(r == 1.0 for i, r in enumerate(series.ratios) if i < series.band[0])
    assert all(abs(r - 1 / 16) < 1e-12 for i, r in enumerate(series.ratios) if i > series.band[1])
    svg = frequency_svg(series, title="yarn", svg_id="p")
    ys = [y for _, y in points(svg)]
    assert ys == sorted(ys)  # SVG y grows downwards: ratios only fall
    assert '<rect class="band"' in svg
    ET.fromstring(svg)  # well-formed


def test_llama3_band_covers_exactly_the_blended_pairs() -> None:
    params = RopeParams(
        rope_type="llama3",
        theta=500000.0,
        factor=8.0,
        low_freq_factor=1.0,
        high_freq_factor=4.0,
        original_max_position_embeddings=8192,
        max_position_embeddings=131072,
    )
    series = frequency_series(params)
    assert series.band is not None
    low, high = series.band
    for i, r in enumerate(series.ratios):
        blended = abs(r - 1.0) > 1e-12 and abs(r * 8.0 - 1.0) > 1e-12
        assert blended == (low <= i <= high)


def test_labels_are_escaped() -> None:
    series = FrequencySeries((1.0, 0.5), None, None)
    svg = frequency_svg(series, title="<script>alert(1)</script>", svg_id='x"y')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    tree = ET.fromstring(svg)
    assert tree.findtext(f"{SVG}title") == "<script>alert(1)</script>"
    chart = bar_chart_svg([('"><img onerror=x>', 3, "tags/x.html")], title="t", svg_id="c")
    assert "<img" not in chart
    assert "3" in "".join(ET.fromstring(chart).itertext())
    with pytest.raises(ValueError, match="relative site paths"):
        bar_chart_svg([("x", 1, " JavaScript:alert(1)")], title="t", svg_id="c")


def test_longrope_draws_both_factor_lists_with_a_legend() -> None:
    short = tuple(1.0 + 0.1 * i for i in range(32))
    long = tuple(2.0 + 0.5 * i for i in range(32))
    params = RopeParams(
        rope_type="longrope",
        theta=10000.0,
        head_dim=64,
        rotary_dim=64,
        short_factor=short,
        long_factor=long,
        original_max_position_embeddings=4096,
        max_position_embeddings=131072,
    )
    series = frequency_series(params)
    # LongRoPE divides pair i's frequency by the list's i-th factor
    assert all(abs(r - 1 / f) < 1e-12 for r, f in zip(series.ratios, short, strict=True))
    assert len(series.others) == 1
    label, ratios = series.others[0]
    assert "long_factor" in label and "short_factor" in (series.label or "")
    assert all(abs(r - 1 / f) < 1e-12 for r, f in zip(ratios, long, strict=True))
    svg = frequency_svg(series, title="longrope", svg_id="p")
    tree = ET.fromstring(svg)
    lines = list(tree.iter(f"{SVG}polyline"))
    assert [e.get("class") for e in lines] == ["line", "line alt1"]
    assert all(len((e.get("points") or "").split()) == 32 for e in lines)
    legend = [e.text for e in tree.iter(f"{SVG}text") if e.get("class") == "legend"]
    assert legend == [series.label, label]
    same = frequency_series(replace(params, long_factor=short))
    assert same.others == () and same.ratios == series.ratios
    assert same.label == "short_factor = long_factor"  # one line, still named
    tree = ET.fromstring(frequency_svg(same, title="", svg_id="q"))
    legend = [e.text for e in tree.iter(f"{SVG}text") if e.get("class") == "legend"]
    assert legend == ["short_factor = long_factor"]
