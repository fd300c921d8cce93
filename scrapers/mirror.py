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

import hashlib
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from scrapers.configfile import (
    MAX_CONFIG_BYTES,
    MAX_HUB_JSON_BYTES,
    ConfigRejected,
    parse_config,
    parse_hub_json,
)
from scrapers.faults import Fault, FaultPlan
from scrapers.hubtree import is_valid_repo_id

META_FILE = "hub.json"
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


@dataclass(frozen=True)
class RepoEntry:
    """One repo as the mirror sees it: its files, commit sha and Hub metadata."""

    repo_id: str
    sha: str
    files: dict[str, Path]  # repo-relative name -> real file inside the root
    meta: dict[str, Any]  # Hub API shape, every served property present
    etags: dict[str, str] = field(default_factory=dict)  # name -> git blob sha (the ETag)

    @property
    def gated(self) -> bool:
        return bool(self.meta.get("gated"))

    @property
    def private(self) -> bool:
        return bool(self.meta.get("private"))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def git_blob_sha(data: bytes) -> str:
    """The git object id of a blob: what the Hub sends as the ETag of a small file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class HubFolder:
    """Index of a Hub-like folder; re-reads a repo only when its files' sizes or mtimes change."""

    def __init__(self, root: Path, on_problem: Callable[[str, str], None] | None = None) -> None:
        self.root = Path(root).resolve()
        self._cache: dict[str, tuple[tuple[Any, ...], RepoEntry]] = {}
        self._lock = threading.Lock()
        self.on_problem = on_problem
        self.problems: dict[str, list[str]] = {}  # repo id -> what could not be served

    def repo_ids(self) -> list[str]:
        """Every valid `ORG/NAME` folder, sorted."""
        ids = []
        for org in sorted(os.scandir(self.root), key=lambda e: e.name):
            if not org.is_dir():
                continue
            for name in sorted(os.scandir(org.path), key=lambda e: e.name):
                repo_id = f"{org.name}/{name.name}"
                if name.is_dir() and is_valid_repo_id(repo_id):
                    ids.append(repo_id)
        return ids

    def listing(self, query: dict[str, list[str]]) -> Sequence[RepoEntry] | None:
        """A ready listing for `query` (a synthetic Hub computes its pages); None: filter here."""
        return None

    def repo(self, repo_id: str) -> RepoEntry | None:
        """The repo's entry, or None when it is absent, invalid or empty."""
        if not is_valid_repo_id(repo_id):
            return None
        folder = self.root / repo_id
        if not folder.is_dir() or not self._inside(folder, check=folder.parent.is_symlink()):
            return None
        try:
            found = self._walk(folder)
        except OSError as exc:
            self._report(repo_id, [f"the folder cannot be read ({exc.strerror}); not served"])
            return None
        if not found:
            return None
        signature = tuple(sorted((name, size, mtime) for name, (_, size, mtime) in found.items()))
        with self._lock:
            cached = self._cache.get(repo_id)
        if cached and cached[0] == signature:
            return cached[1]
        entry = self._read(repo_id, {name: path for name, (path, _, _) in found.items()})
        with self._lock:
            self._cache[repo_id] = (signature, entry)
        return entry

    def _inside(self, path: Path, *, check: bool = True) -> bool:
        """Whether `path` stays inside the root once symlinks are followed."""
        if not (check or path.is_symlink()):
            return True
        try:
            return path.resolve().is_relative_to(self.root)
        except OSError:
            return False

    def _walk(self, folder: Path) -> dict[str, tuple[Path, int, int]]:
        """Regular files under `folder` (name -> real path, size, mtime); symlinks are followed
        only when they stay inside the root, hidden folders are skipped."""
        found: dict[str, tuple[Path, int, int]] = {}
        pending = [(folder, "")]
        while pending:
            directory, prefix = pending.pop()
            for item in os.scandir(directory):
                path = Path(item.path)
                if item.is_symlink() and not self._inside(path):
                    continue
                if item.is_dir():
                    if not item.name.startswith("."):
                        pending.append((path, f"{prefix}{item.name}/"))
                elif item.is_file():
                    st = item.stat()
                    real = path.resolve() if item.is_symlink() else path
                    found[prefix + item.name] = (real, st.st_size, st.st_mtime_ns)
        return found

    def _read(self, repo_id: str, files: dict[str, Path]) -> RepoEntry:
        """The entry of one repo. Nothing in its files can break the mirror: a file that cannot
        be read or a hub.json that cannot be used is noted in `problems` (and `on_problem`),
        and the repo is served without it."""
        problems: list[str] = []
        meta: dict[str, Any] = {}
        meta_path = files.pop(META_FILE, None)
        hasher = hashlib.sha1(usedforsecurity=False)
        newest = 0.0
        etags: dict[str, str] = {}
        for name, path in sorted(files.items()):
            try:
                blob = _blob_id(path)
                etags[name] = blob
                newest = max(newest, path.stat().st_mtime)
            except OSError as exc:
                problems.append(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})")
                del files[name]
                continue
            hasher.update(name.encode() + b"\0" + blob.encode() + b"\n")
        if meta_path is not None:
            try:
                meta = parse_hub_json(_read_capped(meta_path, MAX_HUB_JSON_BYTES))
            except ConfigRejected as exc:
                problems.append(f"{META_FILE}: {exc.reason}: {exc.detail}; served without it")
            except OSError as exc:
                problems.append(f"{META_FILE}: cannot be read ({exc.strerror}); served without it")
        sha = meta.get("sha")
        if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40}", sha)):
            sha = hasher.hexdigest()
        full, dropped = _full_meta(repo_id, sha, meta, files, newest)
        problems.extend(f"{META_FILE}: {key} has an unusable value; left out" for key in dropped)
        self._report(repo_id, problems)
        return RepoEntry(repo_id, sha, files, full, etags)

    def _report(self, repo_id: str, problems: list[str]) -> None:
        with self._lock:
            if problems:
                self.problems[repo_id] = problems
            else:
                self.problems.pop(repo_id, None)
        if self.on_problem is not None:
            for problem in problems:
                self.on_problem(repo_id, problem)


