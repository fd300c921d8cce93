"""Catalog write speed: one `store_config` call per config against `store_configs` batches.

Both paths store the whole shared corpus (459 configs, as read from a Hub-like tree) into fresh
SQLite catalog files, in transactions of `--batch` configs, in the same run; then each stores the
same bytes again (every config unchanged). The two catalogs are compared: same models, snapshots,
facts and change rows.

    .venv/bin/python benchmarks/bench_ingest.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "corpus"

Items = list[tuple[str, bytes]]
Writer = Callable[[Any, Items], None]


def per_item(session: Any, items: Items) -> None:
    from registry.ingest import store_config

    for repo_id, raw in items:
        store_config(session, repo_id=repo_id, raw=raw, hub=None, run_id=None)


def batched(session: Any, items: Items) -> None:
    from registry.ingest import StoreItem, store_configs

    store_configs(session, [StoreItem(repo_id, raw=raw) for repo_id, raw in items], run_id=None)


def timed(engine: Any, items: Items, write: Writer, batch: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to store `items` in transactions of `batch`."""
    from registry.db import session_factory

    make = session_factory(engine)
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(items), batch):
        with make() as session:
            write(session, items[start : start + batch])
            session.commit()
    return time.perf_counter() - wall, time.process_time() - cpu


def content(engine: Any) -> tuple[Any, ...]:
    """Everything the two paths must agree on (ids and timestamps left out)."""
    from sqlalchemy import text

    queries = [
        "SELECT repo_id, author, family, model_type, status, error, sha FROM models",
        "SELECT repo_id, commit_sha, content_hash, size, config_text FROM config_snapshots",
        "SELECT s.repo_id, f.position_encoding, f.rope_parameters, f.details, f.warnings "
        "FROM position_facts f JOIN config_snapshots s ON s.id = f.snapshot_id",
        "SELECT repo_id, field_path, old_value, new_value FROM changes",
        "SELECT repo_id, reason, detail FROM fetch_errors",
    ]
    with engine.connect() as conn:
        return tuple(sorted(map(tuple, conn.execute(text(q)).all())) for q in queries)


def one_round(items: Items, work: Path, batch: int) -> dict[str, Any]:
    from registry.db import open_engine

    out: dict[str, Any] = {}
    engines = {}
    for name, write in (("per_item", per_item), ("batch", batched)):
        engine = open_engine(str(work / f"{name}.db"))
        out[f"{name}_first"] = timed(engine, items, write, batch)
        out[f"{name}_again"] = timed(engine, items, write, batch)
        engines[name] = engine
    out["same"] = content(engines["per_item"]) == content(engines["batch"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="Report medians over the rounds.")
    parser.add_argument("--batch", type=int, default=200, help="Configs per transaction.")
    args = parser.parse_args()

    from scrapers.hubtree import build_hub_tree
    from scrapers.tagger import tag_config

    tag_config({"model_type": "llama"})  # import the tagger before any clock starts
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    entries = build_hub_tree(CORPUS, work / "hub")
    items = [(e.repo_id, e.config_path.read_bytes()) for e in entries]
    load = os.getloadavg()[0]
    rounds = []
    for n in range(args.rounds):
        (work / f"round{n}").mkdir()
        rounds.append(one_round(items, work / f"round{n}", args.batch))
    print(
        f"corpus: {len(items)} configs; transactions of {args.batch}; {args.rounds} rounds, "
        f"medians; load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(f"same catalog content: {all(r['same'] for r in rounds)}")
    print()
    print("| path | store all (s) | CPU (s) | ms per config | store again, unchanged (s) |")
    print("|---|---:|---:|---:|---:|")
    med: dict[str, float] = {}
    for name, label in (("per_item", "store_config, one call each"), ("batch", "store_configs")):
        wall = statistics.median(r[f"{name}_first"][0] for r in rounds)
        cpu = statistics.median(r[f"{name}_first"][1] for r in rounds)
        again = statistics.median(r[f"{name}_again"][0] for r in rounds)
        med[name] = wall
        print(
            f"| {label} | {wall:.2f} | {cpu:.2f} | {1000 * wall / len(items):.1f} | {again:.2f} |"
        )
    ratios = [r["per_item_first"][0] / r["batch_first"][0] for r in rounds]
    again_ratios = [r["per_item_again"][0] / r["batch_again"][0] for r in rounds]
    print()
    print(f"first store: batch {statistics.median(ratios):.1f}x faster than one call each")
    print(f"unchanged store: batch {statistics.median(again_ratios):.1f}x faster")


if __name__ == "__main__":
    main()
