"""GGUF repos into the catalog: each `.gguf` file's header, read only when its sha is unseen.

For each repo: its commit and files (`model_info`); a repo whose stored headers were all seen at
this commit costs nothing more. Otherwise each `.gguf` file gets one HEAD (its ETag: the file's
sha256 on the Hub's LFS storage); a file whose sha is stored keeps its row, a new or changed file
has its header read by range requests, checked against its source config and stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class GGUFSyncSummary:
    repos: int = 0
    repos_unchanged: int = 0
    files: int = 0
    unchanged: int = 0  # same file sha as stored: header not fetched
    fetched: int = 0
    failed: int = 0
    bytes: int = 0  # header bytes fetched
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def file_sha(repo_id: str, filename: str, revision: str, options: Any) -> str | None:
    """The file's ETag from one HEAD (no body), with the scraper's retries."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    from scrapers.download import Pacer, with_retries

    url = hf_hub_url(repo_id, filename, revision=revision, endpoint=options.endpoint)
    headers = build_hf_headers(token=options.token or False, library_name="ropedex")

    def attempt() -> str | None:
        response = get_session().head(
            url, headers=headers, timeout=options.timeout, follow_redirects=False
        )
        if response.status_code >= 400:
            hf_raise_for_status(response)
        etag = response.headers.get("X-Linked-Etag") or response.headers.get("ETag")
        return etag.removeprefix("W/").strip('"') if etag else None

    result: str | None = with_retries(
        attempt, policy=options.retry, pacer=Pacer(), redact=options.redact
    )
    return result


def sync_gguf(session: Any, options: Any, repo_ids: Iterable[str]) -> GGUFSyncSummary:
    """Read the unseen GGUF headers of `repo_ids` into `gguf_headers` (committed per repo)."""
    from sqlmodel import select

    from registry.gguf_check import check_gguf, source_for
    from registry.models import GGUFHeader
    from scrapers.download import FetchFailed
    from scrapers.errors import ScrapeFailed
    from scrapers.gguf import gguf_files, read_hub, repo_listing

    summary = GGUFSyncSummary()
    for repo_id in dict.fromkeys(repo_ids):
        summary.repos += 1
        stored = {
            row.filename: row
            for row in session.exec(select(GGUFHeader).where(GGUFHeader.repo_id == repo_id))
        }
        try:
            repo = repo_listing(repo_id, options)
        except ScrapeFailed as exc:
            summary.failed += 1
            summary.errors.append(options.redact(str(exc)))
            continue
        names = gguf_files(repo.files)
        if names and all(
            n in stored and stored[n].commit_sha == repo.sha and repo.sha for n in names
        ):
            summary.repos_unchanged += 1
            summary.files += len(names)
            summary.unchanged += len(names)
            continue
        revision = repo.sha or "main"
        for name in names:
            summary.files += 1
            row = stored.get(name)
            try:
                sha = file_sha(repo_id, name, revision, options)
                if row is not None and sha is not None and row.file_sha == sha:
                    row.commit_sha = repo.sha
                    session.add(row)
                    summary.unchanged += 1
                    continue
                header = read_hub(repo_id, name, options, revision=revision)
            except (ScrapeFailed, FetchFailed) as exc:
                summary.failed += 1
                summary.errors.append(options.redact(f"{repo_id}:{name}: {exc}"))
                continue
            verdict = check_gguf(header, source_for(header, repo, options))
            row = row or GGUFHeader(
                repo_id=repo_id,
                filename=name,
                fetched_at="",
                header_bytes=0,
                file_size=0,
                fetched_bytes=0,
            )
            row.file_sha = sha or header.etag
            row.commit_sha = repo.sha
            row.fetched_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            row.architecture = header.arch
            row.header_bytes = header.header_bytes
            row.file_size = header.file_size
            row.fetched_bytes = header.fetched_bytes
            row.rope = header.rope_keys()
            row.base_models = header.lineage()
            row.verdict = verdict.verdict
            row.check = verdict.to_dict()
            session.add(row)
            summary.fetched += 1
            summary.bytes += header.fetched_bytes
        session.commit()
    return summary
