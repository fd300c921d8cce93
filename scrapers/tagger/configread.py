"""Safe, typed reads of untrusted config values, recording the key paths that decided a result.

Every accessor accepts any JSON value and answers None rather than raising: booleans are never
numbers, NaN and infinities are absent, numeric strings are read with a warning.
"""

from __future__ import annotations

import math
from typing import Any

_MAX_INT = 1 << 53  # larger integers are not meaningful lengths or dims


def as_float(value: Any) -> float | None:
    """A finite float, or None. Numeric strings are accepted."""
    kind = type(value)
    if kind is float:
        return value if value - value == 0.0 else None  # NaN and infinities fail this
    if kind is int:
        return float(value) if -_MAX_INT <= value <= _MAX_INT else None
    if value is None or kind is dict or kind is list:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) > _MAX_INT:
            return None
        return float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and 0 < len(value) <= 40:
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_int(value: Any) -> int | None:
    """An integer-valued number (1024, 1024.0, "1024"), or None."""
    if type(value) is int:
        return value if -_MAX_INT <= value <= _MAX_INT else None
    number = as_float(value)
    if number is None or number != int(number) or abs(number) > _MAX_INT:
        return None
    return int(number)


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= 200 else None


def _plain(value: Any) -> bool:
    """A number or short string that serialises as itself."""
    kind = type(value)
    if kind is float:
        return value - value == 0.0
    if kind is int:
        return -_MAX_INT <= value <= _MAX_INT
    return kind is str and len(value) <= 2000


def jsonable(value: Any, depth: int = 0) -> Any:
    """A copy safe to serialise: bounded depth and length, no NaN, string keys."""
    kind = type(value)
    if kind is int or kind is bool or value is None:
        return value if kind is not int or -_MAX_INT <= value <= _MAX_INT else str(value)
    if kind is str and len(value) <= 2000:
        return value
    if kind is float:
        return value if value - value == 0.0 else None
    if kind is list and depth <= 8 and len(value) <= 1024 and all(map(_plain, value)):
        return list(value)
    if depth > 8:
        return "<nested too deeply>"
    if value is None or isinstance(value, bool | str):
        return value if not isinstance(value, str) or len(value) <= 2000 else value[:2000]
    if isinstance(value, int):
        return value if abs(value) <= _MAX_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        items = list(value.items())[:200]
        return {str(k): jsonable(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [jsonable(v, depth + 1) for v in list(value)[:1024]]
    return repr(value)[:200]


class Reader:
    """Reads one config dict (found at `prefix`) and records evidence and warnings."""

    def __init__(
        self,
        config: dict[str, Any],
        prefix: str,
        evidence: dict[str, Any],
        warnings: list[str],
        invalid: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.prefix = prefix
        self.evidence = evidence
        self.warnings = warnings
        self.invalid = invalid if invalid is not None else {}
        self._lead = prefix + "." if prefix else ""

    def path(self, *keys: str) -> str:
        return self._lead + ".".join(keys)

    def has(self, key: str) -> bool:
        return key in self.config

    def raw(self, key: str) -> Any:
        return self.config.get(key)

    def note(self, key: str, value: Any) -> None:
        """Record `key` (relative to this config) as evidence."""
        self.evidence[self.path(key)] = jsonable(value)

    def cite(self, key: str) -> None:
        """Record `key` as evidence with its value exactly as the config gives it."""
        self.note(key, self.config.get(key))

    def reject(self, key: str, value: Any, why: str) -> None:
        """Record a present value no runtime can use, as written, with a warning saying why."""
        path = self.path(key)
        self.invalid[path] = jsonable(value)
        self.warnings.append(f"{path} = {_show(value)} is not usable: {why}")

    def strict_num(self, key: str, *, positive: bool = True) -> tuple[bool, float | None]:
        """(present, value) for a key runtimes read as a number: a present value that is not a
        finite (positive) JSON number, a string or a boolean included, is rejected (None)."""
        if key not in self.config or self.config[key] is None:
            return False, None
        value = self.config[key]
        number = None if isinstance(value, bool | str) else as_float(value)
        if number is None:
            self.reject(key, value, "not a finite number")
            return True, None
        if positive and number <= 0:
            self.reject(key, value, "must be positive")
            return True, None
        self.note(key, value)
        return True, number

    def dict_(self, key: str) -> dict[str, Any] | None:
        value = self.config.get(key)
        return value if isinstance(value, dict) else None

    def num(self, key: str, *, record: bool = True) -> float | None:
        value = self.config.get(key)
        number = as_float(value)
        if number is None:
            if value is not None and key in self.config:
                self.warnings.append(f"{self.path(key)} is not a usable number: {_show(value)}")
            return None
        if isinstance(value, str):
            self.warnings.append(f"{self.path(key)} is a string; read as {number}")
        if record:
            self.note(key, value)
        return number

    def int_(self, key: str, *, record: bool = True) -> int | None:
        number = self.num(key, record=record)
        if number is None:
            return None
        if number != int(number):
            self.warnings.append(f"{self.path(key)} is not an integer: {number}")
            return None
        return int(number)

    def flag(self, key: str, *, record: bool = True) -> bool | None:
        value = self.config.get(key)
        result = as_bool(value)
        if result is None and value is not None:
            self.warnings.append(f"{self.path(key)} is not a boolean: {_show(value)}")
        if result is not None and record:
            self.note(key, value)
        return result

    def str_(self, key: str, *, record: bool = True) -> str | None:
        value = as_str(self.config.get(key))
        if value is not None and record:
            self.note(key, value)
        return value

    def first_int(self, keys: tuple[str, ...]) -> tuple[str, int] | None:
        """The first of `keys` holding a positive integer, with its key."""
        for key in keys:
            if key in self.config:
                value = self.int_(key, record=False)
                if value is not None and value > 0:
                    self.note(key, self.config[key])
                    return key, value
        return None


def _show(value: Any) -> str:
    text = repr(jsonable(value, 6))
    return text if len(text) <= 60 else text[:57] + "..."
