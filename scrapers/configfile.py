"""Parsing `config.json` and `hub.json` bytes under explicit limits (`scrapers.jsonlimits`).

NaN / Infinity in a config: Python's json module (and so transformers) accepts these literals,
so we accept them too and say so (`ParsedConfig.nonfinite`). A hub.json is the Hub's own JSON,
which never holds them: there they are rejected."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapers.jsonlimits import JSONLimitExceeded, Limits, load_limited

if TYPE_CHECKING:
    from scrapers.tagger.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]


MAX_CONFIG_BYTES = 4 * 1024 * 1024  # real configs are < 200 KiB; anything bigger is not a config


MAX_HUB_JSON_BYTES = 1024 * 1024

CONFIG_LIMITS = Limits(max_bytes=MAX_CONFIG_BYTES, allow_nonfinite=True)
HUB_JSON_LIMITS = Limits(max_bytes=MAX_HUB_JSON_BYTES)


class ConfigRejected(Exception):
    """Raised by `parse_config`: the bytes are not a usable config (`reason` is a short code)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class ParsedConfig:
    config: dict[str, Any]
    text: str
    nonfinite: bool


def read_regular_file(path: str | os.PathLike[str], cap: int) -> bytes:
    """At most `cap + 1` bytes of a regular file (so a caller sees it is too large). A FIFO, a
    device or a directory is refused before it is opened, as it could block or never end.

    Raises:
        OSError: cannot be read, or not a regular file (errno EISDIR / EINVAL)."""
    import errno
    import stat

    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(path))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file (a FIFO, socket or device)", str(path))
    with open(path, "rb") as fh:
        return fh.read(cap + 1)


def parse_config(raw: bytes) -> ParsedConfig:
    """Decode and parse config bytes under `CONFIG_LIMITS`. Raises ConfigRejected: too-large,
    not-utf8, too-deep, number-too-long, invalid-json, not-object."""
    try:
        loaded = load_limited(raw, CONFIG_LIMITS)
    except JSONLimitExceeded as exc:
        raise ConfigRejected(exc.reason, exc.detail) from None
    value = loaded.value
    if not isinstance(value, dict):
        raise ConfigRejected("not-object", f"top level is a JSON {type(value).__name__}, not {{}}")
    return ParsedConfig(value, loaded.text, loaded.nonfinite)


def parse_hub_json(raw: bytes) -> dict[str, Any]:
    """A hub.json (model-info JSON) under `HUB_JSON_LIMITS`. Raises ConfigRejected (reasons as
    `parse_config`, non-finite numbers rejected too)."""
    try:
        value = load_limited(raw, HUB_JSON_LIMITS).value
    except JSONLimitExceeded as exc:
        raise ConfigRejected(exc.reason, exc.detail) from None
    if not isinstance(value, dict):
        raise ConfigRejected("not-object", f"top level is a JSON {type(value).__name__}, not {{}}")
    return value
