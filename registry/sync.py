"""Sources feeding the store: the Hub scrape and a Hub-like folder, each under one logged run.

`scrape` lists and downloads with `scrapers.hub` and stores what arrives through
`registry.store.store_configs`, one transaction per batch; `ingest_tree` does the same for a
folder read by `scrapers.tree`. A killed run keeps every committed batch; the next run skips
what landed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.db import as_session_factory
from registry.errors import BadInputDir, ScrapeFailed
from registry.models import Run
from registry.runs import logged_run
from registry.store import CatalogShas, StoreOutcome, known_failures, store_configs
from scrapers.hub import (
    Fetcher,
    FetchResult,
    HubOptions,
    Listed,
    Selection,
    fetch_all,
    list_cached,
    make_api,
    older,
)
from scrapers.listing import list_repos
from scrapers.records import HubMeta, RepoItem, Skipped
from scrapers.tree import TreeItem, iter_tree, read_tree_item

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from scrapers.tagger.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]


# --- a Hub-like folder ---------------------------------------------------------------------------


@dataclass
class IngestSummary:
    """Counts and per-model errors of one `ingest_tree` run."""

    run_id: int | None
    total: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"new": 0, "changed": 0, "unchanged": 0, "error": 0, "skipped": 0}
    )
    errors: list[StoreOutcome] = field(default_factory=list)

    def add(self, outcome: StoreOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.status in ("error", "skipped"):
            self.errors.append(outcome)

    @property
    def done(self) -> int:
        return sum(self.counts.values())


def ingest_items(
    session: Session,
    items: list[TreeItem],
    root: Path,
    *,
    run_id: int | None,
    tagger: Tagger | None = None,
) -> list[StoreOutcome]:
    """Read and store `ORG/NAME` folders of a tree as one batch; one outcome per folder."""
    plan: list[StoreOutcome | int] = []
    batch: list[RepoItem] = []
    for item in items:
        read = read_tree_item(item, root)
        if isinstance(read, Skipped):
            plan.append(StoreOutcome(read.repo_id, "skipped", read.reason, read.detail))
        else:
            batch.extend(read)
            plan.append(len(batch) - 1)  # the folder's outcome is its last item's
    stored = store_configs(session, batch, run_id=run_id, tagger=tagger)
    return [p if isinstance(p, StoreOutcome) else stored[p] for p in plan]


def check_tree_root(root: Path) -> Path:
    """`root` as a Path. Raises BadInputDir when it is not a directory."""
    root = Path(root)
    if not root.is_dir():
        raise BadInputDir(
            f"{root} is not a directory; pass a folder laid out as ORG/NAME/config.json."
        )
    return root


def ingest_tree(
    target: Engine | Callable[[], Session],
    root: Path,
    *,
    batch_size: int = 200,
    progress: Callable[[int, int, str], None] | None = None,
    tagger: Tagger | None = None,
) -> IngestSummary:
    """Ingest every `ORG/NAME/config.json` (+ optional `hub.json`) under `root`, one transaction
    per batch. `target` is an engine or a session factory.

    Raises:
        BadInputDir: `root` is not a readable directory.
    """
    root = check_tree_root(root)
    make = as_session_factory(target)
    try:
        items = list(iter_tree(root))
    except OSError as exc:
        raise BadInputDir(f"Cannot read {root} ({exc.strerror}); check its permissions.") from None
    real_root = root.resolve()
    with logged_run(make, "ingest") as run:
        summary = IngestSummary(run_id=run.id, total=len(items))
        run.counts = summary.counts
        step = max(1, batch_size)
        for start in range(0, len(items), step):
            with make() as session:
                chunk = items[start : start + step]
                outcomes = ingest_items(session, chunk, real_root, run_id=run.id, tagger=tagger)
                for outcome in outcomes:  # before the commit: an interrupt drops the batch
                    summary.add(outcome)
                    if progress is not None:
                        progress(summary.done, summary.total, outcome.repo_id)
                session.commit()
        run.status = "partial" if summary.errors else "ok"
    return summary


# --- the Hub -------------------------------------------------------------------------------------


REFRESH_BATCH = 500  # unchanged repos whose listing metadata is refreshed per transaction


@dataclass
class ScrapeSummary:
    """What a scrape did; `to_dict` is the `--json` shape."""

    run_id: int | None = None
    status: str = "running"
    listed: int = 0
    unchanged: int = 0
    fetched: int = 0  # configs obtained: downloaded, or read from the Hub cache
    cached: int = 0  # of those, read from the Hub cache without a request
    new: int = 0
    changed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    known_failed: int = 0  # of the failed, not fetched: the same commit failed before
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # repo, reason, detail
    # Incremental listing only: the newest lastModified this run has seen, carried forward
    # from the previous mark; the next incremental run lists down to it.
    high_water_mark: str | None = None

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "listed": self.listed,
            "unchanged": self.unchanged,
            "fetched": self.fetched,
            "cached": self.cached,
            "new": self.new,
            "changed": self.changed,
            "failed": dict(sorted(self.failed.items())),
            "failed_total": self.failed_total,
            "known_failed": self.known_failed,
            **({"high_water_mark": self.high_water_mark} if self.high_water_mark else {}),
        }


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a scrape: a repo was listed (outcome `listed`) or finished."""

    repo_id: str
    outcome: str  # listed | unchanged | new | changed | failed:<reason>
    listed: int
    done: int


