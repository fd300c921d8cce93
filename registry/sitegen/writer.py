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
    """Writes files under one root, refusing any path that would leave it.

    `files` records every file written or kept, with its key (or None) and size, for the
    incremental manifest; model pages are recorded by the page functions instead (`track=False`).
    `in_place` (an incremental render over the live site) writes each file to a temporary name
    beside it and renames it over the old one, so no reader sees a half-written file.
    """

    def __init__(self, root: Path, summary: RenderSummary, *, in_place: bool = False) -> None:
        self.root = root.resolve()
        self.summary = summary
        self.in_place = in_place
        self.pages: list[str] = []  # HTML paths for the sitemap
        self.files: dict[str, list[Any]] = {}
        self._dirs: set[Path] = set()
        self._prefix = str(self.root) + os.sep

    def path(self, rel: str) -> Path:
        """`rel` under the root; lexical check (the root is a folder of ours, no links)."""
        joined = os.path.normpath(os.path.join(self._prefix, rel))
        if not joined.startswith(self._prefix) or os.path.isabs(rel) or "\0" in rel:
            raise RenderError(f"refusing to write {rel!r} outside the output folder")
        return Path(joined)

    def write(
        self,
        rel: str,
        data: str | bytes,
        *,
        sitemap: bool = False,
        key: str | None = None,
        track: bool = True,
    ) -> int:
        """Write `rel`; returns its size in bytes."""
        target = self.path(rel)
        if target.parent not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(target.parent)
        blob = data.encode("utf-8") if isinstance(data, str) else data
        if self.in_place:
            temporary = self.temporary(target)
            temporary.write_bytes(blob)
            os.replace(temporary, target)
        else:
            target.write_bytes(blob)
        self._count(rel, len(blob), sitemap, key if track else False)
        return len(blob)

    def temporary(self, target: Path) -> Path:
        """Where a file bound for `target` is written before it is renamed into place."""
        return target.with_name(f".{target.name}.{os.getpid()}.tmp")

    def added(self, rel: str, *, key: str | None = None) -> None:
        """Count a file put at `rel` by other means (the SQLite download)."""
        self._count(rel, self.path(rel).stat().st_size, False, key)

    def kept(
        self,
        rel: str,
        size: int,
        *,
        sitemap: bool = False,
        key: str | None = None,
        track: bool = True,
    ) -> None:
        """Count a file left as the previous render wrote it (an incremental render)."""
        self._count(rel, size, sitemap, key if track else False)

    def kept_model_files(self, pages: list[str], size: int) -> None:
        """Count kept model pages (`pages`, in the sitemap) with their API documents, `size`
        bytes in all; the manifest records them by repo id (`PageReuse.models`)."""
        self.summary.files += 2 * len(pages)
        self.summary.bytes += size
        self.summary.pages += len(pages)
        self.pages.extend(pages)

    def _count(self, rel: str, size: int, sitemap: bool, key: str | None | bool) -> None:
        self.summary.files += 1
        self.summary.bytes += size
        if key is not False:
            self.files[rel] = [key, size]
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
        inputs: Any = None,
        track: bool = True,
        **context: Any,
    ) -> int:
        """Render `template` to `rel`; links start from `root` (default: relative to `rel`).

        `inputs`, if given, is everything besides the renderer that the page shows: an
        incremental render keeps the previous page when they are unchanged. Returns the
        page's size."""
        key = None
        if inputs is not None and self.reuse is not None:
            from registry.sitegen.incremental import inputs_key

            key = inputs_key(self.reuse.fingerprint, rel, template, [root, sitemap, inputs])
            size = self.reuse.kept_file(rel, key)
            if size is not None:
                self.writer.kept(rel, size, sitemap=sitemap, key=key)
                return size
        if template not in self.templates:
            self.templates[template] = self.env.get_template(template)
        html = self.templates[template].render(
            root=relative_root(rel) if root is None else root,
            page_path=rel,
            site=self.config,
            stamp=self.stamp,
            **context,
        )
        return self.writer.write(rel, html, sitemap=sitemap, key=key, track=track)

    def card(self, slug: str) -> dict[str, Any]:
        entry = self.glossary[slug]
        return {
            "slug": slug,
            "title": entry.title,
            "summary": entry.summary,
            "layers": entry.layers,
        }
