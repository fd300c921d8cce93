"""The Hub side of a scrape: list, decide, download. No catalog access here.

1. **List** with the real client (`HfApi.list_models` with the `expand` fields the catalog
   keeps), or ask `model_info` for each repo of an explicit list, or (offline) read the local
   Hub cache.
2. **Decide**: a repo whose listed sha equals the one the caller already has (`known`) costs no
   request; the sink is told it is unchanged. A repo whose listed sha failed for good before
   (`failed`: bad config, too large, no config) is reported as failing again without a request.
3. **Download** `config.json` pinned to the listed sha, on a bounded pool of worker threads,
   with retries (see `scrapers.download`).
4. Hand the results to a `Sink` in batches on the calling thread (`registry.sync` stores them,
   one transaction per batch) while the workers go on fetching.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from scrapers.configfile import MAX_CONFIG_BYTES
from scrapers.download import Fetched, FetchFailed, Pacer, RetryPolicy, read_cached, with_retries
from scrapers.errors import ScrapeFailed
from scrapers.hubtree import is_valid_repo_id

if TYPE_CHECKING:
    from huggingface_hub import HfApi

DEFAULT_ENDPOINT = "https://huggingface.co"


CONFIG_FILE = "config.json"


# Listing properties the catalog stores (HubMeta) plus the sha that drives incremental runs.
EXPAND = [
    "sha",
    "lastModified",
    "downloads",
    "likes",
    "tags",
    "pipeline_tag",
    "gated",
    "private",
    "library_name",
    "cardData",
    "author",
]


SORTS = ("downloads", "likes", "last_modified", "created_at", "trending_score")


@dataclass(frozen=True)
class HubOptions:
    """Where and how to reach the Hub; the CLI fills it from flags and HF_* variables."""

    endpoint: str = DEFAULT_ENDPOINT
    token: str | None = None  # never logged or stored
    cache_dir: Path | None = None  # Hub cache (HF_HUB_CACHE); None: no cache
    offline: bool = False  # HF_HUB_OFFLINE: no request at all, the cache only
    timeout: float = 10.0  # seconds per request (connect and each read)
    max_config_bytes: int = MAX_CONFIG_BYTES
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def redact(self, text: str) -> str:
        """`text` with the token, the endpoint's userinfo and any URL credential blanked out,
        for anything that may reach a log or the catalog (`scrapers.redact`)."""
        from scrapers.redact import redact_text, url_secrets

        return redact_text(text, [self.token, *url_secrets(self.endpoint)])


@dataclass(frozen=True)
class Selection:
    """Which repos to scrape: a Hub query, or an explicit list of repo ids (`models`)."""

    authors: tuple[str, ...] = ()
    search: str | None = None
    filters: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    sort: str | None = None
    limit: int | None = None
    models: tuple[str, ...] | None = None
    # Incremental whole-Hub listing: newest first, stop at the first repo last modified before
    # this ISO time (the catalog's high-water mark); older repos cannot have a new commit.
    since: str | None = None


@dataclass(frozen=True)
class KnownFailure:
    """A commit whose config failed for good, and why (`models.failed_sha` and `models.error`)."""

    sha: str
    reason: str
    detail: str | None


@dataclass(frozen=True)
class Listed:
    """One repo to consider: its id, listing metadata in Hub API shape (None: ask model_info)."""

    repo_id: str
    meta: dict[str, Any] | None
    cached_path: Path | None = None  # offline: the cached config to read
    cached_sha: str | None = None  # offline: the commit of that cached config

    @property
    def sha(self) -> str | None:
        return self.meta.get("sha") if self.meta is not None else self.cached_sha


@dataclass
class FetchResult:
    repo_id: str
    meta: dict[str, Any] | None
    fetched: Fetched | None = None
    reason: str | None = None
    detail: str | None = None
    unchanged: bool = False
    recalled: bool = False  # a failure remembered at this commit, not fetched again


def make_api(options: HubOptions) -> HfApi:
    """The real client, pointed at `options.endpoint` with the token passed explicitly."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=options.endpoint, token=options.token or False, library_name="ropedex")


def info_to_api(info: Any) -> dict[str, Any]:
    """A `ModelInfo` back in the Hub API's JSON shape (what `HubMeta.from_api` reads)."""
    card = getattr(info, "card_data", None)
    last_modified = getattr(info, "last_modified", None)
    return {
        "id": info.id,
        "author": getattr(info, "author", None),
        "sha": info.sha,
        "lastModified": last_modified.isoformat() if last_modified is not None else None,
        "downloads": info.downloads,
        "likes": info.likes,
        "tags": info.tags,
        "pipeline_tag": info.pipeline_tag,
        "gated": info.gated,
        "private": info.private,
        "library_name": info.library_name,
        "cardData": card.to_dict() if card is not None else None,
    }


def older(last_modified: Any, since: str) -> bool:
    """Whether a listed `lastModified` lies strictly before `since` (ISO 8601; naive = UTC)."""
    moment, mark = _instant(last_modified), _instant(since)
    return moment is not None and mark is not None and moment < mark


