"""A loopback Hub mirror: serves a folder laid out like the Hub over the Hub's HTTP API.

The folder holds `ORG/NAME/config.json` (and any other files) plus an optional `ORG/NAME/hub.json`
with model-info metadata in the Hub API's own shape (sha, lastModified, downloads, likes, tags,
pipeline_tag, gated, private, library_name, cardData, ...). Without a `sha` there, the commit sha
is derived from the repo folder's content, so editing a file looks like a new commit.

Endpoints (enough for `huggingface_hub`'s `list_models`, `model_info` and `hf_hub_download`):
`GET /api/models`, `GET /api/models/ORG/NAME[/revision/REV]`, `HEAD|GET /ORG/NAME/resolve/REV/FILE`
(single-span `Range` requests answered 206 with `Content-Range`, as the Hub's CDN does, so a GGUF
header can be read without its weights), with the Hub's `X-Error-Code` answers that the client
turns into its typed errors. Each answer's body size is recorded (`bytes_sent`). Repo ids are
checked with `is_valid_repo_id` and files are only ever served from an index built by walking the
folder, so no request can reach a path outside it.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from scrapers.faults import Fault, FaultPlan
from scrapers.hubfolder import (
    HubFolder,
    RepoEntry,
    git_blob_sha,
)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

# Properties `expand` may ask for (the subset of the Hub's list this mirror can answer).
EXPAND_PROPERTIES = (
    "author",
    "cardData",
    "config",
    "createdAt",
    "disabled",
    "downloads",
    "downloadsAllTime",
    "gated",
    "lastModified",
    "library_name",
    "likes",
    "pipeline_tag",
    "private",
    "sha",
    "siblings",
    "tags",
    "trendingScore",
)
_LIST_DEFAULT = (
    "likes",
    "downloads",
    "private",
    "pipeline_tag",
    "library_name",
    "tags",
    "createdAt",
)
_LIST_FULL = (*_LIST_DEFAULT, "author", "sha", "lastModified", "gated", "disabled", "siblings")
_INFO_DEFAULT = (*_LIST_FULL, "cardData", "config")
_SORT_KEYS = {
    "downloads": "downloads",
    "likes": "likes",
    "lastModified": "lastModified",
    "last_modified": "lastModified",
    "createdAt": "createdAt",
    "created_at": "createdAt",
    "trendingScore": "trendingScore",
    "trending_score": "trendingScore",
    "id": "id",
}


def _project(meta: dict[str, Any], props: Collection[str]) -> dict[str, Any]:
    out = {"_id": meta["_id"], "id": meta["id"]}
    if "id" in props or "modelId" in props or not props:
        out["modelId"] = meta["modelId"]
    out.update((p, meta[p]) for p in props if p in meta)
    return out


@dataclass
class RequestRecord:
    method: str
    path: str
    kind: str  # list | info | head | get | other
    repo_id: str | None
    status: int
    authorized: bool  # an Authorization header was sent
    bytes_sent: int = 0  # body bytes of the answer
    at: float = field(default_factory=time.monotonic)  # when the answer was done


class BadRequest(Exception):
    """A query the Hub would answer with 400."""


class MirrorServer(ThreadingHTTPServer):
    """The HTTP server plus what the handler needs: the folder, faults, tokens and counters."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        folder: HubFolder,
        *,
        faults: FaultPlan | None = None,
        tokens: Collection[str] = (),
        page_size: int = DEFAULT_PAGE_SIZE,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.folder = folder
        self.faults = faults or FaultPlan()
        self.tokens = frozenset(tokens)
        self.page_size = page_size
        self.on_request = on_request
        self.counts: Counter[str] = Counter()
        self.requests: list[RequestRecord] = []
        self._count_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is normal (killed scrapers, timeouts): stay quiet."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def record(self, record: RequestRecord) -> None:
        with self._count_lock:
            self.counts[record.kind] += 1
            self.requests.append(record)
        if self.on_request is not None:
            self.on_request(record)

    def reset_counts(self) -> None:
        with self._count_lock:
            self.counts.clear()
            self.requests.clear()

    def bytes_sent(self, repo_id: str | None = None) -> int:
        """Body bytes of every answer (about repo `repo_id` only, when given) so far."""
        with self._count_lock:
            return sum(
                r.bytes_sent for r in self.requests if repo_id is None or r.repo_id == repo_id
            )

    def downloads(self, repo_id: str | None = None) -> int:
        """GETs of files (repo `repo_id` only, when given) answered so far."""
        with self._count_lock:
            return sum(
                1
                for r in self.requests
                if r.kind == "get" and (repo_id is None or r.repo_id == repo_id)
            )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real client expects
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stalls
    server: MirrorServer
    server_version = "ropedex-mirror"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        """Requests are reported through `MirrorServer.on_request`, not stderr."""

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    # -- routing ---------------------------------------------------------------------------

    def _dispatch(self, *, head: bool) -> None:
        split = urlsplit(self.path)
        parts = [unquote(p) for p in split.path.split("/")[1:]]
        self._kind, self._repo, self._status = "other", None, 0
        self._body_bytes = 0
        self._recorded = False
        try:
            if parts[:2] == ["api", "models"] and not head:
                if len(parts) == 2 or parts[2:] == [""]:
                    self._kind = "list"
                    if not self._delay_or_fault():
                        self._list(parse_qs(split.query))
                    return
                rest = parts[2:]
                if len(rest) == 2 or (len(rest) == 4 and rest[2] == "revision"):
                    self._kind, self._repo = "info", "/".join(rest[:2])
                    revision = rest[3] if len(rest) == 4 else None
                    if not self._delay_or_fault():
                        self._info(revision, parse_qs(split.query))
                    return
            if len(parts) >= 5 and parts[2] == "resolve":
                self._kind = "head" if head else "get"
                self._repo = "/".join(parts[:2])
                filename = "/".join(parts[4:])
                if not self._delay_or_fault(filename):
                    self._resolve(parts[3], filename, head=head)
                return
            self._send_error(404, None, "Not Found")
        except BadRequest as exc:
            self._send_error(400, None, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self._record()

    def _record(self) -> None:
        """Count this request once, before its body goes out (so a client never sees an answer
        the counters do not hold yet)."""
        if getattr(self, "_recorded", False):
            return
        self._recorded = True
        self.server.record(
            RequestRecord(
                self.command,
                urlsplit(self.path).path,
                self._kind,
                self._repo,
                self._status,
                "Authorization" in self.headers,
                getattr(self, "_body_bytes", 0),
            )
        )

    def _delay_or_fault(self, filename: str | None = None) -> bool:
        """Sleep the plan's latency; answer with a fault when one fires (True: answered)."""
        plan = self.server.faults
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000.0)
        self._fault = plan.pick(self._kind, self._repo, filename)
        if self._fault is None or self._fault.action in ("truncate", "slow"):
            return False  # body faults act while sending
        fault = self._fault
        if fault.action == "drop":
            self._status = -1
            self._record()
            self.close_connection = True
        elif fault.action == "ratelimit":
            self._send_ratelimited(fault)
        else:
            self._send_error(fault.status, None, "Injected server error")
        return True

    # -- endpoints -------------------------------------------------------------------------

    def _list(self, query: dict[str, list[str]]) -> None:
        entries = self._select(query)
        page_size = min(self._int(query, "limit") or self.server.page_size, MAX_PAGE_SIZE)
        page = self._int(query, "p") or 0
        chunk = entries[page * page_size : (page + 1) * page_size]
        props = self._props(query, default=_LIST_DEFAULT, full=_LIST_FULL)
        if query.get("cardData", [""])[0].lower() == "true" and not query.get("expand"):
            props = (*props, "cardData")
        if query.get("config", [""])[0].lower() == "true" and not query.get("expand"):
            props = (*props, "config")
        headers = {}
        if (page + 1) * page_size < len(entries):
            nxt = {k: v for k, v in query.items() if k != "p"}
            nxt["p"] = [str(page + 1)]
            headers["Link"] = (
                f'<{self._base()}/api/models?{urlencode(nxt, doseq=True)}>; rel="next"'
            )
        self._send_json([_project(e.meta, props) for e in chunk], headers)

    def _select(self, query: dict[str, list[str]]) -> Sequence[RepoEntry]:
        folder = self.server.folder
        ready = folder.listing(query)
        if ready is not None:
            return ready
        entries = [e for rid in folder.repo_ids() if (e := folder.repo(rid)) is not None]
        entries = [e for e in entries if not e.private or self._authorized()]
        author = _first(query, "author")
        search = _first(query, "search")
        pipeline = _first(query, "pipeline_tag")
        gated = _first(query, "gated")
        filters = query.get("filter", [])
        if author:
            entries = [e for e in entries if e.repo_id.split("/")[0].lower() == author.lower()]
        if search:
            entries = [e for e in entries if search.lower() in e.repo_id.lower()]
        if pipeline:
            entries = [e for e in entries if e.meta.get("pipeline_tag") == pipeline]
        if gated is not None:
            entries = [e for e in entries if e.gated == (gated.lower() == "true")]
        for tag in filters:
            entries = [e for e in entries if tag in _tag_set(e.meta)]
        sort = _first(query, "sort")
        if sort is not None:
            key = _SORT_KEYS.get(sort)
            if key is None:
                raise BadRequest(f"Invalid sort parameter: {sort}")
            descending = (query.get("direction") or ["-1"])[0] != "1"
            entries.sort(key=lambda e: (e.meta.get(key) or 0, e.repo_id), reverse=descending)
        return entries

    def _info(self, revision: str | None, query: dict[str, list[str]]) -> None:
        entry = self._visible_repo()
        if entry is None:
            return
        if revision is not None and revision not in ("main", entry.sha):
            self._send_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        self._send_json(_project(entry.meta, self._props(query, _INFO_DEFAULT, _INFO_DEFAULT)))

    def _resolve(self, revision: str, filename: str, *, head: bool) -> None:
        entry = self._visible_repo()
        if entry is None:
            return
        if entry.gated and not self._authorized():
            status = 403 if "Authorization" in self.headers else 401
            self._send_error(status, "GatedRepo", "Access to this model is restricted.")
            return
        if revision not in ("main", entry.sha):
            self._send_error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        path = entry.files.get(filename)
        commit = {"X-Repo-Commit": entry.sha}
        if path is None:
            self._send_error(404, "EntryNotFound", "Entry not found", commit)
            return
        ctype = "application/json" if filename.endswith(".json") else "application/octet-stream"
        try:
            etag = entry.etags.get(filename) or git_blob_sha(path.read_bytes())
            size = path.stat().st_size
            wanted = self.headers.get("Range")
            span = parse_range(wanted, size) if wanted is not None else None
            if wanted is None:
                data = path.read_bytes()
            elif span is not None:
                with open(path, "rb") as fh:
                    fh.seek(span[0])
                    data = fh.read(span[1] - span[0] + 1)
        except OSError as exc:
            self._send_error(500, None, f"{filename} cannot be read ({exc.strerror})", commit)
            return
        headers = {**commit, "ETag": f'"{etag}"', "Content-Type": ctype, "Accept-Ranges": "bytes"}
        if wanted is None:
            self._send(200, data, headers, head=head)
            return
        if span is None:
            self._send_error(
                416, None, "Range Not Satisfiable", {"Content-Range": f"bytes */{size}"}
            )
            return
        headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{size}"
        self._send(206, data, headers, head=head)

    # -- helpers ---------------------------------------------------------------------------

    def _visible_repo(self) -> RepoEntry | None:
        """The requested repo, or None after answering RepoNotFound (missing or private)."""
        entry = self.server.folder.repo(self._repo or "")
        if entry is None or (entry.private and not self._authorized()):
            status = 401 if entry is not None and "Authorization" not in self.headers else 404
            self._send_error(status, "RepoNotFound", "Repository not found")
            return None
        return entry

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[len("Bearer ") :] in self.server.tokens

    def _props(
        self, query: dict[str, list[str]], default: tuple[str, ...], full: tuple[str, ...]
    ) -> tuple[str, ...]:
        expand = [p for value in query.get("expand", []) for p in value.split(",") if p]
        if expand:
            unknown = [p for p in expand if p not in EXPAND_PROPERTIES]
            if unknown:
                raise BadRequest(f"Invalid expand parameter: {', '.join(unknown)}")
            return tuple(expand)
        if query.get("full", [""])[0].lower() in ("true", "1"):
            return full
        return default

    @staticmethod
    def _int(query: dict[str, list[str]], key: str) -> int | None:
        values = query.get(key)
        if not values:
            return None
        try:
            value = int(values[0])
        except ValueError:
            raise BadRequest(f"Invalid {key} parameter: {values[0]}") from None
        if value < 0:
            raise BadRequest(f"Invalid {key} parameter: {value}")
        return value

    def _base(self) -> str:
        """The bound address: the request's Host header is never echoed into a link."""
        return self.server.base_url

    def _send_json(self, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self._send(200, body, {"Content-Type": "application/json", **(headers or {})})

    def _send_error(
        self, status: int, code: str | None, message: str, extra: dict[str, str] | None = None
    ) -> None:
        headers = {"Content-Type": "application/json", **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        headers["X-Error-Message"] = message
        self._send(
            status, json.dumps({"error": message}).encode(), headers, head=self.command == "HEAD"
        )

    def _send_ratelimited(self, fault: Fault) -> None:
        bucket = "resolvers" if self._kind in ("head", "get") else "api"
        wait = fault.retry_after
        self._send_error(
            429,
            None,
            "Too Many Requests",
            {
                "Retry-After": str(wait),
                "RateLimit": f'"{bucket}";r=0;t={wait}',
                "RateLimit-Policy": f'"fixed window";"{bucket}";q=3000;w=300',
            },
        )

    def _send(
        self, status: int, body: bytes, headers: dict[str, str], *, head: bool = False
    ) -> None:
        self._status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self._body_bytes = 0 if head else len(body)
        self._record()
        self.end_headers()
        if head:
            return
        fault = getattr(self, "_fault", None)
        if status == 200 and fault is not None and fault.action == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif status == 200 and fault is not None and fault.action == "slow":
            step = max(1, fault.bytes_per_second // 10)
            for start in range(0, len(body), step):
                self.wfile.write(body[start : start + step])
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self.wfile.write(body)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) of a single-span `Range` header within a file of `size`
    bytes, or None when it cannot be served (416). Multi-span ranges are not served."""
    match = _RANGE.match(value.strip())
    if match is None or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if not first:  # suffix: the last N bytes
        count = int(last)
        return (max(0, size - count), size - 1) if count and size else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _tag_set(meta: dict[str, Any]) -> set[str]:
    tags = set(meta.get("tags") or [])
    tags.update(v for v in (meta.get("pipeline_tag"), meta.get("library_name")) if v)
    return tags


def make_server(
    root: Path | str,
    *,
    faults: FaultPlan | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    tokens: Collection[str] = (),
    page_size: int = DEFAULT_PAGE_SIZE,
    on_request: Callable[[RequestRecord], None] | None = None,
    on_problem: Callable[[str, str], None] | None = None,
) -> MirrorServer:
    """A bound (not yet serving) mirror of `root`; port 0 picks a free port."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"mirror root {root} is not a folder")
    return MirrorServer(
        (host, port),
        HubFolder(root, on_problem),
        faults=faults,
        tokens=tokens,
        page_size=page_size,
        on_request=on_request,
    )


@contextmanager
def serve_in_thread(
    root: Path | str,
    *,
    faults: FaultPlan | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    tokens: Collection[str] = (),
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Iterator[tuple[MirrorServer, str]]:
    """Serve `root` from a background thread; yields (server, base URL) and stops on exit."""
    server = make_server(
        root, faults=faults, host=host, port=port, tokens=tokens, page_size=page_size
    )
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="hub-mirror", daemon=True
    )
    thread.start()
    try:
        yield server, server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
