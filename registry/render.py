"""The static site: catalog -> Jinja templates in `site/` -> a folder any static host can serve.

`render_site(engine, out_dir)` reads the catalog in a few bulk queries, renders every page into a
temporary sibling folder and then swaps it in with `rename`, so visitors never see half a site.
Output is deterministic: rows are sorted, JSON keys are sorted, and the only time on any page is
the catalog's last run. Model-supplied strings are untrusted: templates autoescape, JSON embedded
in pages goes through `tojson`, and only repo ids that pass `is_valid_repo_id` become paths.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import tempfile
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import RenderError
from registry.glossary import GlossaryEntry, load_glossary, markdown_renderer
from registry.glossary import render_markdown as render_glossary_markdown

if TYPE_CHECKING:
    from jinja2 import Environment
    from sqlalchemy.engine import Engine

MARKER = ".ropedex-site"  # marks a folder this renderer owns (and may replace)
SHARD_ROWS = 5000  # catalog rows per JSON shard
PAGE_ROWS = 100  # rows on the no-JS catalog page and per page in the browser
PARALLEL_MIN_MODELS = 5000  # below this, starting processes costs more than it saves
LIST_LIMIT = 500  # models listed on a tag or family page (the catalog has the rest)
ENTRY_LIMIT = 100  # models listed on a glossary entry
SITEMAP_URLS = 50000  # the sitemap protocol's limit per file
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9+._-]{0,79}$")  # tags and family keys used as file names

# Catalog columns shared by the JSON shards, the CSV/JSON downloads and the browser script.
COLUMNS = (
    "repo_id",
    "page",
    "position_encoding",
    "rope_theta",
    "scaling_type",
    "scaling_factor",
    "declared_context",
    "original_context",
    "effective_context",
    "verdict",
    "family",
    "model_type",
    "downloads",
    "likes",
)


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


@dataclass
class SiteConfig:
    title: str = "ropedex"
    tagline: str = "Open-weight models and how each one encodes position"
    base_url: str = "https://ropedex.example.org/"


def default_site_dir() -> Path:
    """The checkout's `site/` folder, or the installed copy `registry/site_data`."""
    checkout = Path(__file__).resolve().parent.parent / "site"
    if (checkout / "templates").is_dir():
        return checkout
    from importlib.resources import files

    return Path(str(files("registry") / "site_data"))


def load_site_config(site_dir: Path, base_url: str | None) -> SiteConfig:
    config = SiteConfig()
    path = site_dir / "site.toml"
    if path.is_file():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for key in ("title", "tagline", "base_url"):
            if isinstance(data.get(key), str):
                setattr(config, key, data[key])
    if base_url is not None:
        config.base_url = base_url
    if not re.match(r"^https?://[^\s<>\"']+$", config.base_url):
        raise RenderError(f"base_url {config.base_url!r} must be an absolute http(s) URL")
    if not config.base_url.endswith("/"):
        config.base_url += "/"
    return config


# -- formatting ---------------------------------------------------------------------------------


def fmt_num(value: Any) -> str:
    """Numbers as people compare them: 131072 -> '131,072', 0.1 -> '0.1'; None -> '—'."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.6g}"
    return str(value)


def _integral(value: Any) -> int | None:
    """`value` as an int when it is a whole number (bool excluded), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value)


def fmt_tokens(value: Any) -> str:
    """A context length as people say it: 131072 -> '128k', 1048576 -> '1M'.

    Only multiples of 1024 are shortened, so '128k' always means 131,072; round decimal
    lengths stay exact ('128,000', never '125k'). The exact value goes in a `title` next to it.
    """
    n = _integral(value)
    if n is None or n < 1024 or n % 1024 or n % 1000 == 0:
        return fmt_num(value)
    k = n // 1024
    return f"{k // 1024:,}M" if k % 1024 == 0 else f"{k:,}k"


