"""Listing models page by page under the scrape's own timeout, retry policy and JSON limits.

The client's `HfApi.list_models` sends its page requests with no timeout and retries them on its
own terms (five times, honouring any `Retry-After`). Here each page is one GET through the
client's shared session with an explicit connect/read timeout, retried by `with_retries` (the
policy `--retries`, `--backoff` and the longest `Retry-After` wait govern), read up to a size
cap and parsed by `load_limited`. Items are turned into the client's `ModelInfo`, exactly as
`list_models` does, so the metadata stored is the same.

Pagination follows the `Link: <...>; rel="next"` header, but only to the endpoint's own origin,
never twice to the same page.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapers.download import FetchFailed, Pacer, with_retries
from scrapers.jsonlimits import JSONLimitExceeded, Limits, load_limited

if TYPE_CHECKING:
    from scrapers.hub import HubOptions, Listed, Selection

MAX_PAGE_BYTES = 64 * 1024 * 1024  # a page of 1000 models with card data is a few MB
PAGE_LIMITS = Limits(max_bytes=MAX_PAGE_BYTES)

# The client's names for the Hub's sort keys (as `HfApi.list_models` maps them).
_SORT_PARAM = {
    "last_modified": "lastModified",
    "trending_score": "trendingScore",
    "created_at": "createdAt",
}


def listing_params(selection: Selection, author: str | None) -> dict[str, Any]:
    """The `/api/models` query of one author (or none) for `selection`."""
    from scrapers.hub import EXPAND

    params: dict[str, Any] = {}
    if selection.filters:
        params["filter"] = list(selection.filters)
    if author:
        params["author"] = author
    if selection.pipeline_tag:
        params["pipeline_tag"] = selection.pipeline_tag
    if selection.search:
        params["search"] = selection.search
    if selection.since is not None:  # incremental: newest first, down to the mark
        params["sort"] = "lastModified"
    elif selection.sort is not None:
        params["sort"] = _SORT_PARAM.get(selection.sort, selection.sort)
    if selection.limit is not None:
        params["limit"] = selection.limit
    params["expand"] = list(EXPAND)
    return params


def _same_origin(url: str, endpoint: str) -> bool:
    a, b = urlsplit(url), urlsplit(endpoint)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _get_page(
    url: str, params: dict[str, Any] | None, options: HubOptions
) -> tuple[Any, str | None]:
    """One page: (parsed JSON, next page URL). Raises client/transport errors or FetchFailed."""
    import time

    import httpx2
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    from scrapers.download import _read_body

    headers = build_hf_headers(token=options.token or False, library_name="ropedex")
    timeout = httpx2.Timeout(options.timeout)
    with get_session().stream(
        "GET", url, params=params, headers=headers, timeout=timeout, follow_redirects=True
    ) as response:
        if response.status_code >= 400:
            response.read()
            hf_raise_for_status(response)
        raw = _read_body(response, MAX_PAGE_BYTES, deadline=time.monotonic() + options.timeout)
        next_url = response.links.get("next", {}).get("url")
    try:
        value = load_limited(raw, PAGE_LIMITS).value
    except JSONLimitExceeded as exc:
        raise FetchFailed("bad-answer", f"listing page: {exc.reason}: {exc.detail}") from None
    if not isinstance(value, list):
        raise FetchFailed("bad-answer", f"listing page is a JSON {type(value).__name__}, not []")
    return value, next_url


def iter_listing(
    options: HubOptions, params: dict[str, Any], pacer: Pacer, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """Raw listing items, page after page (each page retried under `options.retry`).

    Raises:
        FetchFailed: a page failed for good, or the next link leaves the endpoint or loops.
    """
    url: str | None = f"{options.endpoint}/api/models"
    query: dict[str, Any] | None = params
    seen: set[str] = set()
    count = 0
    while url is not None:
        page, next_url = with_retries(
            partial(_get_page, url, query, options),
            policy=options.retry,
            pacer=pacer,
            redact=options.redact,
        )
        for item in page:
            if isinstance(item, dict):
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
        if next_url is not None:
            if not _same_origin(next_url, options.endpoint):
                raise FetchFailed("bad-answer", "the next-page link leaves the endpoint")
            if next_url in seen:
                raise FetchFailed("bad-answer", "the next-page link repeats a page")
            seen.add(next_url)
        url, query = next_url, None


def list_repos(options: HubOptions, selection: Selection, pacer: Pacer) -> Iterator[Listed]:
    """Repos matching `selection`, lazily (pages are fetched as they are consumed). An item the
    client cannot read is listed without metadata, so its model-info request decides its fate."""
    from huggingface_hub.hf_api import ModelInfo

    from scrapers.hub import Listed, info_to_api, older

    if selection.models is not None:
        for listed_id in selection.models:
            yield Listed(listed_id, None)
        return
    for author in selection.authors or (None,):
        params = listing_params(selection, author)
        for item in iter_listing(options, params, pacer, selection.limit):
            repo_id = item.get("id")
            if not isinstance(repo_id, str):
                continue
            item.setdefault("siblings", None)
            meta: dict[str, Any] | None
            try:
                meta = info_to_api(ModelInfo(**item))
            except (TypeError, ValueError, AttributeError, KeyError):
                meta = None
            if selection.since and older((meta or item).get("lastModified"), selection.since):
                break  # older than the mark: no new commit below this point
            yield Listed(repo_id, meta)
