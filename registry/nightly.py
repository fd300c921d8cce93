"""The nightly job: scrape -> tag -> verify -> render, safely, with a summary stored in the catalog.

`run_stages` receives its stages as callables (the CLI composes the real ones with
`scrape_stage`, `retag_stage`, `verify_stage`, `render_stage`), so each stage can be exercised
alone and the orchestration is the same offline and online. Safety:

- one run per catalog: `registry.locks.catalog_lock` (a file lock beside the real SQLite file, an
  advisory lock on a PostgreSQL server); a second run fails at once with `LockHeld` (exit status
  `EXIT_LOCKED`);
- every stage commits its own batches, so a run killed at any point leaves a consistent catalog and
  the next run finishes the work (runs left `running` by a killed job are marked `interrupted`);
- the site is rendered into a temporary folder and swapped in with a rename.
"""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import BadFollowFile
from scrapers.hub import SORTS

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from scrapers.hub import HubOptions, Selection

from registry.exits import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL

__all__ = ["EXIT_FAILED", "EXIT_LOCKED", "EXIT_OK", "EXIT_PARTIAL"]

DEFAULT_FOLLOW = Path(__file__).with_name("follow.toml")
_SELECT_KEYS = {
    "author", "search", "filter", "pipeline_tag", "sort", "limit", "incremental", "gguf"
}  # fmt: skip


def load_follow(path: Path) -> list[dict[str, Any]]:
    """Read a follow file (TOML, `[[select]]` blocks).

    Raises:
        BadFollowFile: unreadable, not TOML, or a block with unknown keys or wrong types.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadFollowFile(f"Cannot read follow file {path}: {exc}") from None
    blocks = data.get("select")
    if not isinstance(blocks, list) or not blocks:
        raise BadFollowFile(f"{path} has no [[select]] block; see registry/follow.toml")
    selections = []
    for number, block in enumerate(blocks, 1):
        unknown = set(block) - _SELECT_KEYS
        if unknown:
            raise BadFollowFile(
                f"{path}: [[select]] #{number} has unknown keys {sorted(unknown)}; "
                f"allowed: {sorted(_SELECT_KEYS)}"
            )
        limit = block.get("limit")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise BadFollowFile(f"{path}: [[select]] #{number}: limit must be a positive integer")
        if not isinstance(block.get("incremental", False), bool):
            raise BadFollowFile(f"{path}: [[select]] #{number}: incremental must be true or false")
        if block.get("incremental") and (block.get("sort") or limit):
            raise BadFollowFile(
                f"{path}: [[select]] #{number}: an incremental block lists newest first to the "
                "last run's mark; it takes no sort or limit"
            )
        if not isinstance(block.get("gguf", False), bool):
            raise BadFollowFile(f"{path}: [[select]] #{number}: gguf must be true or false")
        for key in _SELECT_KEYS - {"limit", "incremental", "gguf"}:
            if key in block and not isinstance(block[key], str):
                raise BadFollowFile(f"{path}: [[select]] #{number}: {key} must be a string")
        if block.get("sort") not in (None, *SORTS):
            raise BadFollowFile(
                f"{path}: [[select]] #{number}: sort must be one of {sorted(SORTS)}"
            )
        selections.append(dict(block))
    return selections


def to_selection(block: dict[str, Any]) -> Selection:
    """A follow-file block as the scraper's listing query."""
    from scrapers.hub import Selection

    return Selection(
        authors=(block["author"],) if block.get("author") else (),
        search=block.get("search"),
        filters=(block["filter"],) if block.get("filter") else (),
        pipeline_tag=block.get("pipeline_tag"),
        sort=block.get("sort"),
        limit=block.get("limit"),
    )


@dataclass
class StageReport:
    name: str
    status: str  # ok | partial | failed | skipped
    seconds: float
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class NightlySummary:
    run_id: int | None
    status: str  # ok | partial | failed
    stages: list[StageReport]

    @property
    def exit_code(self) -> int:
        return {"ok": EXIT_OK, "partial": EXIT_PARTIAL}.get(self.status, EXIT_FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "stages": [asdict(s) for s in self.stages],
        }


# A stage returns (status, counts); it raises only on a failure that stops it entirely.
Stage = Callable[[int], tuple[str, dict[str, Any]]]


