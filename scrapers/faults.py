"""Fault plans for the loopback Hub mirror: what to break, where, and how often.

A `FaultPlan` holds a latency added to every request and a list of `Fault`s. Each fault names an
action (`status`, `ratelimit`, `drop`, `truncate`, `slow`), which requests it applies to (a request
kind, an exact repo id, an exact file path) and how often it fires (a probability, drawn from a
seeded generator, and an optional number of times). Rules by exact repo and `times` make tests
deterministic; rates model a flaky network.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

ACTIONS = ("status", "ratelimit", "drop", "truncate", "slow")
REQUEST_KINDS = ("list", "info", "head", "get")


@dataclass
class Fault:
    """One injected failure.

    `kind` limits it to one request kind (see REQUEST_KINDS); `repo` and `path` to one repo id and
    one file (exact matches). `rate` is the chance it fires on a matching request; `times` caps how
    often it fires (None: no cap); `after` lets the first matching requests through.
    """

    action: str  # one of ACTIONS
    status: int = 503  # for `status`
    retry_after: int = 1  # seconds, for `ratelimit`
    bytes_per_second: int = 2048  # for `slow`
    kind: str | None = None
    repo: str | None = None
    path: str | None = None
    rate: float = 1.0
    times: int | None = None
    after: int = 0  # let this many matching requests through first
    fired: int = 0  # how often it has fired so far
    seen: int = 0  # matching requests so far

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; one of {', '.join(ACTIONS)}")
        if self.kind is not None and self.kind not in REQUEST_KINDS:
            raise ValueError(f"unknown request kind {self.kind!r}; one of {REQUEST_KINDS}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must lie in [0, 1], got {self.rate}")

    def matches(self, kind: str, repo: str | None, path: str | None) -> bool:
        return (
            (self.kind is None or self.kind == kind)
            and (self.repo is None or self.repo == repo)
            and (self.path is None or self.path == path)
            and (self.times is None or self.fired < self.times)
        )


@dataclass
class FaultPlan:
    """Latency for every request plus the faults to inject; thread-safe."""

    latency_ms: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self, kind: str, repo: str | None = None, path: str | None = None) -> Fault | None:
        """The first fault that fires on this request, counting it; None for a clean answer."""
        with self._lock:
            for fault in self.faults:
                if not fault.matches(kind, repo, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                if fault.rate < 1.0 and self._rng.random() >= fault.rate:
                    continue
                fault.fired += 1
                return fault
        return None


_INT_KEYS = {"status", "retry_after", "bytes_per_second", "times", "after"}


def parse_fault(spec: str) -> Fault:
    """Parse `ACTION[:key=value]...`, e.g. `503:rate=0.1`, `429:retry-after=2`, `drop:repo=a/b`.

    A number as the action means `status` with that code (429 means `ratelimit`). Keys: rate,
    times, after, kind, repo, path, retry-after, bytes-per-second.
    """
    head, *pairs = spec.split(":")
    kwargs: dict[str, object] = {}
    if head.isdigit():
        code = int(head)
        if code == 429:
            kwargs["action"] = "ratelimit"
        elif 400 <= code <= 599:
            kwargs.update(action="status", status=code)
        else:
            raise ValueError(f"fault status must be an HTTP error code, got {code}")
    else:
        kwargs["action"] = head
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in {"rate", "kind", "repo", "path", *_INT_KEYS}:
            raise ValueError(f"bad fault option {pair!r} in {spec!r}")
        if key in _INT_KEYS:
            kwargs[key] = int(value)
        elif key == "rate":
            kwargs[key] = float(value)
        else:
            kwargs[key] = value
    return Fault(**kwargs)  # type: ignore[arg-type]
