"""Fetching one Hub file with the real `huggingface_hub` HTTP stack: pinned, size-capped, retried.

One GET of `/{repo}/resolve/{sha}/{file}` per file (the client's `hf_hub_download` spends a HEAD
and a GET). The response goes through the client's `hf_raise_for_status`, so errors arrive as its
typed exceptions (GatedRepoError, RemoteEntryNotFoundError, ...). Files land in the standard Hub
cache layout (`models--ORG--NAME/blobs/ETAG`, `snapshots/SHA/FILE`) so `hf_hub_download` and
offline mode find them, and a file already cached at that sha costs no request at all.

Retries: 429 waits what the server asks (`RateLimit` reset when nothing is left, else
`Retry-After`) and pauses every worker sharing the same `Pacer`; 408/5xx, timeouts and dropped or
truncated connections back off exponentially (`backoff_base * 2**n`, capped).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import httpx2

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SAFE_ETAG = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try; `backoff_base` is small in tests and 1 s against the real Hub."""

    max_retries: int = 5  # retries of 408/5xx, timeouts and broken connections
    backoff_base: float = 1.0  # seconds before the first retry; doubles each time
    backoff_max: float = 8.0  # longest backoff
    max_rate_retries: int = 10  # 429 answers honoured per request before giving up
    max_rate_wait: float = 300.0  # a 429 asking for a longer wait fails the request instead


class FetchFailed(Exception):
    """A request that failed for good: `reason` is a short code for `record_error`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Pacer:
    """A pause shared by every worker: after a 429 nobody sends until the server's wait is over."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._resume_at = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds asked for by rate limits

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)
            self.waited += seconds

    def wait(self) -> None:
        while True:
            with self._lock:
                delay = self._resume_at - time.monotonic()
            if delay <= 0:
                return
            self._sleep(delay)


@dataclass(frozen=True)
class Fetched:
    raw: bytes
    commit_sha: str | None
    etag: str | None
    from_cache: bool


@dataclass(frozen=True)
class _Decision:
    reason: str
    retry: bool
    wait: float | None = None  # seconds the server asked for (429)


def classify(exc: BaseException) -> _Decision:
    """Map a client or transport exception to a reason and whether retrying can help."""
    import httpx2
    from huggingface_hub.errors import (
        DisabledRepoError,
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, FetchFailed):
        return _Decision(exc.reason, retry=exc.reason in ("truncated", "timeout"))
    if isinstance(exc, GatedRepoError):
        return _Decision("gated", retry=False)
    if isinstance(exc, DisabledRepoError):
        return _Decision("disabled", retry=False)
    if isinstance(exc, RevisionNotFoundError):
        return _Decision("revision-not-found", retry=False)
    if isinstance(exc, EntryNotFoundError):
        return _Decision("missing-config", retry=False)
    if isinstance(exc, RepositoryNotFoundError):
        return _Decision("not-found", retry=False)
    if isinstance(exc, OfflineModeIsEnabled):
        return _Decision("offline", retry=False)
    if isinstance(exc, HfHubHTTPError):
        response = exc.response
        status = response.status_code if response is not None else 0
        if status == 429 and response is not None:
            return _Decision("rate-limited", retry=True, wait=_rate_wait(response))
        return _Decision(f"http-{status}", retry=status in RETRY_STATUSES)
    if isinstance(exc, httpx2.TimeoutException):
        return _Decision("timeout", retry=True)
    if isinstance(exc, httpx2.RemoteProtocolError):
        return _Decision("connection", retry=True)
    if isinstance(exc, httpx2.NetworkError):
        return _Decision("connection", retry=True)
    if isinstance(exc, ValueError | RecursionError):
        # The answer's JSON could not be parsed (too deep, a number past the interpreter's
        # int-to-str limit, not JSON): the same answer would come again.
        return _Decision("bad-answer", retry=False)
    raise exc


