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

# Strings are blanked out before brackets and numbers are looked at, so `"[[["` adds no depth.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb"[\[\]{}]")
_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
# Byte maps for C-speed scans: every character a number literal may hold becomes "0" (a literal
# longer than the cap is then a run of zeros), and for exponents "e" / "s" (sign) / "0" (digit).
_NUMBER_CHARS = b"0123456789.eE+-"
_AS_NUMBER = bytes(ord("0") if c in _NUMBER_CHARS else ord(" ") for c in range(256))
_AS_EXPONENT = bytes(
    ord("0") if chr(c).isdigit() and c < 128
    else ord("e") if c in b"eE"
    else ord("s") if c in b"+-"
    else ord(" ")
    for c in range(256)
)  # fmt: skip


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
    return _depth(_STRING.sub(b'""', raw))


def _depth(stripped: bytes) -> int:
    depth = deepest = 0
    for match in _BRACKET.finditer(stripped):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def _deeper_than(stripped: bytes, limit: int) -> int | None:
    """The nesting depth when it is above `limit`, else None. Peels innermost pairs off the
    brackets alone (one C-speed pass per level), so typical files cost a few passes; only
    what is still left after `limit` passes is measured exactly."""
    brackets = stripped.translate(None, _NOT_BRACKET)
    for _ in range(limit):
        if not brackets:
            return None
        brackets, count = _INNERMOST.subn(b"", brackets)
        if not count:
            break  # unbalanced: measure exactly
    depth = _depth(stripped) if brackets else 0
    return depth if depth > limit else None


def _longest_number(stripped: bytes, limit: int) -> int | None:
    """The length of the first number literal longer than `limit`, else None."""
    mapped = stripped.translate(_AS_NUMBER)
    start = mapped.find(b"0" * (limit + 1))
    if start < 0:
        return None
    end = start
    while end < len(mapped) and mapped[end] == ord("0"):
        end += 1
    return end - start


def _may_overflow(stripped: bytes) -> bool:
    """Whether a float literal could overflow a double: only an exponent of three digits or
    more can (mantissas are capped by the number length)."""
    mapped = stripped.translate(_AS_EXPONENT)
    return b"e000" in mapped or b"es000" in mapped


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
    stripped = _STRING.sub(b'""', raw)
    depth = _deeper_than(stripped, limits.max_depth)
    if depth is not None:
        raise JSONLimitExceeded("too-deep", f"nested {depth} deep, more than {limits.max_depth}")
    longest = _longest_number(stripped, limits.max_number_chars)
    if longest is not None:
        raise JSONLimitExceeded(
            "number-too-long",
            f"a number of {longest} characters, more than {limits.max_number_chars}",
        )
    seen_nonfinite = False

    def parse_float(literal: str) -> float:
        nonlocal seen_nonfinite
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

    # The float hook costs a Python call per number: only where a float could overflow.
    hooks: dict[str, Any] = {"parse_constant": constant}
    if _may_overflow(stripped):
        hooks["parse_float"] = parse_float
    try:
        value = json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise JSONLimitExceeded("invalid-json", detail) from None
    except RecursionError:  # unreachable below MAX_DEPTH, kept as a last guard
        raise JSONLimitExceeded("too-deep", "nested too deeply") from None
    except ValueError as exc:  # any other conversion limit of the interpreter
        raise JSONLimitExceeded("invalid-json", " ".join(str(exc).split())[:200]) from None
    return Loaded(value, text, seen_nonfinite)