def _instant(value: Any) -> Any:
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def list_cached(cache_dir: Path | None, selection: Selection) -> Iterator[Listed]:
    """Offline listing: repos in the Hub cache with a cached config.json (newest snapshot)."""
    if selection.filters or selection.pipeline_tag or selection.sort:
        raise ScrapeFailed(
            "--filter, --pipeline-tag and --sort need the Hub; drop them or unset HF_HUB_OFFLINE."
        )
    if cache_dir is None or not cache_dir.is_dir():
        raise ScrapeFailed(
            f"Offline (HF_HUB_OFFLINE) and no Hub cache at {cache_dir}; run once online or "
            "pass --cache-dir."
        )
    wanted = set(selection.models) if selection.models is not None else None
    count = 0
    for folder in sorted(cache_dir.glob("models--*--*")):
        org, _, name = folder.name.removeprefix("models--").partition("--")
        repo_id = f"{org}/{name}"
        if not is_valid_repo_id(repo_id) or (wanted is not None and repo_id not in wanted):
            continue
        if selection.authors and org not in selection.authors:
            continue
        if selection.search and selection.search.lower() not in repo_id.lower():
            continue
        configs = [p for p in (folder / "snapshots").glob(f"*/{CONFIG_FILE}") if p.is_file()]
        if not configs:
            continue
        newest = max(configs, key=lambda p: p.parent.stat().st_mtime)
        # No Hub metadata offline: stored as None, so the catalog keeps what it had.
        yield Listed(repo_id, None, cached_path=newest, cached_sha=newest.parent.name)
        count += 1
        if selection.limit is not None and count >= selection.limit:
            return


def read_models_file(path: Path) -> tuple[str, ...]:
    """Repo ids, one a line (blank lines and `#` comments skipped).

    Raises:
        ScrapeFailed: the file cannot be read or names an invalid repo id.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScrapeFailed(f"Cannot read the models file {path} ({exc}).") from None
    ids: list[str] = []
    for number, line in enumerate(lines, start=1):
        repo_id = line.split("#", 1)[0].strip()
        if not repo_id:
            continue
        if not is_valid_repo_id(repo_id):
            raise ScrapeFailed(
                f"{path}:{number}: {repo_id[:100]!r} is not a repo id; write one ORG/NAME a line."
            )
        if repo_id not in ids:
            ids.append(repo_id)
    return tuple(ids)


class ShaLookup(Protocol):
    """Repo id -> the commit sha the caller holds (a dict works). One that also has
    `prefetch(repo_ids)` is told each listing page's repo ids before they are looked up."""

    def get(self, repo_id: str, /) -> str | None: ...


PREFETCH_ITEMS = 1000  # listed repos looked up in the caller's catalog at once (a Hub page)


def _prefetching(items: Iterable[Listed], known: ShaLookup) -> Iterator[Listed]:
    """`items`, each run of PREFETCH_ITEMS announced to `known.prefetch` before it is yielded."""
    prefetch = getattr(known, "prefetch", None)
    if prefetch is None:
        yield from items
        return
    run: list[Listed] = []
    listed = iter(items)
    while True:
        try:
            item = next(listed)
        except StopIteration:
            break
        except Exception:  # a listing that breaks midway still hands on what it listed
            if run:
                prefetch([i.repo_id for i in run])
                yield from run
            raise
        run.append(item)
        if len(run) >= PREFETCH_ITEMS:
            prefetch([i.repo_id for i in run])
            yield from run
            run = []
    if run:
        prefetch([i.repo_id for i in run])
        yield from run


