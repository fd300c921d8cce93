"""Parsing `config.json` and `hub.json` bytes under explicit limits (`scrapers.jsonlimits`).

NaN / Infinity in a config: Python's json module (and so transformers) accepts these literals,
so we accept them too and say so (`ParsedConfig.nonfinite`). A hub.json is the Hub's own JSON,
which never holds them: there they are rejected."""

from __future__ import annotations

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
