"""Lay out a corpus of config files as a Hub-like tree (`ORG/NAME/config.json`).

The corpus is a folder of `*.json` files plus a `manifest.tsv` whose columns include `file` and
`hf_repo_id`. The tree is what `ropedex ingest` reads and what `ropedex mirror` serves.
"""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


@dataclass(frozen=True)
class TreeEntry:
    repo_id: str
    source: Path  # the corpus file
    config_path: Path  # where it lies in the tree


def is_valid_repo_id(repo_id: str) -> bool:
    """`ORG/NAME` with Hub-safe characters, no `..` and no path tricks."""
    parts = repo_id.split("/")
    return (
        len(parts) == 2
        and all(_REPO_PART.match(p) for p in parts)
        and ".." not in repo_id
        and not any(p.endswith(".") for p in parts)
    )


def read_manifest(corpus_dir: Path) -> list[tuple[str, Path]]:
    """(repo id, config file) pairs in manifest order; a repeated repo id gets `-rev2`, `-rev3`."""
    seen: dict[str, int] = {}
    pairs: list[tuple[str, Path]] = []
    with open(corpus_dir / "manifest.tsv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            repo_id = row["hf_repo_id"].strip()
            seen[repo_id] = seen.get(repo_id, 0) + 1
            if seen[repo_id] > 1:
                repo_id = f"{repo_id}-rev{seen[repo_id]}"
            if not is_valid_repo_id(repo_id):
                raise ValueError(f"manifest names an invalid repo id: {repo_id!r}")
            pairs.append((repo_id, corpus_dir / "configs" / row["file"]))
    return pairs


def build_hub_tree(corpus_dir: Path, out_dir: Path) -> list[TreeEntry]:
    """Copy every manifest config to `out_dir/ORG/NAME/config.json`; returns the entries."""
    entries = []
    for repo_id, source in read_manifest(corpus_dir):
        target = out_dir / repo_id / "config.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        entries.append(TreeEntry(repo_id, source, target))
    return entries