def run_stages(
    engine: Engine,
    stages: list[tuple[str, Stage | None]],
    *,
    on_stage: Callable[[StageReport], None] | None = None,
    stage_timeout: float | None = None,
) -> NightlySummary:
    """Run each stage in order under one run row; a failed stage does not stop the later ones
    unless it is the first (nothing to verify or render without a catalog). A stage still
    running after `stage_timeout` seconds is stopped and recorded `failed`."""
    from sqlmodel import Session

    from registry.deadline import StageTimedOut, deadline
    from registry.runs import finish_run, mark_interrupted, one_line, start_run

    with Session(engine) as session:
        mark_interrupted(session)
        run = start_run(session, "nightly")
        session.commit()
        run_id = run.id
    assert run_id is not None
    reports: list[StageReport] = []
    for name, stage in stages:
        if stage is None:
            report = StageReport(name, "skipped", 0.0)
        else:
            started = time.perf_counter()
            try:
                with deadline(stage_timeout):
                    status, counts = stage(run_id)
                report = StageReport(name, status, time.perf_counter() - started, counts)
            except (Exception, StageTimedOut) as exc:  # a stage failure is recorded, go on
                report = StageReport(
                    name, "failed", time.perf_counter() - started, error=one_line(exc)
                )
        reports.append(report)
        if on_stage is not None:
            on_stage(report)
    statuses = {r.status for r in reports if r.status != "skipped"}
    if statuses <= {"ok"}:
        overall = "ok"
    elif statuses == {"failed"}:
        overall = "failed"
    else:
        overall = "partial"
    with Session(engine) as session:
        from registry.models import Run

        run_row = session.get(Run, run_id)
        assert run_row is not None
        counts = {
            r.name: {"status": r.status, "seconds": round(r.seconds, 3), **r.counts}
            for r in reports
        }
        errors = "; ".join(f"{r.name}: {r.error}" for r in reports if r.error)
        finish_run(session, run_row, status=overall, counts=counts, error=errors or None)
        session.commit()
    return NightlySummary(run_id, overall, reports)


# --- the stages --------------------------------------------------------------------------------


def scrape_stage(
    engine: Engine, options: HubOptions, follow: list[dict[str, Any]], *, workers: int
) -> Stage:
    """Scrape each follow block in turn; a repo listed by several blocks is fetched once (the
    second listing finds its sha already stored)."""

    def stage(_run_id: int) -> tuple[str, dict[str, Any]]:
        from registry.runs import one_line
        from registry.sync import scrape

        totals: dict[str, Any] = {"listed": 0, "unchanged": 0, "fetched": 0, "new": 0}
        totals.update({"changed": 0, "failed": 0, "scrape_run_ids": []})
        failed_blocks = 0
        config_blocks = [b for b in follow if not b.get("gguf")]  # GGUF repos: gguf_stage
        for block in config_blocks:
            try:
                summary = scrape(
                    engine,
                    options,
                    to_selection(block),
                    workers=workers,
                    incremental=bool(block.get("incremental")),
                )
            except Exception as exc:  # ScrapeFailed: this listing failed, try the next
                failed_blocks += 1
                totals.setdefault("errors", []).append(options.redact(one_line(exc)))
                continue
            for key in ("listed", "unchanged", "fetched", "new", "changed"):
                totals[key] += getattr(summary, key)
            totals["failed"] += summary.failed_total
            totals["scrape_run_ids"].append(summary.run_id)
        if config_blocks and failed_blocks == len(config_blocks):
            raise RuntimeError("every listing failed: " + "; ".join(totals.get("errors", [])))
        partial = failed_blocks or totals["failed"]
        return ("partial" if partial else "ok"), totals

    return stage


def gguf_stage(engine: Engine, options: HubOptions, follow: list[dict[str, Any]]) -> Stage | None:
    """Read the unseen GGUF headers of the repos the `gguf = true` blocks list (None: no such
    block)."""
    blocks = [b for b in follow if b.get("gguf")]
    if not blocks:
        return None

    def stage(_run_id: int) -> tuple[str, dict[str, Any]]:
        from sqlmodel import Session

        from registry.gguf_sync import sync_gguf
        from scrapers.download import Pacer
        from scrapers.listing import list_repos

        pacer = Pacer()
        listed = (list_repos(options, to_selection(b), pacer) for b in blocks)
        repo_ids = [item.repo_id for items in listed for item in items]
        with Session(engine) as session:
            summary = sync_gguf(session, options, repo_ids)
        status = "partial" if summary.failed else "ok"
        return status, summary.to_dict()

    return stage