def fmt_theta(value: Any) -> str:
    """A rope base as people write it: 10000 -> '1e4', 500000 -> '5e5', 1.6e5 -> '1.6e5'.

    Bases from 10,000 up with at most three significant digits; anything else as `fmt_num`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return fmt_num(value)
    v = float(value)
    if not math.isfinite(v) or v < 1e4:
        return fmt_num(value)
    exponent = math.floor(math.log10(v))
    mantissa = float(f"{v / 10**exponent:.3g}")
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    if abs(mantissa * 10**exponent - v) > 1e-9 * v:
        return fmt_num(value)
    return f"{mantissa:g}e{exponent}"


def fmt_value(value: Any, digits: int = 4) -> str:
    """A verifier number or list for people: floats to `digits` significant figures, whole
    numbers with separators, lists comma-separated, dicts as 'key: value' pairs."""
    if isinstance(value, float) and math.isfinite(value):
        if not (value.is_integer() and abs(value) < 1e15):
            return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v, digits) for v in value) if value else "none"
    if isinstance(value, dict):
        if not value:
            return "none"
        return "; ".join(f"{k}: {fmt_value(v, digits)}" for k, v in sorted(value.items()))
    if value == "":
        return ""
    return fmt_num(value)  # None, booleans, whole numbers, non-finite floats, text


def fmt_stamp(value: Any) -> str:
    """An ISO time as '2026-11-29 11:33 UTC' (other text is returned as is)."""
    text = str(value or "")
    match = re.match(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(:\d\d(\.\d+)?)?(\+00:00|Z)$", text)
    return f"{match.group(1)} {match.group(2)} UTC" if match else text


def flatten(value: Any, prefix: str = "", *, keep_empty: bool = False) -> list[tuple[str, Any]]:
    """Nested dicts as (dotted key, leaf value) pairs in their own order; lists stay whole. None
    leaves and empty dicts are left out unless `keep_empty` (evidence: a null key is a fact)."""
    if not isinstance(value, dict) or (keep_empty and prefix and not value):
        return [] if value is None and not keep_empty else [(prefix, value)]
    out: list[tuple[str, Any]] = []
    for key in value:
        name = f"{prefix}.{key}" if prefix else str(key)
        out += flatten(value[key], name, keep_empty=keep_empty)
    return out


def fmt_json(value: Any) -> str:
    """A stored value as compact, stable JSON text (for attribute and evidence tables)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def relative_root(page: str) -> str:
    """'../' once per folder level of `page` (a path like 'models/org/name.html')."""
    return "../" * page.count("/")


def model_path(repo_id: str) -> str:
    return f"models/{repo_id}.html"


