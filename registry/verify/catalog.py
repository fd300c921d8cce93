"""Verify the catalog: run the verifier once per distinct verification fingerprint, store verdicts.

Models that share every input of the verifier (resolved rope parameters, raw block, model type,
dtype) share one `verify_fingerprint` and therefore one `Verification` row, so the cost grows
with the number of distinct fingerprints, not with the number of models. The verifier reads the
stored facts (`PositionFacts.rope_parameters`, `details.raw_rope`, ...), never the config text,
which may be stripped from a committed catalog."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from registry.verify.inputs import input_from_facts

if TYPE_CHECKING:
    from sqlmodel import Session

    from registry.models import PositionFacts, Verification
    from registry.verify.verdict import Verdict


Progress = Callable[[int, int], None]  # (done, total)


BATCH = 200  # verdicts committed together, so an interrupted run keeps what it finished


@dataclass
class VerifySummary:
    """What `verify_catalog` did."""

    checked: int = 0  # fingerprints verified in this run
    skipped_existing: int = 0  # fingerprints that already had a verdict (not re-run)
    by_verdict: dict[str, int] = field(default_factory=dict)
    device: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "skipped_existing": self.skipped_existing,
            "by_verdict": dict(sorted(self.by_verdict.items())),
            "device": self.device,
        }


def pending(session: Session, *, force: bool) -> tuple[list[PositionFacts], int]:
    """One facts row of a current snapshot per distinct fingerprint still to verify, and the
    number of fingerprints skipped because they already have a verdict from this verifier.

    The distinct fingerprints come from the covering index on `verify_fingerprint`, then one
    indexed lookup per fingerprint finds a row, so the cost follows the number of distinct
    fingerprints rather than the number of models.
    """
    from sqlmodel import col, select

    from registry.models import Model, PositionFacts, Verification
    from registry.verify.verdict import CORE_VERSION

    fingerprint = col(PositionFacts.verify_fingerprint)
    distinct = session.exec(select(fingerprint).where(fingerprint.is_not(None)).distinct())
    fingerprints = sorted(fp for fp in distinct.all() if fp is not None)
    # A verdict written by an older verifier is stale: it is verified again (and overwritten).
    current_core = select(Verification.fingerprint).where(Verification.core_version == CORE_VERSION)
    done = set(session.exec(current_core).all())
    skipped = 0 if force else sum(1 for fp in fingerprints if fp in done)
    todo: list[PositionFacts] = []
    for fp in fingerprints:
        if not force and fp in done:
            continue
        current = (
            select(PositionFacts)
            .join(Model, col(Model.snapshot_id) == col(PositionFacts.snapshot_id))
            .where(fingerprint == fp)
            .limit(1)
        )
        facts = session.exec(current).first()
        if facts is not None:  # else only superseded snapshots carry it
            todo.append(facts)
    return todo, skipped


def store_verdict(
    session: Session, fingerprint: str, verdict: Verdict, row: Verification | None = None
) -> Verification:
    """Write the verdict of one fingerprint into `row` (its existing row) or a new row."""
    from registry.models import Verification

    data = verdict.to_dict()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if row is None:
        row = Verification(
            fingerprint=fingerprint, verdict="", device="", core_version="", verified_at=now
        )
    row.verdict = verdict.verdict
    row.checks = data["checks"]
    row.runtimes = data["runtimes"]
    row.device = verdict.device
    row.core_version = verdict.core_version
    row.verified_at = now
    session.add(row)
    return row


def verify_catalog(
    session: Session,
    *,
    device: str = "auto",
    force: bool = False,
    progress: Progress | None = None,
) -> VerifySummary:
    """Verify every distinct fingerprint without a verdict (all of them with `force`).

    Commits every `BATCH` verdicts and at the end.
    """
    from sqlmodel import select

    from registry.models import Verification
    from registry.verify.verdict import verify
    from yarn_core.rope import resolve_device

    dev = str(resolve_device(device))
    todo, skipped = pending(session, force=force)
    # Pending fingerprints may already have a row (--force, or a verdict of an older verifier).
    rows = {v.fingerprint: v for v in session.exec(select(Verification)).all()}
    counts: Counter[str] = Counter()
    for done, facts in enumerate(todo, start=1):
        verdict = verify(input_from_facts(facts), device=dev)
        fingerprint = facts.verify_fingerprint
        assert fingerprint is not None
        store_verdict(session, fingerprint, verdict, rows.get(fingerprint))
        counts[verdict.verdict] += 1
        if done % BATCH == 0:
            session.commit()
        if progress is not None:
            progress(done, len(todo))
    session.commit()
    return VerifySummary(len(todo), skipped, dict(counts), dev)
