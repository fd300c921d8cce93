"""The verifier: run the checks on a declared rope configuration and return a verdict with evidence.

`verify(inp, device=...)` runs the schema and consistency checks (`registry.verify.static`), the
property checks on real tensors (`registry.verify.properties`, P0-P9) and the cross-runtime
matrix (`registry.verify.matrix`, X1). Torch is imported inside the functions that need it.

Verdict: `fail` if any check fails (a real defect), else `warn` if any check warns (odd but
possibly intended), else `pass`; `n/a` when the config has no rotary embedding at all."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry.verify.check import Check, worst
from registry.verify.inputs import VerifyInput, input_from_tag
from registry.verify.matrix import runtime_matrix
from registry.verify.properties import tensor_checks
from registry.verify.schema import check_valid_values
from registry.verify.static import rope_layers, static_checks

if TYPE_CHECKING:
    from scrapers.tagger.result import TagResult


# Bumped whenever a check or a threshold changes, so stored verdicts can be recomputed.
CORE_VERSION = "verify-5"
NA_REASON = "no rotary embedding: nothing for yarn_core to verify"


@dataclass(frozen=True)
class Verdict:
    """The verifier's answer for one config."""

    verdict: str  # pass | warn | fail | n/a
    checks: list[Check]
    runtimes: dict[str, dict[str, Any]]
    device: str
    core_version: str = CORE_VERSION
    reason: str | None = None  # why, for n/a

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers become None)."""
        return json_ready(
            {
                "verdict": self.verdict,
                "reason": self.reason,
                "checks": [c.to_dict() for c in self.checks],
                "runtimes": self.runtimes,
                "device": self.device,
                "core_version": self.core_version,
            }
        )

    def check(self, check_id: str) -> Check | None:
        """The check with this id (or id prefix such as "C8"), if it ran."""
        for c in self.checks:
            if c.id == check_id or c.id.split("-", 1)[0] == check_id:
                return c
        return None


def json_ready(value: Any) -> Any:
    """`value` with tuples as lists and NaN/infinity as None, so strict JSON can hold it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def verify(
    inp: VerifyInput, *, device: str = "auto", config: dict[str, Any] | None = None
) -> Verdict:
    """Every check, the runtime matrix and the verdict for one config.

    `config` (the whole config.json, when at hand) lets the matrix follow keys outside the rope
    block (llama.cpp's per-architecture GGUF context_length)."""
    from yarn_core.rope import resolve_device

    dev = resolve_device(device)
    layers = rope_layers(inp)
    if not layers and inp.invalid:  # a value no runtime can use is a defect, never n/a
        check = check_valid_values(inp.invalid)
        return Verdict("fail", [check], {}, str(dev), reason=check.message)
    if not layers:
        return Verdict("n/a", [], {}, str(dev), reason=NA_REASON)
    checks = static_checks(inp)
    checks += tensor_checks(inp, layers, dev)
    runtimes, agreement = runtime_matrix(inp, layers, config)
    checks.append(agreement)
    status = worst(c.status for c in checks)
    verdict = status if status in ("fail", "warn") else "pass"
    return Verdict(verdict, checks, runtimes, str(dev))


def verify_tag(
    tag: TagResult, *, device: str = "auto", config: dict[str, Any] | None = None
) -> Verdict:
    """Verify one tagged config (`config`: the config.json it came from, when at hand)."""
    return verify(input_from_tag(tag), device=device, config=config)
