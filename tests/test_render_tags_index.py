"""The tags index lists what the catalog holds: every tag with models, its definition and its
count, no tag without models, and as many tags as the home page says."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from registry.sitegen.pages.groups import UNTAGGED
from scrapers.tagger.vocabulary import TAGS


@pytest.fixture(name="site", scope="module")
def site_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from registry.db import open_engine
    from registry.sitegen import render_site
    from tests.test_render import SAMPLE_GLOSSARY, build_catalog

    folder = tmp_path_factory.mktemp("tags-index")
    engine = open_engine(str(build_catalog(folder)), create=False, readonly=True)
    out = folder / "site"
    render_site(engine, out, glossary_dir=SAMPLE_GLOSSARY)
    return out


def _listed(page: str) -> list[tuple[str, int, str]]:
    items = re.findall(
        r'<dt>.*?class="tag"[^>]*>([^<]+)<.*?class="count">([\d,]+) models?</span></dt>\s*'
        r"<dd>(.*?)</dd>",
        page,
        re.S,
    )
    return [(html.unescape(t), int(c.replace(",", "")), html.unescape(d)) for t, c, d in items]


def test_tags_index_has_definitions_counts_and_no_empty_tag(site: Path) -> None:

    page = (site / "tags" / "index.html").read_text(encoding="utf-8")
    listed = _listed(page)
    assert listed, page[:500]
    assert all(count > 0 for _, count, _ in listed)
    assert len(TAGS) > len(listed)  # the vocabulary has tags this catalog does not use
    for tag, _, definition in listed:
        assert definition == (UNTAGGED if tag == "untagged" else TAGS[tag]), tag
    home = (site / "index.html").read_text(encoding="utf-8")
    said = re.search(r"<strong>(\d+)</strong> position-encoding tags", home)
    assert said is not None and int(said.group(1)) == len(listed)
    models = re.search(r"<strong>([\d,]+)</strong> models", home)
    assert models is not None
    assert sum(count for _, count, _ in listed) == int(models.group(1).replace(",", ""))
