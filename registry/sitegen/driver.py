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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from registry.errors import RenderError
from registry.sitegen.filters import make_environment
from registry.sitegen.glossary import GlossaryEntry, load_glossary, markdown_renderer
from registry.sitegen.incremental import MANIFEST, UPDATING, PageReuse, renderer_fingerprint
from registry.sitegen.pages.api import write_index
from registry.sitegen.pages.catalog import catalog_pages, write_shards
from registry.sitegen.pages.downloads import download_parts, write_downloads
from registry.sitegen.pages.drift import drift_pages, read_drift, read_gguf_drift
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

T = TypeVar("T")
PARALLEL_MIN_PAGES = 1000  # below this, starting processes costs more than it saves


def render_site(
    engine: Engine,
    out_dir: Path,
    *,
    site_dir: Path | None = None,
    glossary_dir: Path | None = None,
    base_url: str | None = None,
    hub_url: str | None = None,
    incremental: bool = False,
    progress: Progress | None = None,
) -> RenderSummary:
    """Render the whole site for the catalog behind `engine` into `out_dir` (swapped in whole).

    `incremental` updates the site already at `out_dir` in place, rewriting only the pages
    whose inputs changed (see `registry.sitegen.incremental`); the output is the same as a full
    render's. Without a usable manifest there, it renders in full.
    `progress(step, done, total)` hears of each model page and each later step, if given.

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
    glossary_dir = glossary_dir or site_dir / "glossary"
    glossary = load_glossary(glossary_dir)
    config = load_site_config(site_dir, base_url, hub_url)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out_dir)
    fingerprint = renderer_fingerprint(site_dir, config, glossary_dir)
    reuse = PageReuse(out_dir if incremental and out_dir.is_dir() else None, fingerprint)
    summary = RenderSummary(out_dir=out_dir)
    parts = (site_dir, glossary, config, summary, reuse, progress or _quiet)
    if reuse.valid:  # update the live site file by file (see registry.sitegen.incremental)
        (out_dir / UPDATING).write_text("An incremental render is updating this site.\n")
        _render_into(engine, out_dir, *parts, in_place=True)
        (out_dir / UPDATING).unlink()
        summary.reused = reuse.reused
        return summary
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out_dir), dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)
        _render_into(engine, tmp, *parts)
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
    reuse: PageReuse,
    progress: Progress,
    *,
    in_place: bool = False,
) -> None:
    writer = SiteWriter(root, summary, in_place=in_place)
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
            reuse=reuse,
        )
        site.drift = read_drift(conn)
        site.gguf_drift = read_gguf_drift(conn)
        changes = read_changes(conn)
        by_model: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for change in changes:
            by_model[change["model_id"]].append(change)
        models = _model_count(conn)
        total = models + len(_LATER_STEPS)
        progress("model pages", 0, total)
        rows, todo = _kept_models(site, engine, conn, root if in_place else None, by_model)
        progress("model pages", len(rows), total)
        workers = render_workers(engine, conn, models if todo is None else len(todo))
        if workers > 1:
            url = engine.url.render_as_string(hide_password=False)
            rows += forked_model_pages(site, url, by_model, workers, todo)
        else:
            done = len(rows)
            records = iter_models(conn, ids=todo)
            counted = _counting(records, lambda n: progress("model pages", done + n, total))
            rows += model_pages(site, counted, by_model, summary)
        progress("model pages", models, total)
    rows.sort(key=popularity)
    summary.models = len(rows)
    summary.plot_errors.sort()  # kept and new pages report theirs in no fixed order
    # The whole-catalog files (downloads, API index, catalog shards) are written by forked
    # processes while this one writes the list pages, for a big catalog: they only read `rows`.
    whole = _WholeCatalogFiles(site, engine, rows)
    steps = (
        lambda: catalog_pages(site, rows, shards_written=whole.forked),
        lambda: group_pages(site, rows, changes),
        lambda: glossary_pages(site, rows),
        lambda: home_page(site, rows, changes),
        lambda: feeds(site, rows, changes),
        lambda: drift_pages(site, rows),
        whole.downloads,
        whole.index,
        lambda: _copy_static(writer, site_dir / "static"),
    )
    try:
        for done, (name, step) in enumerate(zip(_LATER_STEPS, steps, strict=True), start=1):
            progress(name, models + done - 1, total)
            step()
            progress(name, models + done, total)
    finally:
        whole.close()
    # A static host serves 404.html for any missing path, at any depth: root-relative links.
    site.page("404.html", "404.html", sitemap=False, root=urlsplit(site.config.base_url).path)
    write_sitemap(writer, config.base_url, site.stamp)
    write_robots(writer, config.base_url)
    writer.write(MARKER, "Rendered by ropedex; `ropedex render` may replace this folder.\n")
    writer.write(MANIFEST, reuse.manifest(writer.files), track=False)
    if in_place:
        from registry.sitegen.pages.api import model_document_path
        from registry.sitegen.writer import model_path

        gone, others = reuse.stale(writer.files)
        pages = [p for r in gone for p in (model_path(r), model_document_path(r))]
        _remove_stale(writer, [*pages, *others])


def _kept_models(
    site: Site,
    engine: Engine,
    conn: Any,
    previous: Path | None,
    changes: dict[int, list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[int] | None]:
    """Key every model's page; when updating `previous` in place, keep each page whose key is
    unchanged (its catalog row read back from the previous catalog shards). Returns the kept
    rows and the ids still to render (None: all of them). Updating a big catalog, the keys
    are computed by forked processes, each over its share of the models, while this one
    reads the previous rows."""
    from registry.sitegen.pages.catalog import previous_rows
    from registry.sitegen.writer import model_path

    reuse, writer, summary = site.reuse, site.writer, site.writer.summary
    assert reuse is not None
    workers = render_workers(engine, conn, len(reuse.old_models))
    old_rows: dict[str, dict[str, Any]] = {}
    parts = None
    if previous is not None and workers > 1:
        url = engine.url.render_as_string(hide_password=False)
        _FORKED.update(site=site, changes=changes, url=url, workers=workers)
        try:
            with _fork_pool(workers) as pool:
                shares = pool.map_async(_key_share, range(workers))
                old_rows = previous_rows(previous)
                parts = shares.get()
        finally:
            _FORKED.clear()
        if any(r not in old_rows for kept, _ in parts for r in kept):  # a row the shards lack
            parts = None
    elif previous is not None:
        old_rows = previous_rows(previous)
    if previous is not None and reuse.old_models and not old_rows:
        reuse.valid = False  # unreadable shards: no file of the previous render is trusted
        parts = None
    if parts is None:
        parts = [_decide(site, conn, changes, old_rows if previous is not None else None, None)]
    rows: list[dict[str, Any]] = []
    todo: list[int] = []
    pages: list[str] = []
    size = 0
    for kept, rendered in parts:
        for model_id, _repo_id, key in rendered:
            reuse.keys[model_id] = key
            todo.append(model_id)
        for repo_id in kept:
            old = reuse.models[repo_id] = reuse.old_models[repo_id]
            pages.append(model_path(repo_id))
            size += int(old[1]) + int(old[2])
            rows.append(old_rows[repo_id])
    writer.kept_model_files(pages, size)  # each page and its API document
    for repo_id in sorted(reuse.old_errors):
        if repo_id in reuse.models:
            for problem in reuse.carry_errors(repo_id):
                if problem not in summary.plot_errors:
                    summary.plot_errors.append(problem)
    reuse.reused += len(rows)
    summary.model_pages += len(rows)
    return rows, (sorted(todo) if previous is not None else None)


def _decide(
    site: Site,
    conn: Any,
    changes: dict[int, list[dict[str, Any]]],
    old_rows: dict[str, dict[str, Any]] | None,
    shard: tuple[int, int] | None,
) -> tuple[list[str], list[tuple[int, str, str]]]:
    """The repo ids whose previous page stands (same key and, given `old_rows`, a catalog row
    read back), and (model id, repo id, key) of every other model. Nothing stands in a full
    render (no previous manifest)."""
    from registry.sitegen.incremental import model_keys

    reuse = site.reuse
    assert reuse is not None
    kept: list[str] = []
    rendered: list[tuple[int, str, str]] = []
    updating = bool(reuse.old_models)
    for model_id, repo_id, key in model_keys(conn, reuse.fingerprint, changes, site.drift, shard):
        if (
            updating
            and (old_rows is None or repo_id in old_rows)
            and reuse.kept_model(repo_id, key) is not None
        ):
            kept.append(repo_id)
        else:
            rendered.append((model_id, repo_id, key))
    return kept, rendered


def _key_share(k: int) -> tuple[list[str], list[tuple[int, str, str]]]:
    """In a forked process: `_decide` over the models whose id is k modulo the workers (the
    parent checks the kept ones against the previous rows it reads meanwhile)."""
    with _forked_connection() as conn:
        shard = (k, _FORKED["workers"])
        return _decide(_FORKED["site"], conn, _FORKED["changes"], None, shard)


@contextmanager
def _forked_connection() -> Iterator[Any]:
    """A forked worker's own connection to the catalog at `_FORKED["url"]` (the parent's
    connections are not shared across a fork)."""
    from sqlalchemy import create_engine

    engine = create_engine(_FORKED["url"])
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _fork_pool(workers: int) -> Any:
    """A pool of `workers` forked processes; they inherit what `_FORKED` holds."""
    import multiprocessing

    return multiprocessing.get_context("fork").Pool(workers)


PARALLEL_MIN_ROWS = 20000  # catalog rows from which the whole-catalog files get own processes
WHOLE_WORKERS = 2  # processes for them (they share the CPUs with the list pages)


def _whole_parts(site: Site, engine: Engine, rows: list[Any]) -> list[Callable[[], None]]:
    """The files that hold every catalog row: the API index first (the largest), the three
    downloads, and the catalog's JSON shards split between the processes."""
    writer = site.writer
    return [
        lambda: write_index(writer, rows, site.stamp),
        *download_parts(writer, engine, rows),
        *[partial(write_shards, site, rows, (k, WHOLE_WORKERS)) for k in range(WHOLE_WORKERS)],
    ]