def _rate_wait(response: httpx2.Response) -> float | None:
    from huggingface_hub.utils import parse_ratelimit_headers

    info = parse_ratelimit_headers(response.headers)
    if info is not None and info.remaining == 0:
        return float(info.reset_in_seconds)
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def with_retries(
    attempt: Callable[[], T],
    *,
    policy: RetryPolicy,
    pacer: Pacer,
    redact: Callable[[str], str],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `attempt` until it succeeds or fails for good.

    Raises:
        FetchFailed: with the reason of the last failure (its detail passed through `redact`).
    """
    failures = rate_hits = 0
    while True:
        pacer.wait()
        try:
            return attempt()
        except Exception as exc:
            decision = classify(exc)
            detail = redact(_describe(exc))
            if not decision.retry:
                raise FetchFailed(decision.reason, detail) from None
            if decision.reason == "rate-limited":
                rate_hits += 1
                wait = decision.wait if decision.wait is not None else policy.backoff_base
                if rate_hits > policy.max_rate_retries or wait > policy.max_rate_wait:
                    raise FetchFailed("rate-limited", detail) from None
                pacer.hold(wait)
                continue
            failures += 1
            if failures > policy.max_retries:
                raise FetchFailed(decision.reason, detail) from None
            sleep(min(policy.backoff_max, policy.backoff_base * 2 ** (failures - 1)))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FetchFailed):
        return exc.detail
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- the Hub cache -------------------------------------------------------------------------------


def _repo_cache(cache_dir: Path, repo_id: str) -> Path:
    from huggingface_hub.file_download import repo_folder_name

    return cache_dir / repo_folder_name(repo_id=repo_id, repo_type="model")


def read_cached(
    cache_dir: Path, repo_id: str, filename: str, commit: str, max_bytes: int
) -> Fetched | FetchFailed | None:
    """The cached file at `commit`, a FetchFailed when the cache knows it is missing, or None."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir, revision=commit)
    if found is None:
        return None
    if not isinstance(found, str):
        return FetchFailed("missing-config", f"no {filename} at {commit} (cached answer)")
    path = Path(found)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError:
        return None
    if len(raw) > max_bytes:
        return FetchFailed("too-large", f"more than {max_bytes} bytes")
    etag = path.resolve().name if path.is_symlink() else None
    return Fetched(raw, commit, etag, from_cache=True)


def write_cached(cache_dir: Path, repo_id: str, filename: str, fetched: Fetched) -> None:
    """Put a fetched file into the Hub cache layout; a cache that cannot be written is skipped."""
    if fetched.commit_sha is None or not _COMMIT.match(fetched.commit_sha):
        return
    etag = fetched.etag if fetched.etag and _SAFE_ETAG.match(fetched.etag) else None
    repo_dir = _repo_cache(cache_dir, repo_id)
    snapshot = repo_dir / "snapshots" / fetched.commit_sha / filename
    try:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        if etag is None:
            _atomic_write(snapshot, fetched.raw)
            return
        blob = repo_dir / "blobs" / etag
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.exists():
            _atomic_write(blob, fetched.raw)
        link = snapshot.with_name(snapshot.name + ".tmp-link")
        link.unlink(missing_ok=True)
        try:
            os.symlink(os.path.relpath(blob, snapshot.parent), link)
            os.replace(link, snapshot)
        except OSError:  # no symlinks here (like HF_HUB_DISABLE_SYMLINKS): keep a copy
            link.unlink(missing_ok=True)
            _atomic_write(snapshot, fetched.raw)
    except OSError:
        return


def write_missing(cache_dir: Path, repo_id: str, filename: str, commit: str | None) -> None:
    """The client's `.no_exist` marker: the file is known to be absent at `commit`."""
    if commit is None or not _COMMIT.match(commit):
        return
    marker = _repo_cache(cache_dir, repo_id) / ".no_exist" / commit / filename
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        return


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# --- one GET -------------------------------------------------------------------------------------


def get_file(
    repo_id: str,
    filename: str,
    *,
    revision: str,
    endpoint: str,
    token: str | None,
    timeout: float,
    max_bytes: int,
    cache_dir: Path | None = None,
) -> Fetched:
    """One GET of a file at `revision`, read in chunks up to `max_bytes`.

    Raises:
        FetchFailed: too-large, or truncated (the body ended before its Content-Length).
        huggingface_hub errors and httpx2 transport errors, for `with_retries` to judge.
    """
    from huggingface_hub import hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    url = hf_hub_url(repo_id, filename, revision=revision, endpoint=endpoint)
    headers = build_hf_headers(token=token or False, library_name="ropedex")
    headers["Accept-Encoding"] = "identity"
    client = get_session()
    with client.stream(
        "GET", url, headers=headers, timeout=timeout, follow_redirects=True
    ) as response:
        if response.status_code >= 400:
            response.read()
            try:
                hf_raise_for_status(response)
            except EntryNotFoundError:
                if cache_dir is not None:
                    commit = response.headers.get("X-Repo-Commit")
                    write_missing(cache_dir, repo_id, filename, commit)
                raise
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise FetchFailed("too-large", f"{declared} bytes, more than {max_bytes}")
        raw = _read_body(response, max_bytes, deadline=time.monotonic() + timeout)
        received = response.num_bytes_downloaded
        if declared is not None and declared.isdigit() and received != int(declared):
            raise FetchFailed("truncated", f"got {received} of {declared} bytes")
        etag = response.headers.get("X-Linked-Etag") or response.headers.get("ETag")
        commit = response.headers.get("X-Repo-Commit")
    fetched = Fetched(raw, commit or None, _clean_etag(etag), from_cache=False)
    if cache_dir is not None:
        write_cached(cache_dir, repo_id, filename, fetched)
    return fetched


def _read_body(response: httpx2.Response, max_bytes: int, *, deadline: float) -> bytes:
    """The body, decoded, at most `max_bytes`; a connection that breaks mid-body is `truncated`
    and a body still trickling in at `deadline` is a `timeout`."""
    import httpx2

    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FetchFailed("too-large", f"more than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchFailed("timeout", f"body still arriving after {size} bytes")
            chunks.append(chunk)
    except (httpx2.RemoteProtocolError, httpx2.ReadError) as exc:
        got = response.num_bytes_downloaded
        raise FetchFailed("truncated", f"connection closed after {got} bytes ({exc})") from None
    return b"".join(chunks)


def _clean_etag(etag: str | None) -> str | None:
    if not etag:
        return None
    etag = etag.removeprefix("W/").strip('"')
    return etag or None
