"""GGUF headers, read with the `gguf` package (llama.cpp's own reader), never the weights.

The header is read from the start of the file in growing spans: from disk, or from the Hub with
HTTP `Range` requests through `huggingface_hub`'s session. The first span is `FIRST_SPAN` bytes;
while the layout scan (`scrapers.gguf_layout`, byte lengths only) finds the header longer than
what has arrived, the next span doubles what is held, up to `MAX_HEADER_BYTES`. The `gguf`
reader then decodes a copy of the header without the tokenizer keys and long arrays (decoding a
real vocabulary takes the package tens of seconds), laid into a sparse temporary file of the
original data size, so the reader sees a consistent file whose weights are holes.

Reported: every scalar and small-array key (tokenizer keys and arrays over `MAX_ARRAY` items are
left out), the rope keys of the architecture (`rope_keys`), the `general.base_model.N.*`
lineage (`lineage`) and the rope factor tensors present (`factor_tensors`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapers.errors import ScrapeFailed

FIRST_SPAN = 256 * 1024
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_ARRAY = 4096  # arrays longer than this (vocabularies, merges) are not kept
MAX_COUNT = 10_000_000  # a tensor or key count above this is a broken header
GGUF_MAGIC = b"GGUF"
_LINEAGE = re.compile(r"^general\.base_model\.(\d+)\.(\w+)$")
# Suffixes after `{arch}.` that describe position: the length, every rope key, sliding
# windows and their layer patterns, NoPE layers, and the key width that bounds rotary dims.
_POSITION_PREFIXES = ("rope.", "attention.sliding_window", "attention.key_length")
_POSITION_WORDS = ("context_length", "swa", "nope", "no_rope", "sliding", "rope_freq_base")


class GGUFUnreadable(ScrapeFailed):
    """The file is not a GGUF this reader understands, or its header is larger than the cap."""


@dataclass(frozen=True)
class GGUFHeader:
    """The metadata of one GGUF file."""

    source: str  # a path, or ORG/NAME:FILE
    version: int
    tensor_count: int
    header_bytes: int  # offset of the tensor data: everything before it is header
    fetched_bytes: int  # bytes read over HTTP (0 for a local file)
    file_size: int
    kv: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None  # the Hub's ETag of the file (its sha256 for LFS files)
    commit: str | None = None
    factor_tensors: tuple[str, ...] = ()  # rope_freqs (Llama 3) / rope_factors_* (LongRoPE)

    @property
    def arch(self) -> str | None:
        value = self.kv.get("general.architecture")
        return value if isinstance(value, str) else None

    def rope_keys(self) -> dict[str, Any]:
        """Position keys of the architecture, without the `{arch}.` prefix."""
        arch = self.arch
        if arch is None:
            return {}
        prefix = f"{arch}."
        return {
            key[len(prefix) :]: value
            for key, value in self.kv.items()
            if key.startswith(prefix) and is_position_key(key[len(prefix) :])
        }

    def lineage(self) -> list[dict[str, Any]]:
        """`general.base_model.N.*` as one dict per N, in order."""
        found: dict[int, dict[str, Any]] = {}
        for key, value in self.kv.items():
            match = _LINEAGE.match(key)
            if match:
                found.setdefault(int(match.group(1)), {})[match.group(2)] = value
        return [found[n] for n in sorted(found)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "architecture": self.arch,
            "version": self.version,
            "tensor_count": self.tensor_count,
            "header_bytes": self.header_bytes,
            "fetched_bytes": self.fetched_bytes,
            "file_size": self.file_size,
            "etag": self.etag,
            "commit": self.commit,
            "rope": self.rope_keys(),
            "factor_tensors": list(self.factor_tensors),
            "base_models": self.lineage(),
        }


def is_position_key(suffix: str) -> bool:
    return suffix.startswith(_POSITION_PREFIXES) or any(w in suffix for w in _POSITION_WORDS)


def read_local(path: Path | str) -> GGUFHeader:
    """The header of a GGUF file on disk (read from the start, as far as the header goes)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        fh = open(path, "rb")  # noqa: SIM115 (closed below, after the spans are read)
    except OSError as exc:
        raise GGUFUnreadable(f"{path}: cannot read ({exc.strerror or exc}).") from None

    def fetch(start: int, end: int) -> Span:
        fh.seek(start)
        return Span(fh.read(end - start + 1), size, None, None)

    with fh:
        header = read_spans(fetch, str(path))
    from dataclasses import replace

    return replace(header, fetched_bytes=0)