class _WholeCatalogFiles:
    """The API index, the downloads and the catalog shards, started at once in forked
    processes for a big catalog (where `fork` exists), else written in place when their step
    comes."""

    def __init__(self, site: Site, engine: Engine, rows: list[Any]) -> None:
        import multiprocessing

        self.args = (site, engine, rows)
        self.pool: Any = None
        self.results: list[Any] = []
        if len(rows) >= PARALLEL_MIN_ROWS and "fork" in multiprocessing.get_all_start_methods():
            _FORKED.update(whole=self.args)
            try:
                self.pool = _fork_pool(WHOLE_WORKERS)
            finally:
                _FORKED.clear()
            parts = range(len(_whole_parts(*self.args)))
            self.results = [self.pool.apply_async(_whole_catalog_part, (k,)) for k in parts]

    @property
    def forked(self) -> bool:
        return self.pool is not None

    def downloads(self) -> None:
        if self.pool is None:
            site, engine, rows = self.args
            write_downloads(site.writer, engine, rows)

    def index(self) -> None:
        site, _engine, rows = self.args
        writer = site.writer
        if self.pool is None:
            write_index(writer, rows, site.stamp)
            return
        for result in self.results:
            files, count, size = result.get()
            writer.files.update(files)
            writer.summary.files += count
            writer.summary.bytes += size

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def _whole_catalog_part(k: int) -> tuple[dict[str, list[Any]], int, int]:
    """In a forked process: the k-th whole-catalog file, and what the writer counted for it."""
    site, engine, rows = _FORKED["whole"]
    engine.dispose(close=False)  # the parent's connections stay the parent's
    writer = site.writer
    writer.files, writer.summary = {}, RenderSummary(out_dir=writer.summary.out_dir)
    _whole_parts(site, engine, rows)[k]()
    return writer.files, writer.summary.files, writer.summary.bytes


