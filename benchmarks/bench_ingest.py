"""Catalog write speed: one `store_config` call per config against `store_configs` batches.

Each path stores the whole shared corpus (459 configs, as read from a Hub-like tree) into a fresh
SQLite catalog file, in transactions of `--batch` configs, in the same run; then it stores the
same bytes again (every config unchanged). With `--before REV`, the `registry/ingest.py` of that
git revision (loaded from `git show`, under another module name) is timed the same way, one
`store_config` call per config. The catalogs are compared: same models, snapshots, facts,
change and error rows.

    .venv/bin/python benchmarks/bench_ingest.py --rounds 3 --before 45fd80b
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
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
    from registry.store import store_config

    for repo_id, raw in items:
        store_config(session, repo_id=repo_id, raw=raw, hub=None, run_id=None)


def batched(session: Any, items: Items) -> None:
    from registry.store import store_configs
    from scrapers.records import RepoItem

    store_configs(session, [RepoItem(repo_id, raw=raw) for repo_id, raw in items], run_id=None)


def load_before(rev: str, work: Path) -> Writer:
    """A per-item writer using `registry/ingest.py` as it was at git revision `rev`."""
    text = subprocess.run(
        ["git", "show", f"{rev}:registry/ingest.py"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = work / "ingest_before.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("registry.ingest_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)

    def write(session: Any, items: Items) -> None:
        for repo_id, raw in items:
            module.store_config(session, repo_id=repo_id, raw=raw, hub=None, run_id=None)

    return write


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


def one_round(items: Items, work: Path, batch: int, paths: dict[str, Writer]) -> dict[str, Any]:
    from registry.db import open_engine

    out: dict[str, Any] = {}
    contents = []
    for name, write in paths.items():
        engine = open_engine(str(work / f"{name}.db"))
        out[f"{name}_first"] = timed(engine, items, write, batch)
        out[f"{name}_again"] = timed(engine, items, write, batch)
        contents.append(content(engine))
    out["same"] = all(c == contents[0] for c in contents)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="Report medians over the rounds.")
    parser.add_argument("--batch", type=int, default=200, help="Configs per transaction.")
    parser.add_argument("--before", help="Git revision whose store_config is timed as well.")
    args = parser.parse_args()

    from scrapers.hubtree import build_hub_tree
    from scrapers.tagger import tag_config

    tag_config({"model_type": "llama"})  # import the tagger before any clock starts
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    entries = build_hub_tree(CORPUS, work / "hub")
    items = [(e.repo_id, e.config_path.read_bytes()) for e in entries]
    paths: dict[str, Writer] = {"per_item": per_item, "batch": batched}
    labels = {"per_item": "store_config, one call each", "batch": "store_configs"}
    if args.before:
        paths = {"before": load_before(args.before, work), **paths}
        labels["before"] = f"store_config at {args.before}, one call each"
    load = os.getloadavg()[0]
    rounds = []
    for n in range(args.rounds):
        (work / f"round{n}").mkdir()
        rounds.append(one_round(items, work / f"round{n}", args.batch, paths))
    print(
        f"corpus: {len(items)} configs; transactions of {args.batch}; {args.rounds} rounds, "
        f"medians; load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(f"same catalog content: {all(r['same'] for r in rounds)}")
    print()
    print("| path | store all (s) | CPU (s) | ms per config | store again, unchanged (s) |")
    print("|---|---:|---:|---:|---:|")
    for name in paths:
        wall = statistics.median(r[f"{name}_first"][0] for r in rounds)
        cpu = statistics.median(r[f"{name}_first"][1] for r in rounds)
        again = statistics.median(r[f"{name}_again"][0] for r in rounds)
        ms = 1000 * wall / len(items)
        print(f"| {labels[name]} | {wall:.2f} | {cpu:.2f} | {ms:.1f} | {again:.2f} |")
    print()
    for name in paths:
        if name == "batch":
            continue
        first = statistics.median(r[f"{name}_first"][0] / r["batch_first"][0] for r in rounds)
        again = statistics.median(r[f"{name}_again"][0] / r["batch_again"][0] for r in rounds)
        print(f"store_configs vs {labels[name]}: {first:.1f}x (first store), {again:.1f}x (again)")


if __name__ == "__main__":
    main()
