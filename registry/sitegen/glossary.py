"""Glossary entries: TOML front matter plus a Markdown body whose `[[slug]]` links become terms.

An entry lives in `site/glossary/<slug>.md`:

    +++
    title = "YaRN"
    summary = "One sentence, reused as the page lede and the hover summary."
    layers = ["Runtime"]
    aka = ["yet-another-rope-extension"]
    pe_tags = ["rope-yarn"]
    families = []
    sources = [{ title = "...", ref = "arXiv:2309.00071", url = "https://arxiv.org/abs/..." }]
    +++
    Markdown body; [[rope]] or [[rope|rotary embeddings]] link to other entries.

Every problem is a `RenderError` naming the file: a typo in a slug is a bug, not a warning.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import RenderError

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token

LAYERS = ("Weights", "Training", "Runtime")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_SAFE_URL_RE = re.compile(r"^https?://[^\s<>\"']+$")
_FRONT_MATTER = "+++"


@dataclass(frozen=True)
class Source:
    title: str
    ref: str | None = None
    url: str | None = None  # http(s) only


@dataclass(frozen=True)
class GlossaryEntry:
    slug: str
    title: str
    summary: str
    layers: tuple[str, ...]
    aka: tuple[str, ...] = ()
    pe_tags: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    body: str = ""  # Markdown
    links: tuple[str, ...] = field(default=(), compare=False)  # slugs linked from the body


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RenderError(f"{where}: `{key}` must be a list of strings")
    return tuple(value)


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RenderError(f"{where}: `{key}` is required and must be a non-empty string")
    return value.strip()


def _sources(data: dict[str, Any], where: str) -> tuple[Source, ...]:
    raw = data.get("sources", [])
    if not isinstance(raw, list):
        raise RenderError(f"{where}: `sources` must be a list of tables")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise RenderError(f"{where}: each source needs a `title` string")
        url = item.get("url")
        if url is not None and (not isinstance(url, str) or not _SAFE_URL_RE.match(url)):
            raise RenderError(f"{where}: source url {url!r} is not an http(s) URL")
        ref = item.get("ref")
        out.append(Source(item["title"], ref if isinstance(ref, str) else None, url))
    return tuple(out)


def parse_entry(text: str, slug: str, where: str) -> GlossaryEntry:
    """One entry from the text of its file; `where` names the file in errors."""
    if not SLUG_RE.match(slug):
        raise RenderError(f"{where}: file name must be a lower-case slug (a-z, 0-9, -)")
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != _FRONT_MATTER:
        raise RenderError(f"{where}: must start with a `+++` line (TOML front matter)")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == _FRONT_MATTER)
    except StopIteration:
        raise RenderError(f"{where}: the front matter has no closing `+++` line") from None
    try:
        data = tomllib.loads("".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        raise RenderError(f"{where}: front matter is not valid TOML ({exc})") from None
    layers = _strings(data, "layers", where)
    if not layers or any(layer not in LAYERS for layer in layers):
        raise RenderError(f"{where}: `layers` must name one or more of {', '.join(LAYERS)}")
    aka = _strings(data, "aka", where)
    for alias in aka:
        if not SLUG_RE.match(alias):
            raise RenderError(f"{where}: alias {alias!r} is not a slug (a-z, 0-9, -)")
    body = "".join(lines[end + 1 :]).strip() + "\n"
    return GlossaryEntry(
        slug=slug,
        title=_text(data, "title", where),
        summary=_text(data, "summary", where),
        layers=layers,
        aka=aka,
        pe_tags=_strings(data, "pe_tags", where),
        families=_strings(data, "families", where),
        sources=_sources(data, where),
        body=body,
        links=tuple(dict.fromkeys(m.split("|")[0].strip() for m in _LINK_RE.findall(body))),
    )


_LINK_RE = re.compile(r"\[\[([^\]\n]+)\]\]")


def load_glossary(folder: Path) -> dict[str, GlossaryEntry]:
    """Every `*.md` entry of `folder`, keyed by slug in sorted order; links and aliases checked.

    Raises:
        RenderError: an entry is malformed, links an unknown slug, or an alias collides.
    """
    entries: dict[str, GlossaryEntry] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.md")):
            where = f"glossary entry {path.name}"
            entries[path.stem] = parse_entry(path.read_text(encoding="utf-8"), path.stem, where)
    owners: dict[str, str] = {}
    for entry in entries.values():
        for alias in entry.aka:
            if alias in entries and alias != entry.slug:
                raise RenderError(f"glossary entry {entry.slug}.md: alias {alias!r} is an entry")
            if alias in owners and owners[alias] != entry.slug:
                raise RenderError(
                    f"glossary entries {owners[alias]}.md and {entry.slug}.md share alias {alias!r}"
                )
            owners[alias] = entry.slug
        for target in entry.links:
            if target not in entries:
                raise RenderError(
                    f"glossary entry {entry.slug}.md links [[{target}]], which is no entry; "
                    f"known: {', '.join(sorted(entries)) or 'none'}"
                )
    return entries


def aliases(entries: dict[str, GlossaryEntry]) -> dict[str, str]:
    """alias -> slug, sorted by alias (entries with `aka = ["x"]` answer to `x`)."""
    pairs = ((alias, e.slug) for e in entries.values() for alias in e.aka if alias != e.slug)
    return dict(sorted(pairs))


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if not src.startswith("[[", pos):
        return False
    end = src.find("]]", pos + 2)
    inner = src[pos + 2 : end] if end >= 0 else ""
    if not inner.strip() or "\n" in inner or "[" in inner:
        return False
    if not silent:
        slug, _, shown = inner.partition("|")
        token = state.push("wikilink", "", 0)
        token.meta = {"slug": slug.strip(), "text": shown.strip()}
    state.pos = end + 2
    return True


def _render_wikilink(
    _renderer: Any, tokens: list[Token], idx: int, _options: Any, env: dict[str, Any]
) -> str:
    from markdown_it.common.utils import escapeHtml

    slug = tokens[idx].meta["slug"]
    entries: dict[str, GlossaryEntry] = env["entries"]
    if slug not in entries:
        raise RenderError(f"{env['where']}: [[{slug}]] names no glossary entry")
    used: list[str] = env["used"]
    if slug not in used:
        used.append(slug)
    text = tokens[idx].meta["text"] or entries[slug].title
    return (
        f'<a class="term" href="{escapeHtml(env["href"](slug))}" '
        f'aria-describedby="card-{slug}">{escapeHtml(text)}</a>'
    )


def markdown_renderer() -> MarkdownIt:
    """CommonMark with raw HTML off (bodies cannot inject markup) and `[[slug]]` terms."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)
    md.validateLink = _validate_link  # type: ignore[method-assign]
    return md


def _validate_link(url: str) -> bool:
    lowered = url.strip().lower()
    return not lowered.startswith(("javascript:", "vbscript:", "data:", "file:"))


def render_markdown(
    md: MarkdownIt,
    text: str,
    entries: dict[str, GlossaryEntry],
    *,
    href: Any,
    where: str,
) -> tuple[str, list[str]]:
    """HTML of `text` and the slugs it links, in order of first use.

    `href(slug)` gives the relative URL of an entry from the page being rendered.
    """
    env: dict[str, Any] = {"entries": entries, "used": [], "href": href, "where": where}
    html = md.render(text, env)
    return html, list(env["used"])
