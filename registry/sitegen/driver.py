"""The static site: catalog -> Jinja templates in `site/` -> a folder any static host can serve.

`render_site(engine, out_dir)` reads the catalog in a few bulk queries, renders every page into a
temporary sibling folder and then swaps it in with `rename`, so visitors never see half a site.
Output is deterministic: rows are sorted, JSON keys are sorted, and the only time on any page is
the catalog's last run. Model-supplied strings are untrusted: templates autoescape, JSON embedded
in pages goes through `tojson`, and only repo ids that pass `is_valid_repo_id` become paths.

The driver calls down into the readers, page functions and writer; nothing imports the driver.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from registry.errors import RenderError
from registry.sitegen.filters import make_environment
from registry.sitegen.glossary import GlossaryEntry, load_glossary, markdown_renderer
from registry.sitegen.pages.catalog import catalog_pages
from registry.sitegen.pages.downloads import write_downloads
from registry.sitegen.pages.feeds import feeds
from registry.sitegen.pages.glossary import glossary_pages
from registry.sitegen.pages.groups import group_pages
from registry.sitegen.pages.home import home_page
from registry.sitegen.pages.models import model_pages
from registry.sitegen.pages.sitemap import write_robots, write_sitemap
from registry.sitegen.read import (
    iter_models,
    popularity,
    read_changes,
    read_stamp,
    tag_definitions,
)
from registry.sitegen.writer import (
    MARKER,
    RenderSummary,
    Site,
    SiteConfig,
    SiteWriter,
    default_site_dir,
    load_site_config,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PARALLEL_MIN_MODELS = 5000  # below this, starting processes costs more than it saves


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
    remove_leftovers(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out_dir), dir=out_dir.parent))
    summary = RenderSummary(out_dir=out_dir)
    try:
        os.chmod(tmp, 0o755)
        _render_into(engine, tmp, site_dir, glossary, config, summary)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(tmp, out_dir)
    return summary


def temp_prefix(out_dir: Path) -> str:
    """Name prefix of this process's temporary folders beside `out_dir`."""
    return f".{out_dir.name}.{os.getpid()}."


def remove_leftovers(out_dir: Path) -> list[Path]:
    """Remove temporary folders that killed renders of `out_dir` left beside it (their process is
    gone); returns what was removed."""
    from registry.sitegen.swap import leftover_folders

    removed = []
    for folder in leftover_folders(out_dir):
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _foreign(folder: Path) -> bool:
    return any(folder.iterdir()) and not (folder / MARKER).is_file()


def _swap(new: Path, out_dir: Path) -> None:
    """Put `new` at `out_dir` in one atomic step (`registry.sitegen.swap`), then remove the old."""
    from registry.sitegen.swap import swap_in

    old = swap_in(new, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _render_into(
    engine: Engine,
    root: Path,
    site_dir: Path,
    glossary: dict[str, GlossaryEntry],
    config: SiteConfig,
    summary: RenderSummary,
) -> None:
    writer = SiteWriter(root, summary)
    tag_entry = {t: e.slug for e in reversed(glossary.values()) for t in e.pe_tags}
    family_entry = {k: e.slug for e in reversed(glossary.values()) for k in e.families}
    with engine.connect() as conn:
        site = Site(
            env=make_environment(site_dir),
            writer=writer,
            config=config,
            stamp=read_stamp(conn),
            glossary=glossary,
            tag_text=tag_definitions(),
            tag_entry=dict(sorted(tag_entry.items())),
            family_entry=dict(sorted(family_entry.items())),
            md=markdown_renderer(),
        )
        changes = read_changes(conn)
        by_model: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for change in changes:
            by_model[change["model_id"]].append(change)
        workers = render_workers(engine, conn)
        if workers > 1:
            rows = forked_model_pages(site, str(engine.url), by_model, workers)
        else:
            rows = model_pages(site, iter_models(conn), by_model, summary)
    rows.sort(key=popularity)
    summary.models = len(rows)
    catalog_pages(site, rows)
    group_pages(site, rows, changes)
    glossary_pages(site, rows)
    home_page(site, rows, changes)
    feeds(site, rows, changes)
    write_downloads(writer, engine, rows)
    _copy_static(writer, site_dir / "static")
    # A static host serves 404.html for any missing path, at any depth: root-relative links.
    site.page("404.html", "404.html", sitemap=False, root=urlsplit(site.config.base_url).path)
    write_sitemap(writer, config.base_url, site.stamp)
    write_robots(writer, config.base_url)
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


_FORKED: dict[str, Any] = {}  # what forked workers inherit: the site and changes by model


def forked_model_pages(
    site: Site, db_url: str, changes: dict[int, list[dict[str, Any]]], workers: int
) -> list[dict[str, Any]]:
    """`model_pages` split over `workers` forked processes, each reading its own id shard."""
    import multiprocessing

    _FORKED.update(site=site, changes=changes, url=db_url, workers=workers)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_model_shard, range(workers))
    finally:
        _FORKED.clear()
    summary = site.writer.summary
    rows: list[dict[str, Any]] = []
    for shard_rows, part, pages in parts:
        rows += shard_rows
        site.writer.pages += pages
        for name in ("model_pages", "pages", "files", "bytes", "plots"):
            setattr(summary, name, getattr(summary, name) + getattr(part, name))
        summary.plot_errors = sorted({*summary.plot_errors, *part.plot_errors})
        summary.refused = sorted([*summary.refused, *part.refused])
    return rows


def _model_shard(k: int) -> tuple[list[dict[str, Any]], RenderSummary, list[str]]:
    from sqlalchemy import create_engine

    site: Site = _FORKED["site"]
    part = RenderSummary(out_dir=site.writer.summary.out_dir)
    site.writer.summary, site.writer.pages = part, []
    engine = create_engine(_FORKED["url"])
    try:
        with engine.connect() as conn:
            records = iter_models(conn, (k, _FORKED["workers"]))
            rows = model_pages(site, records, _FORKED["changes"], part)
    finally:
        engine.dispose()
    return rows, part, site.writer.pages
