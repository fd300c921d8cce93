"""A synthetic Hub: a listing of N generated repos served by the mirror, with no folder per repo.

It stands in for the whole Hub (about two million models) in tests and benchmarks. Repo `i` is
`synth-OOO/model-IIIIIII`; its config is one of a few generated templates, its commit sha and
`lastModified` follow from `(seed, i, version)`. Generation 0 is the first night; each later
generation changes a `churn` fraction of the repos (a new commit: new sha, new `lastModified`,
an edited `rope_theta`), as a night on the Hub would.

The listing is ordered newest first (the Hub's `sort=lastModified`): repos changed in the
newest generation, then those of older generations, then the never-changed ones, oldest last.
Pages are computed on demand from that order, so serving page k of a million-repo listing costs
the same as page 0. Filters other than the sort are not applied (every repo is listed).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, overload

from scrapers.faults import FaultPlan
from scrapers.hubfolder import HubFolder, RepoEntry, _full_meta
from scrapers.mirror import MAX_PAGE_SIZE, MirrorServer, RequestRecord

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # generation 0's newest repo
DAY = timedelta(days=1)
_NAME = re.compile(r"^synth-(\d{3})/model-(\d{7})$")

# The few configs the generated repos share (written here, not taken from any model).
_TEMPLATES: tuple[dict[str, Any], ...] = (
    {"model_type": "llama", "rope_theta": 500000.0, "max_position_embeddings": 131072,
     "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}},
    {"model_type": "qwen2", "rope_theta": 1000000.0, "max_position_embeddings": 32768},
    {"model_type": "mistral", "rope_theta": 10000.0, "max_position_embeddings": 32768},
    {"model_type": "qwen3", "rope_theta": 1000000.0, "max_position_embeddings": 40960,
     "rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                      "original_max_position_embeddings": 32768}},
)  # fmt: skip
_SHAPE = {
    "architectures": None,
    "hidden_size": 2048,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "num_hidden_layers": 24,
    "intermediate_size": 8192,
    "vocab_size": 32000,
}


def repo_name(index: int) -> str:
    return f"synth-{index % 1000:03d}/model-{index:07d}"


def repo_index(repo_id: str, count: int) -> int | None:
    match = _NAME.match(repo_id)
    if match is None:
        return None
    index = int(match.group(2))
    if index >= count or int(match.group(1)) != index % 1000:
        return None
    return index


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class SyntheticHub(HubFolder):
    """`count` generated repos at `generation`; `workdir` holds the template config files."""

    def __init__(
        self, count: int, workdir: Path, *, generation: int = 0, churn: float = 0.01, seed: int = 0
    ) -> None:
        if count < 1 or not 0.0 <= churn <= 1.0 or generation < 0:
            raise ValueError("count must be >= 1, churn in [0, 1], generation >= 0")
        Path(workdir).mkdir(parents=True, exist_ok=True)
        super().__init__(workdir)
        self.count, self.generation, self.churn, self.seed = count, generation, churn, seed
        # changed[h]: repos given a new commit in generation h (h >= 1), in listing order.
        self.version: dict[int, int] = {}  # repo index -> last generation that changed it
        changed: dict[int, list[int]] = {}
        per_generation = round(count * churn)
        for h in range(1, generation + 1):
            picked = random.Random(f"{seed}:{h}").sample(range(count), per_generation)
            changed[h] = picked
            for i in picked:
                self.version[i] = h
        # Newest first: generation G's changes, then older generations' (a repo changed again
        # later is listed only there), then the never-changed repos in index order.
        self._head = [
            i for h in range(generation, 0, -1) for i in changed[h] if self.version[i] == h
        ]
        self._rank = {i: r for r, i in enumerate(self._head)}
        self._skipped = sorted(self.version)  # indices not in the tail
        self._files: dict[tuple[int, int], Path] = {}

    # -- what the mirror asks ------------------------------------------------------------

    def repo_ids(self) -> list[str]:
        return [repo_name(i) for i in self.order()]

    def repo(self, repo_id: str) -> RepoEntry | None:
        index = repo_index(repo_id, self.count)
        return None if index is None else self.entry(index)

    def listing(self, query: dict[str, list[str]]) -> Sequence[RepoEntry]:
        return _Listing(self)

    # -- the model -----------------------------------------------------------------------

    def order(self) -> _Order:
        return _Order(self)

    def index_at(self, position: int) -> int:
        """The repo at `position` of the newest-first listing."""
        if position < len(self._head):
            return self._head[position]
        k = position - len(self._head)  # the k-th index (0-based) not in `_skipped`
        index = k
        while True:
            below = bisect.bisect_right(self._skipped, index)
            if index - below == k and (below == 0 or self._skipped[below - 1] != index):
                return index
            index = k + below

    def last_modified(self, index: int) -> datetime:
        h = self.version.get(index, 0)
        if h == 0:
            return EPOCH - timedelta(seconds=index)
        return EPOCH + h * DAY - timedelta(seconds=self._rank.get(index, 0))

    def sha(self, index: int) -> str:
        version = self.version.get(index, 0)
        return hashlib.sha1(
            f"{self.seed}:{index}:{version}".encode(), usedforsecurity=False
        ).hexdigest()

    def config(self, index: int) -> dict[str, Any]:
        """The config repo `index` holds at this generation."""
        version = self.version.get(index, 0)
        template = dict(_TEMPLATES[index % len(_TEMPLATES)])
        template.update({k: v for k, v in _SHAPE.items() if v is not None})
        if version:
            template["rope_theta"] = float(template["rope_theta"]) * (1 + version)
        return template

    def entry(self, index: int) -> RepoEntry:
        repo_id, sha = repo_name(index), self.sha(index)
        files = {"config.json": self._template_file(index)}
        moment = _iso(self.last_modified(index))
        meta = {"lastModified": moment, "createdAt": _iso(EPOCH - timedelta(seconds=index))}
        full, _dropped = _full_meta(repo_id, sha, meta, files, 0.0)
        return RepoEntry(repo_id, sha, files, full)

    def _template_file(self, index: int) -> Path:
        key = (index % len(_TEMPLATES), self.version.get(index, 0))
        with self._lock:
            path = self._files.get(key)
            if path is None:
                path = self.root / f"template-{key[0]}-v{key[1]}.json"
                text = json.dumps(self.config(index), indent=1) + "\n"
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    path.write_text(text, encoding="utf-8")
                self._files[key] = path
        return path


class _Order(Sequence[int]):
    """Repo indices in listing order, computed per position."""

    def __init__(self, hub: SyntheticHub) -> None:
        self.hub = hub

    def __len__(self) -> int:
        return self.hub.count

    @overload
    def __getitem__(self, key: int) -> int: ...
    @overload
    def __getitem__(self, key: slice) -> list[int]: ...
    def __getitem__(self, key: int | slice) -> int | list[int]:
        if isinstance(key, slice):
            return [self.hub.index_at(p) for p in range(*key.indices(len(self)))]
        if not -len(self) <= key < len(self):
            raise IndexError(key)
        return self.hub.index_at(key % len(self))


class _Listing(Sequence[RepoEntry]):
    """Repo entries in listing order, built only for the page asked for."""

    def __init__(self, hub: SyntheticHub) -> None:
        self.order = _Order(hub)
        self.hub = hub

    def __len__(self) -> int:
        return len(self.order)

    @overload
    def __getitem__(self, key: int) -> RepoEntry: ...
    @overload
    def __getitem__(self, key: slice) -> list[RepoEntry]: ...
    def __getitem__(self, key: int | slice) -> RepoEntry | list[RepoEntry]:
        if isinstance(key, slice):
            return [self.hub.entry(i) for i in self.order[key]]
        return self.hub.entry(self.order[key])


def make_synthetic_server(
    hub: SyntheticHub,
    *,
    faults: FaultPlan | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    page_size: int = MAX_PAGE_SIZE,
    on_request: Callable[[RequestRecord], None] | None = None,
) -> MirrorServer:
    """A bound (not yet serving) mirror of `hub`, pages of `page_size` (the Hub's 1,000)."""
    return MirrorServer(
        (host, port), hub, faults=faults, page_size=page_size, on_request=on_request
    )
