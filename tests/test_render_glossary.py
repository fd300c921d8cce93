"""Glossary entries: front matter rules, `[[slug]]` terms, and the errors a typo gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.errors import RenderError
from registry.sitegen.glossary import load_glossary, markdown_renderer, parse_entry, render_markdown

GOOD = """+++
title = "Partial rotary"
summary = "Only some head dims rotate."
layers = ["Weights"]
aka = ["partial-rope"]
pe_tags = ["rope"]
sources = [
  { title = "GPT-NeoX", ref = "arXiv:2204.06745", url = "https://arxiv.org/abs/2204.06745" },
]
+++
Body with a [[rope]] term and [[rope|another mention]].
"""


def write(folder: Path, slug: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{slug}.md").write_text(text, encoding="utf-8")


def entry_text(title: str, body: str, **extra: str) -> str:
    lines = [f'title = "{title}"', 'summary = "One line."', 'layers = ["Runtime"]']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "+++\n" + "\n".join(lines) + "\n+++\n" + body + "\n"


def test_parse_entry_reads_every_field() -> None:
    entry = parse_entry(GOOD, "partial-rotary", "partial-rotary.md")
    assert entry.title == "Partial rotary"
    assert entry.layers == ("Weights",)
    assert entry.aka == ("partial-rope",)
    assert entry.pe_tags == ("rope",)
    assert entry.sources[0].ref == "arXiv:2204.06745"
    assert entry.links == ("rope",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title = 'x'\n", "must start with a `+++` line"),
        ("+++\ntitle = 'x'\n", "no closing `+++`"),
        ("+++\ntitle = \n+++\n", "not valid TOML"),
        ("+++\nsummary = 's'\nlayers = ['Runtime']\n+++\n", "`title` is required"),
        ("+++\ntitle = 't'\nsummary = 's'\nlayers = ['Kitchen']\n+++\n", "`layers` must name"),
        ("+++\ntitle = 't'\nsummary = 's'\nlayers = []\n+++\n", "`layers` must name"),
        (
            "+++\ntitle = 't'\nsummary = 's'\nlayers = ['Runtime']\naka = ['Bad Alias']\n+++\n",
            "is not a slug",
        ),
        (
            "+++\ntitle = 't'\nsummary = 's'\nlayers = ['Runtime']\n"
            "sources = [{ title = 'x', url = 'javascript:alert(1)' }]\n+++\n",
            "is not an http(s) URL",
        ),
    ],
)
def test_bad_front_matter_names_the_file(text: str, message: str) -> None:
    with pytest.raises(RenderError, match="broken.md") as info:
        parse_entry(text, "broken", "broken.md")
    assert message in str(info.value)


def test_file_name_must_be_a_slug(tmp_path: Path) -> None:
    write(tmp_path, "Not_A_Slug", GOOD)
    with pytest.raises(RenderError, match="lower-case slug"):
        load_glossary(tmp_path)


def test_unknown_link_fails_with_the_known_slugs(tmp_path: Path) -> None:
    write(tmp_path, "rope", entry_text("RoPE", "See [[yran]]."))
    with pytest.raises(RenderError, match=r"rope\.md links \[\[yran\]\].*known: rope"):
        load_glossary(tmp_path)


def test_aliases_may_not_collide(tmp_path: Path) -> None:
    write(tmp_path, "a", entry_text("A", "a", aka='["shared"]'))
    write(tmp_path, "b", entry_text("B", "b", aka='["shared"]'))
    with pytest.raises(RenderError, match="share alias 'shared'"):
        load_glossary(tmp_path)
    write(tmp_path, "b", entry_text("B", "b", aka='["a"]'))
    with pytest.raises(RenderError, match="alias 'a' is an entry"):
        load_glossary(tmp_path)


def test_terms_link_once_per_slug_and_raw_html_stays_text(tmp_path: Path) -> None:
    write(tmp_path, "rope", entry_text("RoPE", "Rotary."))
    write(
        tmp_path,
        "yarn",
        entry_text(
            "YaRN",
            "[[rope]] and [[rope|rotary]] <script>alert(1)</script> [x](javascript:alert(1))",
        ),
    )
    entries = load_glossary(tmp_path)
    html, used = render_markdown(
        markdown_renderer(),
        entries["yarn"].body,
        entries,
        href=lambda slug: f"{slug}.html",
        where="yarn.md",
    )
    assert used == ["rope"]
    assert html.count('aria-describedby="card-rope"') == 2
    assert '<a class="term" href="rope.html" aria-describedby="card-rope">RoPE</a>' in html
    assert ">rotary</a>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_sample_entries_load() -> None:
    from tests.test_render import SAMPLE_GLOSSARY

    entries = load_glossary(SAMPLE_GLOSSARY)
    assert set(entries) == {"deepseek", "rope", "yarn"}
    assert entries["yarn"].pe_tags == ("rope-yarn",)
    assert entries["deepseek"].families == ("deepseek",)