Progress = Callable[[ProgressEvent], None]


class CatalogSink:
    """The scrape's `scrapers.hub.Sink`: stores results in batches through `store_configs`, one
    transaction per batch, and keeps the summary."""

    def __init__(
        self,
        make: Callable[[], Session],
        summary: ScrapeSummary,
        progress: Progress | None,
        redact: Callable[[str], str],
    ) -> None:
        self.make = make
        self.summary = summary
        self.progress = progress
        self.redact = redact
        self.done = 0
        self.refreshes: list[RepoItem] = []

    def skip_unchanged(self, repo_id: str, meta: dict[str, Any] | None) -> None:
        """An unchanged repo: counted now; its listing metadata is refreshed in bulk later."""
        self.summary.unchanged += 1
        self._report(repo_id, "unchanged")
        if meta is not None:
            self.refreshes.append(RepoItem(repo_id, hub=HubMeta.from_api(meta)))
            if len(self.refreshes) >= REFRESH_BATCH:
                self.write_refreshes()

    def listed(self) -> None:
        self.summary.listed += 1

    def finish(self) -> None:
        self.write_refreshes()

    def write_refreshes(self) -> None:
        if not self.refreshes:
            return
        with self.make() as session:
            store_configs(session, self.refreshes, run_id=self.summary.run_id)
            session.commit()
        self.refreshes = []

    def write(self, batch: list[FetchResult]) -> None:
        if not batch:
            return
        items = [self._item(result) for result in batch]
        with self.make() as session:
            stored = store_configs(session, items, run_id=self.summary.run_id)
            session.commit()
        for result, outcome in zip(batch, stored, strict=True):  # counted once durable
            self._count(result.repo_id, self._outcome(result, outcome))

    def _item(self, result: FetchResult) -> RepoItem:
        hub = HubMeta.from_api(result.meta) if result.meta is not None else None
        if result.unchanged:
            return RepoItem(result.repo_id, hub=hub)
        if result.fetched is None:
            detail = self.redact(result.detail or "")
            failure = (result.reason or "unknown", detail)
            return RepoItem(result.repo_id, hub=hub, failure=failure, recalled=result.recalled)
        fetched = result.fetched
        return RepoItem(
            result.repo_id,
            raw=fetched.raw,
            hub=hub,
            etag=fetched.etag,
            commit_sha=fetched.commit_sha or (hub.sha if hub is not None else None),
        )

    def _outcome(self, result: FetchResult, outcome: StoreOutcome) -> str:
        """The progress outcome of a stored result; failures are kept in the summary."""
        summary = self.summary
        if result.fetched is not None:
            summary.fetched += 1
            summary.cached += int(result.fetched.from_cache)
        if outcome.status != "error":
            return outcome.status
        reason = outcome.reason or "unknown"
        summary.known_failed += int(result.recalled)
        summary.errors.append((result.repo_id, reason, outcome.detail or ""))
        return f"failed:{reason}"

    def _count(self, repo_id: str, outcome: str) -> None:
        if outcome.startswith("failed:"):
            self.summary.failed[outcome.removeprefix("failed:")] += 1
        elif outcome in ("new", "changed", "unchanged"):
            setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)
        self._report(repo_id, outcome)

    def _report(self, repo_id: str, outcome: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(ProgressEvent(repo_id, outcome, self.summary.listed, self.done))


def scrape(
    target: Engine | Callable[[], Session],
    options: HubOptions,
    selection: Selection,
    *,
    workers: int = 8,
    progress: Progress | None = None,
    batch_size: int = 50,
    retry_failed: bool = False,
    incremental: bool = False,
) -> ScrapeSummary:
    """Bring the catalog in step with the Hub for `selection`; returns what happened.

    `incremental` lists the Hub newest first and stops at the high-water mark of the last
    incremental run that ended `ok` (a partial run does not move it, so a model that failed is
    listed again); the first incremental run walks the whole listing.

    `target` is an engine or a session factory. Per-model failures are recorded and counted;
    the run goes on. A commit that failed for good before is not fetched again unless
    `retry_failed`.

    Raises:
        ScrapeFailed: the listing itself failed (bad endpoint, offline with no cache, ...);
            batches stored before that stay committed.
    """
    if workers < 1:
        raise ScrapeFailed(f"--workers must be at least 1, not {workers}.")
    make = as_session_factory(target)
    with make() as session:
        failed = {} if retry_failed else known_failures(session)
        mark = last_high_water_mark(session) if incremental else None
    if incremental:
        selection = replace(selection, since=mark, sort="last_modified")
    error: str | None = None
    with logged_run(make, "scrape") as run:
        summary = ScrapeSummary(run_id=run.id)
        try:
            sink = CatalogSink(make, summary, progress, options.redact)
            api = None if options.offline else make_api(options)
            worker = Fetcher(api, options, CatalogShas(make), failed)
            if options.offline:
                items: Iterable[Listed] = list_cached(options.cache_dir, selection)
            else:
                items = list_repos(options, selection, worker.pacer)
            if incremental:
                items = _watch_mark(items, summary, mark)
            error = fetch_all(items, worker, sink, workers=workers, batch_size=batch_size)
            run.status = "failed" if error else ("partial" if summary.failed_total else "ok")
            if run.status != "ok":
                summary.high_water_mark = mark
            run.error = error
        except KeyboardInterrupt:
            run.status = "interrupted"
            raise
        finally:
            summary.status = run.status
            run.counts = summary.to_dict()
    if error:
        failure = ScrapeFailed(error)
        failure.summary = summary
        raise failure
    return summary


def last_high_water_mark(session: Session) -> str | None:
    """The mark of the newest incremental scrape that ended `ok` (None: never)."""
    from sqlmodel import col, select

    stmt = (
        select(Run.counts)
        .where(Run.kind == "scrape", Run.status == "ok")
        .order_by(col(Run.id).desc())
    )
    for counts in session.exec(stmt):
        if isinstance(counts, dict) and isinstance(counts.get("high_water_mark"), str):
            return str(counts["high_water_mark"])
    return None


def _watch_mark(
    items: Iterable[Listed], summary: ScrapeSummary, mark: str | None
) -> Iterator[Listed]:
    """Pass `items` through, keeping the newest lastModified seen (never below `mark`)."""
    summary.high_water_mark = mark
    for item in items:
        seen = (item.meta or {}).get("lastModified")
        if isinstance(seen, str) and (
            summary.high_water_mark is None or older(summary.high_water_mark, seen)
        ):
            summary.high_water_mark = seen
        yield item
