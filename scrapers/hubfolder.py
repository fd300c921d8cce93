"""The mirror's view of a Hub-like folder: one `RepoEntry` per `ORG/NAME` folder, with its files,
commit sha and Hub metadata, re-read only when a file's size or mtime changes.

Nothing in a repo folder can break the index: a file that cannot be read, a poisoned
`config.json` or a `hub.json` with unusable values is noted as that repo's problem and the repo
is served without it (`HubFolder.problems`, `on_problem`).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapers.configfile import (
    MAX_CONFIG_BYTES,
    MAX_HUB_JSON_BYTES,
    ConfigRejected,
    parse_config,
    parse_hub_json,
)
from scrapers.hubtree import is_valid_repo_id

META_FILE = "hub.json"


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
