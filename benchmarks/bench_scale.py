"""The catalog at scale on SQLite or PostgreSQL: ingest, verify, queries, full, incremental render.

    .venv/bin/python benchmarks/bench_scale.py --backend sqlite --count 1000000
    .venv/bin/python benchmarks/bench_scale.py --backend postgresql --count 1000000

One synthetic catalog of `--count` models (the rows of `bench_render.py`: five rope parameter
sets, eight families, a change every 50 models, shared verifications), bulk-inserted in chunks
(a temporary SQLite file, or a database in a private PostgreSQL 15 cluster started as the tests
start theirs, or `--pg-url`). Then each phase runs in its own process, which reports its wall
time and peak RSS (VmHWM; for the render, also the largest forked page worker):

1. ingest: `--ingest` new configs through `store_configs` (the scrape's write path), batches
   of 200; baseline: `tag_config` on the same bytes in the same process (the per-config floor).
2. verify: `verify_catalog` over the whole catalog (fingerprint dedup; the new configs bring a
   few fingerprints); baseline: the fingerprint scan alone. Then the planner statistics are
   refreshed, as the nightly's verify stage does (`registry.db.refresh_statistics`).
3. queries: the queries of `bench_query.py` (the four standard ones and a fifth sorted by
   context) through `query_models`, and the same SQL through the raw driver, alternately; p50
   and p95 of each.
4. full render, then `--churn` of the models get a new like count (shown on their pages), then
   an incremental render over the site: its time over the full render's. The full render's
   writes are synced to disk first (`os.sync`), so that their writeback is not timed in the
   incremental render.

Results print as one Markdown table per phase; `--json` prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

GLOSSARY = ROOT / "tests" / "data" / "glossary"
CHUNK = 20000


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def build(url: str, count: int) -> dict[str, Any]:
    """Fill the empty catalog at `url` with `count` synthetic models."""
    from bench_render import catalog_rows, verification_rows
    from sqlalchemy import insert, text

    from registry.db import open_engine
    from registry.models import Change, ConfigSnapshot, Model, PositionFacts, Run, Verification

    start = time.perf_counter()
    engine = open_engine(url)
    tables = {
        "models": Model.__table__,  # type: ignore[attr-defined]
        "snaps": ConfigSnapshot.__table__,  # type: ignore[attr-defined]
        "facts": PositionFacts.__table__,  # type: ignore[attr-defined]
        "changes": Change.__table__,  # type: ignore[attr-defined]
    }
    stamp = "2026-11-28T03:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(insert(Verification.__table__), verification_rows(stamp))  # type: ignore[attr-defined]
        conn.execute(
            insert(Run.__table__),  # type: ignore[attr-defined]
            [{"kind": "ingest", "started_at": stamp, "ended_at": stamp, "status": "ok"}],
        )
    for first in range(1, count + 1, CHUNK):
        rows = catalog_rows(first, min(count, first + CHUNK - 1))
        with engine.begin() as conn:
            for name in ("models", "snaps", "facts", "changes"):
                if rows[name]:
                    conn.execute(insert(tables[name]), rows[name])
    with engine.begin() as conn:
        conn.execute(text("UPDATE models SET snapshot_id = id"))
        if engine.dialect.name == "postgresql":
            for table in ("models", "config_snapshots", "position_facts", "changes", "runs"):
                seq = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({seq}, (SELECT max(id) FROM {table}))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "models_per_s": count / seconds}


def synthetic_config(i: int) -> bytes:
    """A llama-style config with its own rope scaling (a new fingerprint every 97 configs)."""
    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "num_hidden_layers": 32,
        "rope_theta": 500000.0,
        "max_position_embeddings": 131072,
        "rope_scaling": {
            "rope_type": "llama3",
            "factor": 8.0 + (i % 97) / 8,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
        },
    }
    return json.dumps(config).encode()


def phase_ingest(url: str, count: int) -> dict[str, Any]:
    from registry.db import open_engine, session_factory
    from registry.store import store_configs
    from scrapers.records import RepoItem
    from scrapers.tagger import tag_config

    raws = [synthetic_config(i) for i in range(count)]
    tag_config(json.loads(raws[0]))  # imports and first-call set-up are not tagging
    start = time.perf_counter()
    for raw in raws:
        tag_config(json.loads(raw))
    tag_s = time.perf_counter() - start
    engine = open_engine(url)
    make = session_factory(engine)
    start = time.perf_counter()
    for first in range(0, count, 200):
        items = [
            RepoItem(repo_id=f"ingest-org/new-{i:06d}", raw=raws[i], commit_sha=f"{i:040x}")
            for i in range(first, min(count, first + 200))
        ]
        with make() as session:
            store_configs(session, items, run_id=None)
            session.commit()
    seconds = time.perf_counter() - start
    engine.dispose()
    return {
        "configs": count,
        "seconds": seconds,
        "configs_per_s": count / seconds,
        "tag_only_per_s": count / tag_s,
        "rss_mib": peak_rss_mib(),
    }


def phase_verify(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from registry.db import open_engine, refresh_statistics, session_factory
    from registry.verify.catalog import verify_catalog

    engine = open_engine(url)
    start = time.perf_counter()
    with engine.connect() as conn:
        distinct = conn.execute(
            text("SELECT COUNT(DISTINCT verify_fingerprint) FROM position_facts")
        ).scalar()
    scan_s = time.perf_counter() - start
    start = time.perf_counter()
    with session_factory(engine)() as session:
        summary = verify_catalog(session, device="cpu")
        session.commit()
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    refresh_statistics(engine)  # as the nightly's verify stage ends
    statistics_s = time.perf_counter() - start
    engine.dispose()
    return {
        "seconds": seconds,
        "statistics_s": statistics_s,
        "fingerprint_scan_s": scan_s,
        "distinct": distinct,
        "summary": str(summary)[:200],
        "rss_mib": peak_rss_mib(),
    }


def phase_queries(url: str, repeat: int) -> dict[str, Any]:
    from bench_query import p95, time_queries

    out = {
        label: {
            "rows": count,
            "ours_p50": statistics.median(times[0]),
            "ours_p95": p95(times[0]),
            "raw_p50": statistics.median(times[1]),
            "raw_p95": p95(times[1]),
        }
        for label, count, times in time_queries(url, repeat)
    }
    return {"queries": out, "rss_mib": peak_rss_mib()}


def phase_render(url: str, site: Path, incremental: bool) -> dict[str, Any]:
    from registry.db import open_engine
    from registry.sitegen import render_site

    engine = open_engine(url, create=False, readonly=True)
    start = time.perf_counter()
    summary = render_site(engine, site, glossary_dir=GLOSSARY, incremental=incremental)
    seconds = time.perf_counter() - start
    engine.dispose()
    return {
        "seconds": seconds,
        "model_pages": summary.model_pages,
        "reused": summary.reused,
        "files": summary.files,
        "rss_mib": peak_rss_mib(),
        "worker_rss_mib": children_rss_mib(),
    }


def churn(url: str, fraction: float) -> int:
    from sqlalchemy import text

    from registry.db import open_engine

    engine = open_engine(url, create=False)
    step = max(1, round(1 / fraction))
    with engine.begin() as conn:
        changed = conn.execute(
            text("UPDATE models SET likes = likes + 1 WHERE id % :s = 0"), {"s": step}
        ).rowcount
    engine.dispose()
    return int(changed)


def run_phase(args: list[str]) -> dict[str, Any]:
    """One phase in its own process (its peak RSS is its own)."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def child(argv: list[str]) -> None:
    name, url = argv[0], argv[1]
    if name == "build":
        result = build(url, int(argv[2]))
        result["rss_mib"] = peak_rss_mib()
    elif name == "ingest":
        result = phase_ingest(url, int(argv[2]))
    elif name == "verify":
        result = phase_verify(url)
    elif name == "queries":
        result = phase_queries(url, int(argv[2]))
    elif name in ("render", "incremental"):
        result = phase_render(url, Path(argv[2]), incremental=name == "incremental")
    else:
        raise SystemExit(f"unknown phase {name}")
    print(json.dumps(result, default=str))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--ingest", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: a private one)")
    parser.add_argument("--work", type=Path, help="where the catalog and site go")
    parser.add_argument("--skip-render", action="store_true", help="no full or incremental render")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ropedex-scale-", dir=ROOT / "benchmarks"))
    work.mkdir(parents=True, exist_ok=True)
    cluster = None
    url = args.pg_url
    if args.backend == "sqlite":
        url = str(work / f"scale-{args.count}.db")
        Path(url).unlink(missing_ok=True)
    elif url is None:
        from tests.pgcluster import pg_bin_dir, start_cluster

        bindir = pg_bin_dir()
        if bindir is None:
            raise SystemExit("PostgreSQL binaries not found; install postgresql-15 or --pg-url")
        cluster = start_cluster(bindir)
        url = cluster.create_database()
    results: dict[str, Any] = {"backend": args.backend, "count": args.count}
    site = work / f"site-{args.backend}-{args.count}"
    shutil.rmtree(site, ignore_errors=True)
    try:
        steps: list[tuple[str, list[str]]] = [
            ("build", ["build", url, str(args.count)]),
            ("ingest", ["ingest", url, str(args.ingest)]),
            ("verify", ["verify", url]),
            ("queries", ["queries", url, str(args.repeat)]),
        ]
        if not args.skip_render:
            steps.append(("render", ["render", url, str(site)]))
        for name, argv in steps:
            results[name] = run_phase(argv)
            print(f"{name}: {json.dumps(results[name], default=str)}", file=sys.stderr, flush=True)
        if not args.skip_render:
            os.sync()  # the full render's writes reach the disk before the next phase starts
            results["changed"] = churn(url, args.churn)
            results["incremental"] = run_phase(["incremental", url, str(site)])
            results["incremental"]["ratio"] = (
                results["incremental"]["seconds"] / results["render"]["seconds"]
            )
    finally:
        if cluster is not None:
            cluster.stop()
    if args.json:
        print(json.dumps(results, indent=1, default=str))
        return
    report(results)


