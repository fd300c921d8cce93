"""Parsing `config.json` bytes under explicit limits.

NaN / Infinity: Python's json module (and so transformers) accepts these literals, so we accept
them too and say so (`ParsedConfig.nonfinite`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapers.tagger.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]


MAX_CONFIG_BYTES = 4 * 1024 * 1024  # real configs are < 200 KiB; anything bigger is not a config


MAX_HUB_JSON_BYTES = 1024 * 1024


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
    """Decode and parse config bytes. Raises ConfigRejected: too-large, not-utf8, invalid-json,
    not-object."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigRejected("too-large", f"more than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigRejected("not-utf8", f"byte {exc.start} is not UTF-8") from None
    seen_nonfinite = False

    def constant(name: str) -> float:
        nonlocal seen_nonfinite
        seen_nonfinite = True
        return float(name.replace("Infinity", "inf"))

    try:
        value = json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise ConfigRejected("invalid-json", detail) from None
    except RecursionError:
        raise ConfigRejected("invalid-json", "nested too deeply") from None
    if not isinstance(value, dict):
        raise ConfigRejected("not-object", f"top level is a JSON {type(value).__name__}, not {{}}")
    return ParsedConfig(value, text, seen_nonfinite)