def _remove_stale(writer: SiteWriter, stale: Iterable[str]) -> None:
    """Delete what the previous site held and this render did not produce, and the folders
    that leaves empty."""
    folders: set[Path] = set()
    for rel in stale:
        path = writer.path(rel)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        folders.add(path.parent)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != writer.root:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


Progress = Callable[[str, int, int], None]
_LATER_STEPS = (
    "catalog", "tags and families", "glossary", "home", "feeds", "drift", "downloads", "api",
    "static",
)  # fmt: skip


def _quiet(_step: str, _done: int, _total: int) -> None:
    return None


def _counting(items: Iterable[T], tick: Callable[[int], None]) -> Iterator[T]:
    """`items`, calling `tick(n)` after the n-th one was taken."""
    for n, item in enumerate(items, start=1):
        yield item
        tick(n)


def _model_count(conn: Any) -> int:
    from sqlalchemy import func, select

    from registry.models import Model

    table = Model.__table__  # type: ignore[attr-defined]
    return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def render_workers(engine: Engine, conn: Any, pages: int) -> int:
    """Processes for `pages` model pages: one per CPU (at most 4) for a SQLite file or a
    PostgreSQL catalog where `fork` exists, else 1 (the pages are the same either way). Each
    worker opens its own connection."""
    import multiprocessing

    database = engine.url.database or ""
    if engine.dialect.name == "sqlite" and database in ("", ":memory:"):
        return 1
    if engine.dialect.name not in ("sqlite", "postgresql"):
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if pages < PARALLEL_MIN_PAGES:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def _copy_static(writer: SiteWriter, static: Path) -> None:
    if not static.is_dir():
        return
    for path in sorted(p for p in static.rglob("*") if p.is_file()):
        writer.write("static/" + path.relative_to(static).as_posix(), path.read_bytes())


