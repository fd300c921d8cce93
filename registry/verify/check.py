"""One verifier finding (`Check`), status order and the helpers every check module shares."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    pass


STATUSES = ("pass", "warn", "fail", "not-applicable")


_SEVERITY = {"not-applicable": 0, "pass": 1, "warn": 2, "fail": 3}


@dataclass(frozen=True)
class Check:
    """One verifier finding: an id, a status, a one-line message and the numbers behind it."""

    id: str
    status: str  # pass | warn | fail | not-applicable
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "message": self.message,
            "numbers": self.numbers,
        }


def worst(statuses: Iterable[str]) -> str:
    """The most severe status (fail > warn > pass > not-applicable)."""
    return max(statuses, key=_SEVERITY.__getitem__, default="not-applicable")


def guarded(check_id: str) -> Callable[[Callable[..., Check]], Callable[..., Check]]:
    """Turn an arithmetic or type error inside a check into a failed check with that id."""

    def wrap(fn: Callable[..., Check]) -> Callable[..., Check]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Check:
            try:
                return fn(*args, **kwargs)
            except (ArithmeticError, ValueError, TypeError) as exc:
                return Check(check_id, "fail", f"cannot be evaluated for these values: {exc}")

        return run

    return wrap


def _na(check_id: str, why: str) -> Check:
    return Check(check_id, "not-applicable", why)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float (bool excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def merge_layers(per_layer: dict[str, Check]) -> Check:
    """One check from its per-layer results: the worst status, the numbers keyed by layer."""
    checks = list(per_layer.values())
    if len(checks) == 1:
        return checks[0]
    worst_layer = max(per_layer, key=lambda k: _SEVERITY[per_layer[k].status])
    top = per_layer[worst_layer]
    numbers = {layer: c.numbers for layer, c in per_layer.items() if c.numbers}
    return Check(top.id, top.status, f"{worst_layer}: {top.message}", numbers)


def check_order(check: Check) -> tuple[str, int]:
    """Sort key: the letter of the id, then its number (C2 before C10)."""
    head = check.id.split("-", 1)[0]
    digits = head[1:]
    return head[:1], int(digits) if digits.isdigit() else 0