def report(r: dict[str, Any]) -> None:
    b, ing, ver = r["build"], r["ingest"], r["verify"]
    print(f"{r['backend']}, {r['count']:,} models (bulk load {b['seconds']:.0f} s)\n")
    print("| phase | wall (s) | rate / ratio | peak RSS (MiB) |")
    print("|---|---:|---:|---:|")
    print(
        f"| ingest {ing['configs']:,} new configs (store_configs) | {ing['seconds']:.1f} "
        f"| {ing['configs_per_s']:.0f} configs/s (tagging alone {ing['tag_only_per_s']:.0f}/s) "
        f"| {ing['rss_mib']:.0f} |"
    )
    print(
        f"| verify (dedup, {ver['distinct']} fingerprints) | {ver['seconds']:.1f} "
        f"| scan {ver['fingerprint_scan_s']:.2f} s; statistics {ver['statistics_s']:.2f} s "
        f"| {ver['rss_mib']:.0f} |"
    )
    if "render" in r:
        ren, inc = r["render"], r["incremental"]
        print(
            f"| full render ({ren['model_pages']:,} model pages) | {ren['seconds']:.1f} | 1 "
            f"| {ren['rss_mib']:.0f} (workers {ren['worker_rss_mib']:.0f}) |"
        )
        print(
            f"| incremental render ({r['changed']:,} changed, {inc['reused']:,} kept) "
            f"| {inc['seconds']:.1f} | {inc['ratio']:.3f} of full "
            f"| {inc['rss_mib']:.0f} (workers {inc['worker_rss_mib']:.0f}) |"
        )
    print("\n| query | ours p50 | ours p95 | raw p50 | raw p95 | p50 ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, q in r["queries"]["queries"].items():
        print(
            f"| {label} | {q['ours_p50']:.1f} | {q['ours_p95']:.1f} | {q['raw_p50']:.1f} "
            f"| {q['raw_p95']:.1f} | {q['ours_p50'] / q['raw_p50']:.2f} |"
        )


if __name__ == "__main__":
    main()
