"""The allow-list every runtime differential test keeps: differences left on purpose, by config.

`ALLOWED` maps a config name to (the compared fields that may differ, the documented reason).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol


class Compared(Protocol):
    name: str
    diffs: dict[str, str]


Allowed = Mapping[str, tuple[frozenset[str], str]]


def unexpected(
    outcomes: Iterable[Compared], allowed: Allowed, label: Callable[[Any], object]
) -> list[str]:
    """One line per config with a difference its allowance does not name."""
    lines = []
    for o in outcomes:
        fields = allowed.get(o.name, (frozenset(), ""))[0]
        extra = {k: v for k, v in o.diffs.items() if k not in fields}
        if extra:
            lines.append(f"{o.name} [{label(o)}]: {extra}")
    return lines


def stale(outcomes: Mapping[str, Compared], allowed: Allowed) -> list[str]:
    """Allowances whose config is gone or no longer differs in every field they name."""
    return [
        f"{name}: {sorted(fields - set(outcomes[name].diffs) if name in outcomes else fields)}"
        for name, (fields, _why) in allowed.items()
        if name not in outcomes or not fields <= set(outcomes[name].diffs)
    ]
