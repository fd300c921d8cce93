"""Reading a Hub-like folder tree: `ORG/NAME/config.json` plus an optional `ORG/NAME/hub.json`.

Symlinks leading out of the tree, FIFOs, devices and oversized files are never read; each
problem becomes a failure of that repository."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapers.configfile import MAX_CONFIG_BYTES, MAX_HUB_JSON_BYTES, ConfigRejected, parse_hub_json
from scrapers.records import HubMeta, RepoItem, Skipped

if TYPE_CHECKING:
    from scrapers.tagger.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]


@dataclass(frozen=True)
class TreeItem:
    repo_id: str
    folder: Path
    outside: bool = False  # the folder is a symlink leading out of the root: never read


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def iter_tree(root: Path) -> Iterator[TreeItem]:
    """Every `ORG/NAME` folder under `root` holding a config.json or hub.json, sorted. A NAME
    symlink leading out of `root` is yielded with `outside` set and never entered; an ORG
    symlink leading out is not listed at all."""
    real_root = root.resolve()
    for org in sorted(root.iterdir(), key=lambda p: p.name):
        if org.name.startswith(".") or not org.is_dir() or not _inside(org, real_root):
            continue
        for name in sorted(org.iterdir(), key=lambda p: p.name):
            if name.name.startswith(".") or not name.is_dir():
                continue
            repo_id = f"{org.name}/{name.name}"
            if not _inside(name, real_root):
                yield TreeItem(repo_id, name, outside=True)
            elif os.path.lexists(name / "config.json") or os.path.lexists(name / "hub.json"):
                yield TreeItem(repo_id, name)


def _read_capped(path: Path, root: Path, cap: int) -> bytes:
    """Bytes of a tree file (at most cap + 1). Raises ConfigRejected when it cannot be read."""
    if not os.path.lexists(path):
        raise ConfigRejected("missing-config", f"no {path.name} in the folder")
    if path.is_symlink():
        if not path.exists():
            raise ConfigRejected("unreadable", f"{path.name} is a broken symlink")
        if not _inside(path, root):
            raise ConfigRejected("unsafe-path", f"{path.name} links outside the ingested folder")
    if path.is_dir():
        raise ConfigRejected("unreadable", f"{path.name} is a directory, not a file")
    if not path.is_file():  # a FIFO or device would block or never end
        raise ConfigRejected("unreadable", f"{path.name} is not a regular file")
    try:
        with open(path, "rb") as fh:
            return fh.read(cap + 1)
    except OSError as exc:
        raise ConfigRejected("unreadable", exc.strerror or type(exc).__name__) from None


def _read_hub(folder: Path, root: Path) -> tuple[HubMeta | None, str | None]:
    path = folder / "hub.json"
    if not os.path.lexists(path):
        return None, None
    try:
        raw = _read_capped(path, root, MAX_HUB_JSON_BYTES)
        if len(raw) > MAX_HUB_JSON_BYTES:
            return None, f"hub.json is larger than {MAX_HUB_JSON_BYTES} bytes"
        value = parse_hub_json(raw)
    except ConfigRejected as exc:
        return None, f"hub.json: {exc.reason}: {exc.detail}"
    return HubMeta.from_api(value), None


def read_tree_item(item: TreeItem, root: Path) -> list[RepoItem] | Skipped:
    """What to store for one `ORG/NAME` folder (a bad hub.json adds a failure before the
    config), or the outcome of a folder that is skipped without any row."""
    from scrapers.hubtree import is_valid_repo_id

    if not is_valid_repo_id(item.repo_id):
        return Skipped(item.repo_id, "invalid-repo-id", "folder names no repo id")
    if item.outside:
        detail = "the folder links outside the ingested tree"
        return [RepoItem(item.repo_id, failure=("unsafe-path", detail))]
    hub, hub_problem = _read_hub(item.folder, root)
    items = []
    if hub_problem is not None:
        items.append(RepoItem(item.repo_id, failure=("bad-hub-json", hub_problem)))
    try:
        raw = _read_capped(item.folder / "config.json", root, MAX_CONFIG_BYTES)
    except ConfigRejected as exc:
        items.append(RepoItem(item.repo_id, hub=hub, failure=(exc.reason, exc.detail)))
    else:
        items.append(RepoItem(item.repo_id, raw=raw, hub=hub))
    return items
