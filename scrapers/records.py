"""What a source (the Hub, a Hub cache, a Hub-like folder) read about one repository.

`HubMeta` is the listing metadata (the Hub API's model-info JSON, parsed defensively); `RepoItem`
is one repository as a source hands it to the catalog: config bytes, or a failure seen before
any bytes, or only fresh metadata."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapers.tagger.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]


def text_or_none(value: Any, limit: int = 512) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v), None)
    return text_or_none(value)


def _tag_value(tags: list[str], prefix: str) -> str | None:
    for tag in tags:
        if tag.startswith(prefix):
            rest = tag[len(prefix) :]
            kind, _, target = rest.partition(":")
            if target and kind in ("finetune", "quantized", "adapter", "merge"):
                return target
            return rest or None
    return None


@dataclass
class HubMeta:
    """Listing metadata of one repository, as the Hub's model-info JSON reports it."""

    sha: str | None = None
    last_modified: str | None = None
    downloads: int | None = None
    likes: int | None = None
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    gated: str | None = None  # None (open), "auto" or "manual"
    private: bool = False
    library_name: str | None = None
    license: str | None = None
    base_model: str | None = None
    author: str | None = None

    @classmethod
    def from_api(cls, d: Any) -> HubMeta:
        """Parse model-info JSON (`sha`, `lastModified`, `cardData`...); bad types become None."""
        if not isinstance(d, dict):
            return cls()
        raw_tags = d.get("tags")
        tags = (
            [t[:256] for t in raw_tags if isinstance(t, str)][:1000]
            if isinstance(raw_tags, list)
            else []
        )
        card_data = d.get("cardData")
        card: dict[str, Any] = card_data if isinstance(card_data, dict) else {}
        gated = d.get("gated")
        gated_value = gated if gated in ("auto", "manual") else ("auto" if gated is True else None)
        return cls(
            sha=text_or_none(d.get("sha"), 64),
            last_modified=text_or_none(d.get("lastModified") or d.get("last_modified"), 64),
            downloads=_int(d.get("downloads")),
            likes=_int(d.get("likes")),
            tags=tags,
            pipeline_tag=text_or_none(d.get("pipeline_tag")),
            gated=gated_value,
            private=d.get("private") is True,
            library_name=text_or_none(d.get("library_name")),
            license=_first_text(card.get("license")) or _tag_value(tags, "license:"),
            base_model=_first_text(card.get("base_model")) or _tag_value(tags, "base_model:"),
            author=text_or_none(d.get("author"), 128),
        )


@dataclass
class RepoItem:
    """One repo for `store_configs`.

    With `raw`: fetched config bytes. With `failure` (reason, detail): a failure seen before any
    bytes. With neither: only the Hub metadata is refreshed (a repo whose commit is unchanged).
    `recalled` marks a failure remembered from an earlier run at the same commit: it is recorded
    for this run, and the model's own error text stays as it is.
    """

    repo_id: str
    raw: bytes | None = None
    hub: HubMeta | None = None
    etag: str | None = None
    commit_sha: str | None = None
    failure: tuple[str, str | None] | None = None
    recalled: bool = False

    @property
    def sha(self) -> str | None:
        return self.commit_sha or (self.hub.sha if self.hub is not None else None)


@dataclass(frozen=True)
class Skipped:
    """A folder or listing entry that names no repository: nothing is stored for it."""

    repo_id: str
    reason: str
    detail: str