_FORKED: dict[str, Any] = {}  # what forked workers inherit: the site and changes by model


def forked_model_pages(
    site: Site,
    db_url: str,
    changes: dict[int, list[dict[str, Any]]],
    workers: int,
    ids: list[int] | None = None,
) -> list[dict[str, Any]]:
    """`model_pages` split over `workers` forked processes, each reading its own share of the
    models (`ids`, or every model when None)."""

    _FORKED.update(site=site, changes=changes, url=db_url, workers=workers, ids=ids)
    try:
        with _fork_pool(workers) as pool:
            parts = pool.map(_model_shard, range(workers))
    finally:
        _FORKED.clear()
    summary = site.writer.summary
    rows: list[dict[str, Any]] = []
    for shard_rows, part, pages, taken in parts:
        rows += shard_rows
        site.writer.pages += pages
        if site.reuse is not None:
            site.reuse.models.update(taken[0])
            site.reuse.errors.update(taken[1])
        for name in ("model_pages", "pages", "files", "bytes", "plots"):
            setattr(summary, name, getattr(summary, name) + getattr(part, name))
        summary.plot_errors = sorted({*summary.plot_errors, *part.plot_errors})
        summary.refused = sorted([*summary.refused, *part.refused])
    return rows


def _model_shard(
    k: int,
) -> tuple[
    list[dict[str, Any]],
    RenderSummary,
    list[str],
    tuple[dict[str, list[Any]], dict[str, list[str]]],
]:
    site: Site = _FORKED["site"]
    part = RenderSummary(out_dir=site.writer.summary.out_dir)
    site.writer.summary, site.writer.pages = part, []
    if site.reuse is not None:  # this process reports only the pages it renders
        site.reuse.models, site.reuse.errors = {}, {}
    workers, ids = _FORKED["workers"], _FORKED["ids"]
    with _forked_connection() as conn:
        if ids is None:
            records = iter_models(conn, (k, workers))
        else:
            records = iter_models(conn, ids=ids[k::workers])
        rows = model_pages(site, records, _FORKED["changes"], part)
    reuse = site.reuse
    taken = (reuse.models, reuse.errors) if reuse is not None else ({}, {})
    return rows, part, site.writer.pages, taken
