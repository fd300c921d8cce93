"""Re-tagging stored config texts whose facts came from an older tagger."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from registry.facts import facts_from_tag
from registry.models import ConfigSnapshot, PositionFacts
from registry.store import run_tagger
from scrapers.configfile import ConfigRejected, parse_config

if TYPE_CHECKING:
    from sqlmodel import Session

    from scrapers.tagger.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]


def _facts_of(session: Session, snapshot_id: int | None) -> PositionFacts | None:
    from sqlmodel import select

    if snapshot_id is None:
        return None
    stmt = select(PositionFacts).where(PositionFacts.snapshot_id == snapshot_id)
    return session.exec(stmt).first()


def _write_facts(session: Session, snapshot_id: int, values: dict[str, Any]) -> PositionFacts:
    facts = _facts_of(session, snapshot_id) or PositionFacts(
        snapshot_id=snapshot_id, tagger_version=0, position_encoding="unknown"
    )
    for key, value in values.items():
        setattr(facts, key, value)
    session.add(facts)
    return facts


_RETAG_CHUNK = 500


def retag_all(session: Session, *, tagger: Tagger | None = None, force: bool = False) -> int:
    """Re-run the tagger over stored config texts whose facts came from an older tagger (or all
    with `force`); facts rows are updated in place. Returns how many were re-tagged.

    Works in chunks of snapshots, so memory stays flat on a large catalog; never commits.
    """
    from sqlmodel import col, or_, select

    from scrapers.tagger.result import TAGGER_VERSION

    stmt = select(ConfigSnapshot.id).outerjoin(
        PositionFacts, col(PositionFacts.snapshot_id) == col(ConfigSnapshot.id)
    )
    if not force:
        stmt = stmt.where(
            or_(col(PositionFacts.id).is_(None), PositionFacts.tagger_version != TAGGER_VERSION)
        )
    ids = [i for i in session.exec(stmt.order_by(col(ConfigSnapshot.id))) if i is not None]
    done = 0
    for start in range(0, len(ids), _RETAG_CHUNK):
        chunk = ids[start : start + _RETAG_CHUNK]
        snapshots = session.exec(select(ConfigSnapshot).where(col(ConfigSnapshot.id).in_(chunk)))
        for snapshot in list(snapshots):
            done += _retag_one(session, snapshot, tagger)
            session.expunge(snapshot)  # drop the config text from the session
        session.flush()
    return done


def _retag_one(session: Session, snapshot: ConfigSnapshot, tagger: Tagger | None) -> int:
    if snapshot.config_text is None or snapshot.id is None:
        return 0
    try:
        parsed = parse_config(snapshot.config_text.encode("utf-8"))
    except ConfigRejected:
        return 0
    tag, _err = run_tagger(tagger, parsed.config)
    if tag is None:
        return 0
    _write_facts(session, snapshot.id, facts_from_tag(tag, nonfinite=parsed.nonfinite))
    return 1