MAX_HASHED_BYTES = 64 * 1024 * 1024  # bigger files (weights) are identified by size and mtime


def _blob_id(path: Path) -> str:
    st = path.stat()
    if st.st_size > MAX_HASHED_BYTES:
        return f"size-{st.st_size}-mtime-{st.st_mtime_ns}"
    return git_blob_sha(path.read_bytes())


def _read_capped(path: Path, cap: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(cap + 1)


def _config_summary(files: dict[str, Path]) -> dict[str, Any] | None:
    path = files.get("config.json")
    if path is None:
        return None
    try:
        config = parse_config(_read_capped(path, MAX_CONFIG_BYTES)).config
    except (ConfigRejected, OSError):
        return None
    summary: dict[str, Any] = {}
    if isinstance(config.get("model_type"), str):
        summary["model_type"] = config["model_type"]
    archs = config.get("architectures")
    if isinstance(archs, list) and all(isinstance(a, str) for a in archs):
        summary["architectures"] = archs
    return summary


def _count(value: Any) -> int | None:
    """A download or like count as the Hub sends it (a non-negative int), None when unusable."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


# hub.json keys served as written when they have the Hub's own type; others are left out.
_TYPED_KEYS: dict[str, tuple[type, ...]] = {
    "lastModified": (str,),
    "createdAt": (str,),
    "author": (str,),
    "pipeline_tag": (str,),
    "library_name": (str,),
    "cardData": (dict,),
    "config": (dict,),
    "trendingScore": (int, float),
}


def _full_meta(
    repo_id: str, sha: str, meta: dict[str, Any], files: dict[str, Path], newest: float
) -> tuple[dict[str, Any], list[str]]:
    """Every property the mirror serves, from hub.json where given, derived otherwise; and the
    hub.json keys left out because their value has the wrong type."""
    dropped = [
        key
        for key, types in _TYPED_KEYS.items()
        if meta.get(key) is not None
        and (not isinstance(meta[key], types) or isinstance(meta[key], bool))
    ]
    meta = {k: v for k, v in meta.items() if k not in dropped}
    counts = {}
    for key, source in (
        ("downloads", "downloads"),
        ("downloadsAllTime", "downloadsAllTime" if "downloadsAllTime" in meta else "downloads"),
        ("likes", "likes"),
    ):
        value = _count(meta.get(source))
        if value is None:
            if source not in dropped:
                dropped.append(source)
            value = 0
        counts[key] = value
    raw_tags = meta.get("tags")
    if raw_tags is not None and not (
        isinstance(raw_tags, list) and all(isinstance(t, str) for t in raw_tags)
    ):
        dropped.append("tags")
        raw_tags = None
    gated = meta.get("gated", False)
    if gated not in (False, True, "auto", "manual", None):
        dropped.append("gated")
        gated = False
    summary = _config_summary(files)
    model_type = (summary or {}).get("model_type")
    derived_tags = [model_type] if isinstance(model_type, str) else []
    last_modified = meta.get("lastModified") or _iso(newest)
    full = {
        "_id": hashlib.md5(repo_id.encode(), usedforsecurity=False).hexdigest()[:24],
        "id": repo_id,
        "modelId": repo_id,
        "author": meta.get("author") or repo_id.split("/")[0],
        "sha": sha,
        "lastModified": last_modified,
        "createdAt": meta.get("createdAt") or last_modified,
        "private": meta.get("private") is True,
        "gated": gated or False,
        "disabled": meta.get("disabled") is True,
        **counts,
        "trendingScore": meta.get("trendingScore", 0),
        "tags": list(derived_tags if raw_tags is None else raw_tags),
        "pipeline_tag": meta.get("pipeline_tag"),
        "library_name": meta.get("library_name"),
        "cardData": meta.get("cardData"),
        "config": meta.get("config", summary),
        "siblings": [{"rfilename": name} for name in sorted(files)],
    }
    return full, dropped


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
