"""Where the site goes: its settings, the writer that keeps every file under one root, and the
`Site` that the page functions share during one render."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import RenderError

if TYPE_CHECKING:
    from jinja2 import Environment

    from registry.sitegen.glossary import GlossaryEntry
    from registry.sitegen.incremental import PageReuse

MARKER = ".ropedex-site"  # marks a folder this renderer owns (and may replace)


@dataclass
class RenderSummary:
    out_dir: Path
    models: int = 0
    model_pages: int = 0
    pages: int = 0  # HTML pages written, model pages included
    files: int = 0
    bytes: int = 0
    plots: int = 0  # distinct frequency plots computed
    plot_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # repo ids unsafe as paths (listed, no page)
    reused: int = 0  # model pages taken unchanged from the previous site (incremental render)


@dataclass
class SiteConfig:
    title: str = "ropedex"
    tagline: str = "Open-weight models and how each one encodes position"
    base_url: str = "https://ropedex.example.org/"
    hub_url: str = "https://huggingface.co/"  # model pages link here (a mirror works too)


def default_site_dir() -> Path:
    """The checkout's `site/` folder, or the installed copy `registry/site_data`."""
    checkout = Path(__file__).resolve().parents[2] / "site"
    if (checkout / "templates").is_dir():
        return checkout
    from importlib.resources import files

    return Path(str(files("registry") / "site_data"))


def load_site_config(
    site_dir: Path, base_url: str | None, hub_url: str | None = None
) -> SiteConfig:
    config = SiteConfig()
    path = site_dir / "site.toml"
    if path.is_file():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for key in ("title", "tagline", "base_url", "hub_url"):
            if isinstance(data.get(key), str):
                setattr(config, key, data[key])
    if base_url is not None:
        config.base_url = base_url
    if not re.match(r"^https?://[^\s<>\"']+$", config.base_url):
        raise RenderError(f"base_url {config.base_url!r} must be an absolute http(s) URL")
    if not config.base_url.endswith("/"):
        config.base_url += "/"
    if hub_url is not None:
        config.hub_url = hub_url
    if not re.match(r"^https?://[^\s<>\"']+$", config.hub_url):
        raise RenderError(f"hub URL {config.hub_url!r} must be an absolute http(s) URL")
    config.hub_url = config.hub_url.rstrip("/") + "/"
    return config


def relative_root(page: str) -> str:
    """'../' once per folder level of `page` (a path like 'models/org/name.html')."""
    return "../" * page.count("/")


def model_path(repo_id: str) -> str:
    return f"models/{repo_id}.html"


class SiteWriter:
    """Writes files under one root, refusing any path that would leave it."""

    def __init__(self, root: Path, summary: RenderSummary) -> None:
        self.root = root.resolve()
        self.summary = summary
        self.pages: list[str] = []  # HTML paths for the sitemap
        self._dirs: set[Path] = set()
        self._prefix = str(self.root) + os.sep

    def path(self, rel: str) -> Path:
        """`rel` under the root; lexical check (the root is a fresh folder of ours, no links)."""
        joined = os.path.normpath(os.path.join(self._prefix, rel))
        if not joined.startswith(self._prefix) or os.path.isabs(rel) or "\0" in rel:
            raise RenderError(f"refusing to write {rel!r} outside the output folder")
        return Path(joined)

    def write(self, rel: str, data: str | bytes, *, sitemap: bool = False) -> None:
        target = self.path(rel)
        if target.parent not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(target.parent)
        blob = data.encode("utf-8") if isinstance(data, str) else data
        target.write_bytes(blob)
        self._count(rel, len(blob), sitemap)

    def reused(self, rel: str, size: int, *, sitemap: bool = False) -> None:
        """Count a file that was linked in from the previous site rather than written."""
        self._count(rel, size, sitemap)

    def _count(self, rel: str, size: int, sitemap: bool) -> None:
        self.summary.files += 1
        self.summary.bytes += size
        if rel.endswith(".html"):
            self.summary.pages += 1
            if sitemap:
                self.pages.append(rel)


@dataclass
class Site:
    """Everything the page functions share during one render."""

    env: Environment
    writer: SiteWriter
    config: SiteConfig
    stamp: str | None
    glossary: dict[str, GlossaryEntry]
    tag_text: dict[str, str]
    tag_entry: dict[str, str]  # pe tag -> glossary slug describing it
    family_entry: dict[str, str]  # family key -> glossary slug
    md: Any
    templates: dict[str, Any] = field(default_factory=dict)
    reuse: PageReuse | None = None  # incremental render: unchanged model pages
    drift: dict[str, Any] = field(default_factory=dict)  # repo id -> its drift from its base
    gguf_drift: list[dict[str, Any]] = field(default_factory=list)  # GGUF files vs their source

    def page(
        self,
        rel: str,
        template: str,
        *,
        sitemap: bool = True,
        root: str | None = None,
        **context: Any,
    ) -> None:
        """Render `template` to `rel`; links start from `root` (default: relative to `rel`)."""
        if template not in self.templates:
            self.templates[template] = self.env.get_template(template)
        html = self.templates[template].render(
            root=relative_root(rel) if root is None else root,
            page_path=rel,
            site=self.config,
            stamp=self.stamp,
            **context,
        )
        self.writer.write(rel, html, sitemap=sitemap)

    def card(self, slug: str) -> dict[str, Any]:
        entry = self.glossary[slug]
        return {
            "slug": slug,
            "title": entry.title,
            "summary": entry.summary,
            "layers": entry.layers,
        }