def _check_start(start: bytes, source: str) -> None:
    """The magic (the layout scan checks the counts, in the file's byte order)."""
    if len(start) < 24 or start[:4] != GGUF_MAGIC:
        raise GGUFUnreadable(f"{source}: not a GGUF file (no GGUF magic).")


def _header(reader: Any, source: str, size: int, fetched: int, header_end: int) -> GGUFHeader:
    kv: dict[str, Any] = {}
    for name, fld in reader.fields.items():
        if name.startswith(("GGUF.", "tokenizer.")):
            continue
        parts = fld.data
        if len(parts) > MAX_ARRAY:
            continue
        try:
            kv[name] = fld.contents()
        except (ValueError, UnicodeDecodeError):
            kv[name] = None
    version = int(reader.fields["GGUF.version"].contents())
    factor_tensors = tuple(
        t.name for t in reader.tensors if t.name.startswith(("rope_freqs", "rope_factors"))
    )
    return GGUFHeader(
        source=source,
        version=version,
        tensor_count=len(reader.tensors),
        header_bytes=header_end,
        fetched_bytes=fetched,
        file_size=size,
        kv=kv,
        factor_tensors=factor_tensors,
    )


# --- over HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """One answered range request."""

    data: bytes
    total: int  # the file's size from Content-Range
    etag: str | None
    commit: str | None


Fetch = Callable[[int, int], Span]  # (start, end inclusive) -> the bytes


def read_spans(fetch: Fetch, source: str, *, first: int = FIRST_SPAN) -> GGUFHeader:
    """The header of a remote GGUF, asking `fetch` for growing spans from the start."""
    span = fetch(0, first - 1)
    held = bytearray(span.data)
    total = span.total
    _check_start(bytes(held[:24]), source)
    while True:
        header = _try_parse(bytes(held), total, source)
        if header is not None:
            return _with_origin(header, len(held), span)
        if len(held) >= total:
            raise GGUFUnreadable(f"{source}: unreadable GGUF header (the file ends inside it).")
        if len(held) >= MAX_HEADER_BYTES:
            raise GGUFUnreadable(
                f"{source}: GGUF header larger than {MAX_HEADER_BYTES // 2**20} MiB; not read."
            )
        want = min(2 * len(held), MAX_HEADER_BYTES, total)
        more = fetch(len(held), want - 1)
        if not more.data:
            raise GGUFUnreadable(f"{source}: the server sent no bytes from offset {len(held)}.")
        held.extend(more.data)


def _with_origin(header: GGUFHeader, fetched: int, span: Span) -> GGUFHeader:
    from dataclasses import replace

    return replace(header, fetched_bytes=fetched, etag=span.etag, commit=span.commit)