class Fetcher:
    """What a worker thread needs: the client, options, the catalog's shas (current and failed)
    and a shared pacer."""

    def __init__(
        self,
        api: HfApi | None,
        options: HubOptions,
        known: ShaLookup,
        failed: dict[str, KnownFailure] | None = None,
    ):
        self.api = api
        self.options = options
        self.known = known
        self.failed = failed or {}
        self.pacer = Pacer()

    def recall(
        self, repo_id: str, sha: str | None, meta: dict[str, Any] | None
    ) -> FetchResult | None:
        """The remembered failure when `sha` is the commit that failed for good before."""
        known = self.failed.get(repo_id)
        if not sha or known is None or known.sha != sha:
            return None
        detail = (
            f"commit {sha} failed before ({known.detail or known.reason}); not downloaded again"
        )
        return FetchResult(repo_id, meta, reason=known.reason, detail=detail, recalled=True)

    def retrying(self, attempt: Callable[[], Any]) -> Any:
        opts = self.options
        return with_retries(attempt, policy=opts.retry, pacer=self.pacer, redact=opts.redact)

    def process(self, item: Listed) -> FetchResult:
        """Everything for one repo that may touch the network; never raises FetchFailed."""
        meta = item.meta
        try:
            if item.cached_path is not None:
                fetched = self._read_offline(item.cached_path, item.sha)
                return FetchResult(item.repo_id, None, fetched=fetched)
            if meta is None:
                meta = self.retrying(lambda: self._info(item.repo_id))
            sha = meta.get("sha")
            if sha and self.known.get(item.repo_id) == sha:
                return FetchResult(item.repo_id, meta, unchanged=True)
            recalled = self.recall(item.repo_id, sha, meta)
            if recalled is not None:
                return recalled
            fetched = self._download(item.repo_id, sha, gated=meta.get("gated"))
            return FetchResult(item.repo_id, meta, fetched=fetched)
        except FetchFailed as exc:
            return FetchResult(item.repo_id, meta, reason=exc.reason, detail=exc.detail)

    def _info(self, repo_id: str) -> dict[str, Any]:
        """Model info in the API's shape, asked with this scrape's timeout."""
        assert self.api is not None
        info = self.api.model_info(
            repo_id,
            expand=list(EXPAND),  # type: ignore[arg-type]
            timeout=self.options.timeout,
        )
        try:
            return info_to_api(info)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise FetchFailed("bad-answer", f"model info: {type(exc).__name__}") from None

    def _read_offline(self, path: Path, sha: str | None) -> Fetched:
        cap = self.options.max_config_bytes
        try:
            with open(path, "rb") as fh:
                raw = fh.read(cap + 1)
        except OSError as exc:
            raise FetchFailed("unreadable", f"cached config: {exc.strerror}") from None
        return Fetched(raw, sha, None, from_cache=True)

    def _download(self, repo_id: str, sha: str | None, *, gated: Any = None) -> Fetched:
        """The config at `sha`: from the Hub cache when there, else one GET (with retries)."""
        from scrapers.download import get_file

        opts = self.options
        if opts.cache_dir is not None and sha:
            cached = read_cached(opts.cache_dir, repo_id, CONFIG_FILE, sha, opts.max_config_bytes)
            if isinstance(cached, FetchFailed):
                raise cached
            if cached is not None:
                return cached
        if gated and not opts.token:  # the Hub would answer 401: spare the request
            raise FetchFailed("gated", f"gated ({gated}); request access and set HF_TOKEN")
        return self.retrying(
            lambda: get_file(
                repo_id,
                CONFIG_FILE,
                revision=sha or "main",
                endpoint=opts.endpoint,
                token=opts.token,
                timeout=opts.timeout,
                max_bytes=opts.max_config_bytes,
                cache_dir=opts.cache_dir,
            )
        )


class Sink(Protocol):
    """Where `fetch_all` hands its results (the catalog's store, in `registry.sync`)."""

    def listed(self) -> None:
        """One more distinct repo was listed."""

    def skip_unchanged(self, repo_id: str, meta: dict[str, Any] | None) -> None:
        """A repo whose listed sha is the known one: nothing fetched."""

    def write(self, batch: list[FetchResult]) -> None:
        """A batch of results (downloads, failures, recalled failures) to keep."""

    def finish(self) -> None:
        """The listing is exhausted and every result was written."""


def fetch_all(
    items: Iterable[Listed], worker: Fetcher, store: Sink, *, workers: int, batch_size: int
) -> str | None:
    """List, decide, fan out downloads and hand batches to `store`; returns the listing error,
    if any (what was fetched before it is still handed over)."""
    # Enough queued work that the workers stay busy while a batch is being stored, and a bound
    # on what waits in memory when storing is slower than downloading.
    max_pending = max(workers * 16, batch_size * 2)
    seen: set[str] = set()
    pending: set[Future[FetchResult]] = set()
    ready: list[FetchResult] = []
    error: str | None = None

    def harvest(block: bool) -> None:
        nonlocal pending
        if not pending:
            return
        done, pending = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        ready.extend(f.result() for f in done)
        flush(full_only=True)

    def flush(*, full_only: bool) -> None:
        while len(ready) >= batch_size or (ready and not full_only):
            store.write(ready[:batch_size])
            del ready[:batch_size]

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scrape")
    try:
        try:
            for item in _prefetching(items, worker.known):
                if item.repo_id in seen:
                    continue
                seen.add(item.repo_id)
                store.listed()
                if item.sha and worker.known.get(item.repo_id) == item.sha:
                    store.skip_unchanged(item.repo_id, item.meta)
                    continue
                recalled = worker.recall(item.repo_id, item.sha, item.meta)
                if recalled is not None:
                    ready.append(recalled)
                    flush(full_only=True)
                    continue
                pending.add(pool.submit(worker.process, item))
                harvest(block=len(pending) >= max_pending)
        except ScrapeFailed:
            raise
        except Exception as exc:  # the listing failed: keep what was fetched, then report
            error = listing_error(exc, worker.options)
        while pending:
            harvest(block=True)
        flush(full_only=False)
        store.finish()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return error


def listing_error(exc: Exception, options: HubOptions) -> str:
    from scrapers.download import classify

    try:
        reason = classify(exc).reason
    except Exception:
        raise exc from None  # not a Hub or network failure: a bug, keep the traceback
    text = " ".join(str(exc).split())[:300]
    return options.redact(
        f"Listing models at {options.endpoint} failed ({reason}: {text}); check --endpoint / "
        "HF_ENDPOINT and the network, then rerun (stored models are kept)."
    )


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """The Hub cache the client would use: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/..."""
    env = environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    home = env.get("HF_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "huggingface",
    )
    return Path(home).expanduser() / "hub"
