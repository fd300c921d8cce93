"""The run log: one `runs` row per job run (scrape, ingest, verify, nightly), opened when the
job starts and closed with its status, counts and error, whatever way the job ends.

`logged_run(make, kind)` is what every job uses: the row is committed at once (so a killed
process leaves a `running` row that the next nightly marks `interrupted`), and closed on exit
with the status the job set, or `interrupted` / `failed` when it was stopped by an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from registry.models import Run

if TYPE_CHECKING:
    from sqlmodel import Session

MAX_DETAIL = 2000  # characters of an error text kept in a row


def now_iso() -> str:
    """The current UTC time, to the second, as the catalog stores times."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def clip(text: str | None, limit: int = MAX_DETAIL) -> str | None:
    """`text` with URL credentials blanked out (`scrapers.redact`), cut to `limit` characters
    (an ellipsis marks the cut): every error text a row keeps goes through here."""
    from scrapers.redact import redact_text

    if text is None:
        return None
    text = redact_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(exc: BaseException) -> str:
    """`Type: message` of an exception, first line only, for a run's error column."""
    from scrapers.redact import redact_text

    text = redact_text(f"{type(exc).__name__}: {exc}")
    return text.splitlines()[0][:500] if text else type(exc).__name__


def start_run(session: Session, kind: str) -> Run:
    """Add a running run row (flushed, so it has an id)."""
    run = Run(kind=kind, started_at=now_iso())
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    run: Run,
    *,
    status: str,
    counts: dict[str, Any],
    error: str | None = None,
) -> Run:
    """Close a run: end time, final status (ok | partial | failed | interrupted) and counts."""
    run.ended_at = now_iso()
    run.status = status
    run.counts = dict(counts)
    run.error = clip(error)
    session.add(run)
    return run


def mark_interrupted(session: Session) -> int:
    """Runs still `running` while the caller holds the job lock were killed: say so.

    Returns how many rows changed; the caller commits.
    """
    from sqlmodel import select

    stale = session.exec(select(Run).where(Run.status == "running")).all()
    for run in stale:
        run.status = "interrupted"
        run.error = "the process ended before the run finished"
        session.add(run)
    return len(stale)


@dataclass
class RunRecord:
    """What a job reports about its run while it works; `logged_run` writes it at the end."""

    id: int
    status: str = "failed"  # the job sets ok / partial / failed before it returns
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@contextmanager
def logged_run(make: Callable[[], Session], kind: str) -> Iterator[RunRecord]:
    """Open a run row of `kind`, yield its record, and close it however the block ends.

    An exception closes it as `interrupted` (KeyboardInterrupt) or `failed` (with the error
    text, unless the job set one) and propagates.
    """
    with make() as session:
        run = start_run(session, kind)
        session.commit()
        assert run.id is not None
        record = RunRecord(run.id)
    try:
        yield record
    except KeyboardInterrupt:
        record.status = "interrupted"
        raise
    except BaseException as exc:
        record.status = "failed"
        record.error = record.error or one_line(exc)
        raise
    finally:
        with make() as session:
            row = session.get(Run, record.id)
            if row is not None:
                finish_run(
                    session, row, status=record.status, counts=record.counts, error=record.error
                )
                session.commit()
