"""Verifier cost: per distinct corpus fingerprint, and on a large synthetic catalog with dedup.

    .venv/bin/python benchmarks/bench_verify.py                      # 100,000-model catalog
    .venv/bin/python benchmarks/bench_verify.py --models 20000 --slice 500 --device cpu

Part 1 tags every corpus config, keeps one config per distinct `verify_fingerprint` and times
`verify` on each (after one warm-up call that pays for importing torch). Baseline in the same
run: `tag_config` on the same configs.

Part 2 ingests the corpus with the real ingest, then copies its facts into a catalog of
`--models` models (the real schema, bulk inserts), so the catalog holds as many distinct
fingerprints as the corpus. It times `verify_catalog` (one verification per fingerprint) and,
as the baseline, verifying every model of a `--slice` without dedup, extrapolated to the whole
catalog. A second, ten times smaller catalog shows that the dedup cost follows the number of
distinct fingerprints, not the number of models.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.db import open_engine, session_factory  # noqa: E402
from registry.models import ConfigSnapshot, Model, PositionFacts  # noqa: E402
from registry.sync import ingest_tree  # noqa: E402
from registry.verify.catalog import pending, verify_catalog  # noqa: E402
from registry.verify.inputs import input_from_facts, input_from_tag  # noqa: E402
from registry.verify.verdict import verify  # noqa: E402
from scrapers.hubtree import build_hub_tree, read_manifest  # noqa: E402
from scrapers.tagger import tag_config  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus_part(device: str) -> None:
    import json

    configs = [json.loads(p.read_text(encoding="utf-8")) for _, p in read_manifest(CORPUS)]
    start = time.perf_counter()
    tags = [tag_config(c) for c in configs]
    tag_s = time.perf_counter() - start
    distinct: dict[str, Any] = {}
    for tag in tags:
        if tag.verify_fingerprint is not None:
            distinct.setdefault(tag.verify_fingerprint, tag)
    inputs = [input_from_tag(t) for t in distinct.values()]
    start = time.perf_counter()
    verify(inputs[0], device=device)  # warm-up: imports torch, first kernels
    warm_s = time.perf_counter() - start
    times = []
    for inp in inputs:
        start = time.perf_counter()
        verify(inp, device=device)
        times.append(time.perf_counter() - start)
    total = sum(times)
    per_tag = tag_s / len(configs)
    print(f"corpus: {len(configs)} configs, {len(inputs)} distinct verify fingerprints")
    print(f"first call (imports torch): {warm_s:.2f} s")
    print(f"verify all distinct:        {total:.3f} s on {device}")
    print(
        f"per config: mean {1e3 * total / len(times):.2f} ms, median "
        f"{1e3 * statistics.median(times):.2f} ms, max {1e3 * max(times):.2f} ms"
    )
    print(
        f"baseline tag_config:        {1e3 * per_tag:.3f} ms per config "
        f"(verify / tag = {total / len(times) / per_tag:.0f}x)"
    )


def build_catalog(db: Path, hub: Path, models: int) -> int:
    """A catalog of `models` models whose facts cycle through the corpus facts."""
    engine = open_engine(str(db))
    ingest_tree(engine, hub)
    with session_factory(engine)() as session:
        from sqlmodel import select

        facts = [f.model_dump() for f in session.exec(select(PositionFacts)).all()]
    base = len(facts)
    first = 1_000_000  # ids clear of the ingested rows
    model_rows, snap_rows, fact_rows = [], [], []
    for i in range(models - base):
        n = first + i
        model_rows.append({"id": n, "repo_id": f"synthetic/m{i}", "snapshot_id": None})
        snap_rows.append(
            {
                "id": n,
                "model_id": n,
                "repo_id": f"synthetic/m{i}",
                "fetched_at": "2026-01-01T00:00:00+00:00",
                "content_hash": f"h{i}",
                "size": 0,
            }
        )
        fact_rows.append({**facts[i % base], "id": n, "snapshot_id": n})
    if not model_rows:
        return base
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(Model.__table__.insert(), model_rows)  # type: ignore[attr-defined]
        conn.execute(ConfigSnapshot.__table__.insert(), snap_rows)  # type: ignore[attr-defined]
        conn.execute(PositionFacts.__table__.insert(), fact_rows)  # type: ignore[attr-defined]
        conn.execute(
            text("UPDATE models SET snapshot_id = id WHERE id >= :first"), {"first": first}
        )
    return base


def catalog_part(models: int, slice_: int, device: str) -> None:
    from sqlmodel import select

    with tempfile.TemporaryDirectory() as tmp:
        hub = Path(tmp) / "hub"
        build_hub_tree(CORPUS, hub)
        rows = []
        for n in (models // 10, models):
            db = Path(tmp) / f"c{n}.db"
            start = time.perf_counter()
            build_catalog(db, hub, n)
            build_s = time.perf_counter() - start
            make = session_factory(open_engine(str(db)))
            with make() as session:
                start = time.perf_counter()
                pending(session, force=False)
                scan_s = time.perf_counter() - start
            with make() as session:
                start = time.perf_counter()
                summary = verify_catalog(session, device=device)
                dedup_s = time.perf_counter() - start
            rows.append((n, summary.checked, dedup_s, build_s, scan_s))
        db = Path(tmp) / f"c{models}.db"
        with session_factory(open_engine(str(db)))() as session:
            facts = list(session.exec(select(PositionFacts).limit(slice_)).all())
        start = time.perf_counter()
        for f in facts:
            verify(input_from_facts(f), device=device)
        per_model = (time.perf_counter() - start) / len(facts)
    for n, checked, dedup_s, build_s, scan_s in rows:
        print(
            f"catalog {n:>7} models: {checked} fingerprints verified in {dedup_s:.2f} s, of which "
            f"{scan_s:.2f} s finding them (catalog built in {build_s:.1f} s)"
        )
    n, checked, dedup_s, _, _ = rows[-1]
    without = per_model * n
    print(
        f"baseline, no dedup: {1e3 * per_model:.2f} ms per model over a {len(facts)}-model "
        f"slice -> {without:.0f} s for {n} models (dedup is {without / dedup_s:.0f}x faster)"
    )
    print(f"dedup cost ratio {rows[-1][0]} vs {rows[0][0]} models: {rows[-1][2] / rows[0][2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--slice", type=int, default=2000, help="models verified without dedup")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    corpus_part(args.device)
    catalog_part(args.models, args.slice, args.device)


if __name__ == "__main__":
    main()