def _try_parse(held: bytes, total: int, source: str) -> GGUFHeader | None:
    """The header if it lies wholly inside `held` (None: more bytes are needed).

    The layout scan (`scrapers.gguf_layout`) finds where the header ends; the `gguf` reader then
    decodes a copy without the tokenizer keys and long arrays (the slow part of a real header),
    laid into a sparse temporary file whose tensor data are holes of the original sizes."""
    from gguf import GGUFReader

    from scrapers.gguf_layout import ARRAY, BadLayout, NeedMore, reduced_header, scan

    complete = len(held) >= total
    try:
        layout = scan(held, MAX_COUNT)
    except NeedMore:
        if complete:
            raise GGUFUnreadable(
                f"{source}: unreadable GGUF header (the file ends inside it)."
            ) from None
        return None
    except BadLayout as exc:
        raise GGUFUnreadable(f"{source}: unreadable GGUF header ({exc}).") from None
    keep = [
        k
        for k in layout.keys
        if not k.key.startswith("tokenizer.") and not (k.vtype == ARRAY and k.count > MAX_ARRAY)
    ]
    reduced = reduced_header(held, layout, keep)
    aligned = -(-len(reduced) // layout.alignment) * layout.alignment
    fd, name = tempfile.mkstemp(suffix=".gguf", prefix="ropedex-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(reduced)
            fh.truncate(aligned + max(0, total - layout.header_end))  # sparse: no weights
        try:
            reader = GGUFReader(name)
        except (ValueError, KeyError, IndexError, OverflowError, UnicodeDecodeError) as exc:
            raise GGUFUnreadable(f"{source}: unreadable GGUF header ({exc}).") from None
        return _header(reader, source, total, len(held), layout.header_end)
    finally:
        os.unlink(name)


def hub_fetcher(
    repo_id: str,
    filename: str,
    *,
    revision: str,
    endpoint: str,
    token: str | None,
    timeout: float,
) -> Fetch:
    """A `Fetch` that sends one `Range` GET per span with the real client's session."""

    def fetch(start: int, end: int) -> Span:
        from huggingface_hub import hf_hub_url
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        url = hf_hub_url(repo_id, filename, revision=revision, endpoint=endpoint)
        headers = build_hf_headers(token=token or False, library_name="ropedex")
        headers["Accept-Encoding"] = "identity"
        headers["Range"] = f"bytes={start}-{end}"
        wanted = end - start + 1
        with get_session().stream(
            "GET", url, headers=headers, timeout=timeout, follow_redirects=True
        ) as response:
            if response.status_code >= 400:
                response.read()
                hf_raise_for_status(response)
            total = _total(response.headers.get("Content-Range"))
            chunks: list[bytes] = []
            got = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                got += len(chunk)
                if got >= wanted:  # a server that ignored Range: stop reading here
                    break
            data = b"".join(chunks)
            if response.status_code == 200:  # the whole file was offered: keep the span
                if start:
                    raise GGUFUnreadable(
                        f"{repo_id}:{filename}: the server does not answer range requests."
                    )
                total = _int_header(response.headers.get("Content-Length"))
            etag = response.headers.get("X-Linked-Etag") or response.headers.get("ETag")
            commit = response.headers.get("X-Repo-Commit")
        if total is None:
            raise GGUFUnreadable(f"{repo_id}:{filename}: the server sent no file size.")
        return Span(data[:wanted], total, _clean(etag), commit or None)

    return fetch


def _total(content_range: str | None) -> int | None:
    match = re.match(r"^bytes \d+-\d+/(\d+)$", (content_range or "").strip())
    return int(match.group(1)) if match else None


def _int_header(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _clean(etag: str | None) -> str | None:
    if not etag:
        return None
    return etag.removeprefix("W/").strip('"') or None


def gguf_files(siblings: list[str]) -> list[str]:
    """The `.gguf` files of a repo listing, sorted."""
    return sorted(name for name in siblings if name.lower().endswith(".gguf"))


@dataclass(frozen=True)
class RemoteRepo:
    """What the header reader needs to know of a Hub repo."""

    repo_id: str
    sha: str | None
    files: list[str]
    card_data: dict[str, Any]


def repo_listing(repo_id: str, options: Any) -> RemoteRepo:
    """The repo's commit, files and card data (`options` is a `scrapers.hub.HubOptions`)."""
    from scrapers.download import FetchFailed, Pacer, with_retries
    from scrapers.hub import make_api

    api = make_api(options)

    def attempt() -> Any:
        return api.model_info(repo_id, timeout=options.timeout)

    try:
        info = with_retries(attempt, policy=options.retry, pacer=Pacer(), redact=options.redact)
    except FetchFailed as exc:
        raise GGUFUnreadable(f"{repo_id}: cannot read the repo ({exc}).") from None
    card = info.card_data.to_dict() if info.card_data is not None else {}
    files = [s.rfilename for s in info.siblings or []]
    return RemoteRepo(repo_id, info.sha, files, card)


def read_hub(repo_id: str, filename: str, options: Any, *, revision: str = "main") -> GGUFHeader:
    """The header of `filename` in a Hub repo, by range requests (with the scraper's retries)."""
    from scrapers.download import FetchFailed, Pacer, with_retries

    source = f"{repo_id}:{filename}"
    raw = hub_fetcher(
        repo_id,
        filename,
        revision=revision,
        endpoint=options.endpoint,
        token=options.token,
        timeout=options.timeout,
    )
    pacer = Pacer()

    def fetch(start: int, end: int) -> Span:
        try:
            return with_retries(
                lambda: raw(start, end), policy=options.retry, pacer=pacer, redact=options.redact
            )
        except FetchFailed as exc:
            if exc.reason == "missing-config":  # the scraper's name for an absent file
                raise GGUFUnreadable(f"{source}: no such file in the repo.") from None
            raise GGUFUnreadable(f"{source}: {exc}.") from None

    return read_spans(fetch, source)