def make_environment(site_dir: Path) -> Environment:
    """The one Jinja environment: autoescape on, undefined names fatal, sorted and trimmed."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(site_dir / "templates")),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_num
    env.filters["tokens"] = fmt_tokens
    env.filters["theta"] = fmt_theta
    env.filters["stamp"] = fmt_stamp
    env.filters["as_json"] = fmt_json
    env.tests["page_key"] = lambda value: isinstance(value, str) and bool(KEY_RE.match(value))
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": True}
    return env


# -- reading the catalog ------------------------------------------------------------------------


def _stamp(conn: Any) -> str | None:
    from sqlalchemy import func, select

    from registry.models import Run

    table = Run.__table__  # type: ignore[attr-defined]
    ended = conn.execute(select(func.max(table.c.ended_at))).scalar()
    started = conn.execute(select(func.max(table.c.started_at))).scalar()
    return ended or started


def _changes(conn: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from registry.models import Change

    table = Change.__table__  # type: ignore[attr-defined]
    query = select(table).order_by(table.c.changed_at.desc(), table.c.id.desc())
    return [dict(row) for row in conn.execute(query).mappings()]


def _present(conn: Any, table: Any) -> list[Any]:
    """The declared columns of `table` that the catalog file has (an older file may lack a
    column added since; a read-only render does not migrate)."""
    from sqlalchemy import inspect

    names = {c["name"] for c in inspect(conn).get_columns(table.name)}
    return [c for c in table.c if c.name in names]


def _model_query(conn: Any) -> Any:
    """Every model with its current snapshot and position facts (outer joins)."""
    from sqlalchemy import select

    from registry.models import ConfigSnapshot, Model, PositionFacts

    m = Model.__table__  # type: ignore[attr-defined]
    s = ConfigSnapshot.__table__  # type: ignore[attr-defined]
    f = PositionFacts.__table__  # type: ignore[attr-defined]
    facts = [
        c.label(f"f_{c.name}") for c in _present(conn, f) if c.name not in ("id", "snapshot_id")
    ]
    snap = [s.c.commit_sha, s.c.fetched_at, s.c.content_hash, s.c.config_text]
    return (
        select(*_present(conn, m), *[c.label(f"s_{c.name}") for c in snap], *facts)
        .select_from(m)
        .outerjoin(s, s.c.id == m.c.snapshot_id)
        .outerjoin(f, f.c.snapshot_id == m.c.snapshot_id)
        .order_by(m.c.repo_id)
    )


def verifications(conn: Any) -> dict[str, dict[str, Any]]:
    """Verifier rows by fingerprint, read once (many models share one)."""
    from sqlalchemy import select

    from registry.models import Verification

    table = Verification.__table__  # type: ignore[attr-defined]
    return {row["fingerprint"]: dict(row) for row in conn.execute(select(table)).mappings()}


def _split(row: dict[str, Any], verified: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One joined row as {'model', 'snapshot', 'facts', 'verification'} dicts."""
    parts: dict[str, dict[str, Any]] = {"model": {}, "s": {}, "f": {}}
    for key, value in row.items():
        prefix, _, rest = key.partition("_")
        if prefix in ("s", "f") and rest:
            parts[prefix][rest] = value
        else:
            parts["model"][key] = value
    facts = parts["f"] if parts["f"].get("position_encoding") else None
    return {
        "model": parts["model"],
        "snapshot": parts["s"] if parts["s"].get("content_hash") else None,
        "facts": facts,
        "verification": verified.get((facts or {}).get("verify_fingerprint") or ""),
    }


def iter_models(conn: Any, shard: tuple[int, int] | None = None) -> Iterator[dict[str, Any]]:
    """Joined model records in repo id order, streamed in batches; `shard=(k, n)` keeps the
    models whose id is k modulo n."""
    from registry.models import Model

    verified = verifications(conn)
    query = _model_query(conn)
    if shard is not None:
        ids = Model.__table__.c.id  # type: ignore[attr-defined]
        query = query.where(ids % shard[1] == shard[0])
    result = conn.execution_options(yield_per=2000).execute(query).mappings()
    for row in result:
        yield _split(row, verified)


def catalog_row(record: dict[str, Any], has_page: bool) -> dict[str, Any]:
    """The flat row of the catalog table (COLUMNS order) for one joined record."""
    model, facts = record["model"], record["facts"] or {}
    verification = record["verification"] or {}
    return {
        "repo_id": model["repo_id"],
        "page": has_page,
        "position_encoding": facts.get("position_encoding") or "untagged",
        "rope_theta": facts.get("rope_theta"),
        "scaling_type": facts.get("scaling_type"),
        "scaling_factor": facts.get("scaling_factor"),
        "declared_context": facts.get("declared_context"),
        "original_context": facts.get("original_context"),
        "effective_context": facts.get("effective_context"),
        "verdict": verification.get("verdict"),
        "family": model.get("family"),
        "model_type": model.get("model_type"),
        "downloads": model.get("downloads"),
        "likes": model.get("likes"),
    }


def popularity(row: dict[str, Any]) -> tuple[int, str]:
    """Default catalog order: most downloaded first, then repo id."""
    return (-(row["downloads"] or 0), row["repo_id"])


