"""Parsing JSON read from outside (config.json, hub.json, listing pages) under explicit limits.

Python's json module has no bound of its own: a file nested 100,000 deep raises RecursionError,
an integer of more than 4,300 digits raises a bare ValueError (the int-to-str conversion
limit), and `1e999` silently becomes infinity. `load_limited` checks size, nesting depth and
number length before any of that can happen and raises one `JSONLimitExceeded` with a short
reason code, so each caller can record the failure against the one file it read.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64  # real configs nest 4 or 5 deep (text_config.rope_scaling.*)
MAX_NUMBER_CHARS = 100  # digits, sign, point and exponent of one number literal

# Strings are blanked out before brackets are counted, so `"[[["` adds no depth.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class JSONLimitExceeded(Exception):
    """The bytes are not JSON this project reads; `reason` is a short code, `detail` a phrase."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_depth: int = MAX_DEPTH
    max_number_chars: int = MAX_NUMBER_CHARS
    allow_nonfinite: bool = False  # NaN / Infinity literals and overflowing floats


@dataclass(frozen=True)
class Loaded:
    value: Any
    text: str
    nonfinite: bool  # a NaN or Infinity literal was read (only when allowed)


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting of JSON bytes, strings ignored (malformed input counts too)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def load_limited(raw: bytes, limits: Limits) -> Loaded:
    """Decode (UTF-8, optional BOM) and parse `raw`.

    Raises:
        JSONLimitExceeded: too-large, not-utf8, too-deep, number-too-long, non-finite or
            invalid-json.
    """
    if len(raw) > limits.max_bytes:
        raise JSONLimitExceeded("too-large", f"more than {limits.max_bytes} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JSONLimitExceeded("not-utf8", f"byte {exc.start} is not UTF-8") from None
    depth = nesting_depth(raw)
    if depth > limits.max_depth:
        raise JSONLimitExceeded("too-deep", f"nested {depth} deep, more than {limits.max_depth}")
    seen_nonfinite = False

    def number(literal: str) -> None:
        if len(literal) > limits.max_number_chars:
            raise JSONLimitExceeded(
                "number-too-long",
                f"a number of {len(literal)} characters, more than {limits.max_number_chars}",
            )

    def parse_int(literal: str) -> int:
        number(literal)
        return int(literal)

    def parse_float(literal: str) -> float:
        nonlocal seen_nonfinite
        number(literal)
        value = float(literal)
        if not math.isfinite(value):
            if not limits.allow_nonfinite:
                raise JSONLimitExceeded("non-finite", f"{literal} is out of the float range")
            seen_nonfinite = True
        return value

    def constant(name: str) -> float:
        nonlocal seen_nonfinite
        if not limits.allow_nonfinite:
            raise JSONLimitExceeded("non-finite", f"{name} is not a JSON number")
        seen_nonfinite = True
        return float(name.replace("Infinity", "inf"))

    try:
        value = json.loads(
            text, parse_int=parse_int, parse_float=parse_float, parse_constant=constant
        )
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise JSONLimitExceeded("invalid-json", detail) from None
    except RecursionError:  # unreachable below MAX_DEPTH, kept as a last guard
        raise JSONLimitExceeded("too-deep", "nested too deeply") from None
    except ValueError as exc:  # any other conversion limit of the interpreter
        raise JSONLimitExceeded("invalid-json", " ".join(str(exc).split())[:200]) from None
    return Loaded(value, text, seen_nonfinite)