def retag_stage(engine: Engine) -> Stage:
    """Re-tag stored configs whose facts came from an older tagger."""

    def stage(_run_id: int) -> tuple[str, dict[str, Any]]:
        from sqlmodel import Session

        from registry.retag import retag_all

        with Session(engine) as session:
            retagged = retag_all(session)
            session.commit()
        return "ok", {"retagged": retagged}

    return stage


def verify_stage(engine: Engine, *, device: str) -> Stage:
    """Verify each rope fingerprint that has no verdict yet, then refresh the planner's
    statistics (the last stage that writes the catalog)."""

    def stage(_run_id: int) -> tuple[str, dict[str, Any]]:
        from sqlmodel import Session

        from registry.db import refresh_statistics
        from registry.verify.catalog import verify_catalog

        with Session(engine) as session:
            summary = verify_catalog(session, device=device)
            session.commit()
        refresh_statistics(engine)  # the catalog's writes of this run are done
        return "ok", summary.to_dict()

    return stage


def render_stage(engine: Engine, out_dir: Path, *, base_url: str | None = None) -> Stage:
    """Render the site (and its feeds) into a temporary folder, swapped in whole.

    A config that cannot be plotted makes the stage `partial` in the run where it first shows;
    later runs that meet the same plot errors again (and no new one) are `ok`: the errors stay
    in the counts (`plot_errors`, `plot_error_list`), but one unplottable model does not mark
    every later night partial."""

    def stage(run_id: int) -> tuple[str, dict[str, Any]]:
        from registry.sitegen import render_site

        summary = render_site(engine, out_dir, base_url=base_url, incremental=True)
        known = previous_plot_errors(engine, run_id)
        new = sorted(set(summary.plot_errors) - known)
        counts = {
            "models": summary.models,
            "pages": summary.pages,
            "files": summary.files,
            "bytes": summary.bytes,
            "plot_errors": len(summary.plot_errors),
            "new_plot_errors": len(new),
            "plot_error_list": sorted(summary.plot_errors)[:2000],
        }
        return ("partial" if new else "ok"), counts

    return stage


def previous_plot_errors(engine: Engine, run_id: int) -> set[str]:
    """The plot errors the last finished nightly run before `run_id` recorded (empty if none)."""
    from sqlmodel import Session, col, select

    from registry.models import Run

    with Session(engine) as session:
        last = session.exec(
            select(Run)
            .where(Run.kind == "nightly", col(Run.id) < run_id, col(Run.ended_at).is_not(None))
            .order_by(col(Run.id).desc())
            .limit(1)
        ).first()
    render = (last.counts or {}).get("render") if last is not None else None
    listed = render.get("plot_error_list") if isinstance(render, dict) else None
    return {e for e in listed if isinstance(e, str)} if isinstance(listed, list) else set()


# --- the published catalog ---------------------------------------------------------------------


def publish_copy(source: Path, dest: Path) -> dict[str, int]:
    """Copy a SQLite catalog to `dest` without the raw config texts (the derived facts, evidence
    values and provenance stay), compacted; the copy replaces `dest` atomically."""
    import sqlite3

    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(tmp) as out:
        src.backup(out)
    return _finish_publish(tmp, dest)


def publish_export(engine: Engine, dest: Path) -> dict[str, int]:
    """`publish_copy` for a catalog on any backend: exported to SQLite, then the same steps."""
    from registry.export import export_to_sqlite

    tmp = dest.with_name(dest.name + ".tmp")
    export_to_sqlite(engine, tmp)
    return _finish_publish(tmp, dest)


def _finish_publish(tmp: Path, dest: Path) -> dict[str, int]:
    """Strip config texts from the SQLite copy `tmp`, compact and check it, move it to `dest`."""
    import sqlite3

    conn = sqlite3.connect(tmp)
    try:
        stripped = conn.execute(
            "UPDATE config_snapshots SET config_text = NULL WHERE config_text IS NOT NULL"
        ).rowcount
        conn.commit()
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")
        models = conn.execute("SELECT COUNT(*) FROM models").fetchone()[0]
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
    finally:
        conn.close()
    if check != "ok":
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"integrity check of the copy failed: {check}")
    os.replace(tmp, dest)
    return {"models": models, "stripped_configs": stripped, "bytes": dest.stat().st_size}