def tag_definitions() -> dict[str, str]:
    """Tag -> one-line definition from `scrapers.tagger.vocabulary.TAGS` (empty if absent)."""
    try:
        from scrapers.tagger.vocabulary import TAGS
    except ImportError:
        return {}
    out: dict[str, str] = {}
    for tag, value in dict(TAGS).items():
        text = value if isinstance(value, str) else getattr(value, "definition", None)
        if text is None and isinstance(value, dict):
            text = value.get("definition") or value.get("summary")
        out[str(tag)] = str(text or "")
    return dict(sorted(out.items()))


# -- writing ------------------------------------------------------------------------------------


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
        self.summary.files += 1
        self.summary.bytes += len(blob)
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

    def page(self, rel: str, template: str, *, sitemap: bool = True, **context: Any) -> None:
        if template not in self.templates:
            self.templates[template] = self.env.get_template(template)
        html = self.templates[template].render(
            root=relative_root(rel),
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


def render_site(
    engine: Engine,
    out_dir: Path,
    *,
    site_dir: Path | None = None,
    glossary_dir: Path | None = None,
    base_url: str | None = None,
) -> RenderSummary:
    """Render the whole site for the catalog behind `engine` into `out_dir` (swapped in whole).

    Raises:
        RenderError: a glossary entry is bad, or `out_dir` is a non-empty folder this renderer
            did not write (it is never deleted).
    """
    site_dir = site_dir or default_site_dir()
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and (not out_dir.is_dir() or _foreign(out_dir)):
        raise RenderError(
            f"{out_dir} exists and was not written by `ropedex render`; pick an empty or new "
            "folder with --out"
        )
    glossary = load_glossary(glossary_dir or site_dir / "glossary")
    config = load_site_config(site_dir, base_url)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    summary = RenderSummary(out_dir=out_dir)
    try:
        os.chmod(tmp, 0o755)
        _render_into(engine, tmp, site_dir, glossary, config, summary)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(tmp, out_dir)
    return summary


def _foreign(folder: Path) -> bool:
    return any(folder.iterdir()) and not (folder / MARKER).is_file()


def _swap(new: Path, out_dir: Path) -> None:
    """Put `new` at `out_dir`: one rename when absent, else rename the old one aside first."""
    if not out_dir.exists():
        os.rename(new, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
    os.rmdir(old)
    os.rename(out_dir, old)
    os.rename(new, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _render_into(
    engine: Engine,
    root: Path,
    site_dir: Path,
    glossary: dict[str, GlossaryEntry],
    config: SiteConfig,
    summary: RenderSummary,
) -> None:
    from registry import site_pages

    writer = SiteWriter(root, summary)
    tag_entry = {t: e.slug for e in reversed(glossary.values()) for t in e.pe_tags}
    family_entry = {k: e.slug for e in reversed(glossary.values()) for k in e.families}
    with engine.connect() as conn:
        site = Site(
            env=make_environment(site_dir),
            writer=writer,
            config=config,
            stamp=_stamp(conn),
            glossary=glossary,
            tag_text=tag_definitions(),
            tag_entry=dict(sorted(tag_entry.items())),
            family_entry=dict(sorted(family_entry.items())),
            md=markdown_renderer(),
        )
        changes = _changes(conn)
        by_model: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for change in changes:
            by_model[change["model_id"]].append(change)
        workers = render_workers(engine, conn)
        if workers > 1:
            rows = site_pages.forked_model_pages(site, str(engine.url), by_model, workers)
        else:
            rows = site_pages.model_pages(site, iter_models(conn), by_model, summary)
    rows.sort(key=popularity)
    summary.models = len(rows)
    site_pages.catalog_pages(site, rows)
    site_pages.group_pages(site, rows, changes)
    site_pages.glossary_pages(site, rows)
    site_pages.home_page(site, rows, changes)
    site_pages.feeds(site, rows, changes)
    write_downloads(writer, engine, rows)
    _copy_static(writer, site_dir / "static")
    site.page("404.html", "404.html", sitemap=False)
    write_sitemap(writer, config.base_url, site.stamp)
    writer.write("robots.txt", f"User-agent: *\nAllow: /\nSitemap: {config.base_url}sitemap.xml\n")
    writer.write(MARKER, "Rendered by ropedex; `ropedex render` may replace this folder.\n")


def render_workers(engine: Engine, conn: Any) -> int:
    """Processes for the model pages: one per CPU (at most 4) for a big SQLite file catalog
    where `fork` exists, else 1 (the pages are the same either way)."""
    import multiprocessing

    from sqlalchemy import func, select

    from registry.models import Model

    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:"):
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    table = Model.__table__  # type: ignore[attr-defined]
    count = conn.execute(select(func.count()).select_from(table)).scalar() or 0
    if count < PARALLEL_MIN_MODELS:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def _copy_static(writer: SiteWriter, static: Path) -> None:
    if not static.is_dir():
        return
    for path in sorted(p for p in static.rglob("*") if p.is_file()):
        writer.write("static/" + path.relative_to(static).as_posix(), path.read_bytes())


def write_downloads(writer: SiteWriter, engine: Engine, rows: list[dict[str, Any]]) -> None:
    """`downloads/catalog.db` (SQLite backup), `models.json` and `models.csv` of the table."""
    ordered = sorted(rows, key=lambda r: r["repo_id"])
    writer.write(
        "downloads/models.json",
        json.dumps(ordered, indent=1, sort_keys=False, ensure_ascii=False) + "\n",
    )
    buffer = io.StringIO()
    out = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    out.writeheader()
    out.writerows(ordered)
    writer.write("downloads/models.csv", buffer.getvalue())
    if engine.dialect.name == "sqlite":
        import sqlite3

        target = writer.path("downloads/catalog.db")
        raw = engine.raw_connection()
        try:
            source = raw.driver_connection
            dest = sqlite3.connect(target)
            try:
                source.backup(dest)  # type: ignore[union-attr]
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
        finally:
            raw.close()
        writer.summary.files += 1
        writer.summary.bytes += target.stat().st_size


def write_sitemap(writer: SiteWriter, base_url: str, stamp: str | None) -> None:
    """`sitemap.xml` (an index of `sitemap-N.xml` files once past the protocol's 50,000 URLs)."""
    from xml.sax.saxutils import escape

    lastmod = f"<lastmod>{escape(stamp[:10])}</lastmod>" if stamp else ""
    pages = sorted(writer.pages)
    chunks = [pages[i : i + SITEMAP_URLS] for i in range(0, len(pages), SITEMAP_URLS)] or [[]]
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

    def urlset(paths: list[str]) -> str:
        body = "".join(f"<url><loc>{escape(base_url + p)}</loc>{lastmod}</url>\n" for p in paths)
        return f"{head}<urlset {ns}>\n{body}</urlset>\n"

    if len(chunks) == 1:
        writer.write("sitemap.xml", urlset(chunks[0]))
        return
    index = ""
    for number, chunk in enumerate(chunks, start=1):
        writer.write(f"sitemap-{number}.xml", urlset(chunk))
        index += f"<sitemap><loc>{escape(base_url)}sitemap-{number}.xml</loc>{lastmod}</sitemap>\n"
    writer.write("sitemap.xml", f"{head}<sitemapindex {ns}>\n{index}</sitemapindex>\n")


def glossary_html(
    site: Site, entry: GlossaryEntry, href: Callable[[str], str]
) -> tuple[str, list[dict[str, Any]]]:
    """An entry body as HTML and the cards of the terms it links."""
    html, used = render_glossary_markdown(
        site.md, entry.body, site.glossary, href=href, where=f"glossary entry {entry.slug}.md"
    )
    return html, [site.card(slug) for slug in used]


def counts(rows: list[dict[str, Any]], key: str) -> list[tuple[str, int]]:
    """(value, count) most common first, then by value; None values left out."""
    tally = Counter(r[key] for r in rows if r[key] is not None)
    return sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
