"""Benchmark a night over a whole-Hub listing: N synthetic repos, a churn fraction changed.

    .venv/bin/python benchmarks/bench_hub_scale.py [--count 1000000] [--churn 0.01]
        [--latency-ms 30] [--workers 8] [--skip-full]

1. Seed: a fresh SQLite catalog gets generation 0 of the synthetic Hub through `store_configs`
   (the write path every scrape uses), in transactions of 1,000; the ingest rate is reported.
   The seed ends with the run-log row an `ok` incremental scrape leaves (its high-water mark),
   so the next scrape is a normal second night.
2. Night: the synthetic Hub at generation 1 (a `--churn` fraction has a new commit) is served
   by the mirror in this process with `--latency-ms` per request; `ropedex scrape --incremental`
   runs in its own process with the real huggingface_hub client. Reported: requests by kind
   (from the mirror's counters), wall time, the child's peak RSS.
3. Baseline, same run: `ropedex scrape` without `--incremental` (it walks every listing page and
   refreshes the listing metadata of every unchanged repo), on a copy of the seeded catalog.

Target: requests of the incremental night = listing pages down to the mark + changed models.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent


def seed(db: Path, count: int, workdir: Path) -> dict[str, float]:
    from registry.db import open_engine, session_factory
    from registry.models import Run
    from registry.store import store_configs
    from registry.sync import ScrapeSummary
    from scrapers.records import HubMeta, RepoItem
    from scrapers.synthetic import EPOCH, SyntheticHub, repo_name

    hub = SyntheticHub(count, workdir, generation=0)
    engine = open_engine(str(db))
    make = session_factory(engine)
    texts = {}
    started = time.perf_counter()
    cpu = time.process_time()
    for low in range(0, count, 1000):
        items = []
        for i in range(low, min(low + 1000, count)):
            path = hub.entry(i).files["config.json"]
            raw = texts.get(path) or texts.setdefault(path, path.read_bytes())
            meta = HubMeta.from_api(hub.entry(i).meta)
            items.append(RepoItem(repo_name(i), raw=raw, hub=meta, commit_sha=hub.sha(i)))
        with make() as session:
            store_configs(session, items, run_id=None)
            session.commit()
    wall = time.perf_counter() - started
    summary = ScrapeSummary(status="ok", listed=count, new=count)
    summary.high_water_mark = EPOCH.isoformat()
    with make() as session:
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        session.add(Run(kind="scrape", started_at=now, ended_at=now, status="ok",
                        counts=summary.to_dict()))  # fmt: skip
        session.commit()
    engine.dispose()
    return {"seconds": wall, "cpu_seconds": time.process_time() - cpu, "per_second": count / wall}


def seed_bulk(db: Path, count: int, workdir: Path) -> dict[str, float]:
    """Generation 0 for big counts: the first template repos go through `store_configs`; their
    rows (model, snapshot, facts) are then cloned for every other repo with its own id, sha and
    lastModified, in a few bulk inserts. The catalog is the one `seed` would build, without
    the hours of tagging identical configs."""
    import sqlite3

    from scrapers.synthetic import SyntheticHub, repo_name

    templates = 8
    seed(db, templates, workdir)
    hub = SyntheticHub(count, workdir, generation=0)
    started, cpu = time.perf_counter(), time.process_time()
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    models = {r["repo_id"]: dict(r) for r in conn.execute("SELECT * FROM models")}
    snaps = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM config_snapshots")}
    facts = {r["snapshot_id"]: dict(r) for r in conn.execute("SELECT * FROM position_facts")}
    by_index = [models[repo_name(i)] for i in range(templates)]
    next_fact = max(f["id"] for f in facts.values()) + 1
    for low in range(templates, count, 50_000):
        m_rows, s_rows, f_rows = [], [], []
        for i in range(low, min(low + 50_000, count)):
            model = dict(by_index[i % templates])
            snap, fact = dict(snaps[model["snapshot_id"]]), dict(facts[model["snapshot_id"]])
            ident, repo_id, sha = i + 1, repo_name(i), hub.sha(i)
            stamp = hub.entry(i).meta["lastModified"]
            model.update(id=ident, repo_id=repo_id, author=repo_id.split("/")[0])
            model.update(snapshot_id=ident, sha=sha, last_modified=stamp)
            snap.update(id=ident, model_id=ident, repo_id=repo_id, commit_sha=sha)
            fact.update(id=next_fact + i, snapshot_id=ident)
            m_rows.append(model)
            s_rows.append(snap)
            f_rows.append(fact)
        with conn:
            conn.execute("PRAGMA defer_foreign_keys=ON")
            for table, rows in (("models", m_rows), ("config_snapshots", s_rows),
                                ("position_facts", f_rows)):  # fmt: skip
                columns = list(rows[0])
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                sql += f"({', '.join('?' for _ in columns)})"
                conn.executemany(sql, [tuple(r[c] for c in columns) for r in rows])
    conn.close()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {"seconds": wall, "cpu_seconds": cpu, "per_second": count / wall, "bulk": 1.0}


def night(
    db: Path, args: argparse.Namespace, workdir: Path, *, incremental: bool
) -> dict[str, Any]:
    from scrapers.faults import FaultPlan
    from scrapers.synthetic import SyntheticHub, make_synthetic_server

    hub = SyntheticHub(args.count, workdir, generation=1, churn=args.churn)
    server = make_synthetic_server(hub, faults=FaultPlan(latency_ms=args.latency_ms))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    cmd = [str(ROOT / ".venv/bin/ropedex"), "--db", str(db), "scrape", "--json", "--no-cache"]
    cmd += ["--endpoint", server.base_url, "--workers", str(args.workers)]
    cmd += ["--incremental"] if incremental else []
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True)
        peak_kib = 0
        while child.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(child.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        proc = subprocess.CompletedProcess(cmd, child.returncode, stdout.read(), stderr.read())
    server.shutdown()
    server.server_close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"scrape failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout)
    return {
        "seconds": wall,
        "requests": dict(server.counts),
        "total_requests": sum(server.counts.values()),
        "peak_rss_mib": peak_kib / 1024,
        "summary": summary,
        "changed_models": round(args.count * args.churn),
    }


def _high_water_kib(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--skip-full", action="store_true", help="no full-walk baseline")
    parser.add_argument(
        "--bulk-seed", action="store_true", help="clone template rows instead of store_configs"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"count": args.count, "churn": args.churn, "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "catalog.db"
        seeder = seed_bulk if args.bulk_seed else seed
        out["seed"] = seeder(db, args.count, work / "templates")
        if not args.skip_full:
            shutil.copy(db, work / "full.db")
        out["incremental"] = night(db, args, work / "templates", incremental=True)
        if not args.skip_full:
            out["full"] = night(work / "full.db", args, work / "templates", incremental=False)
    out["load_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(out, indent=1))
        return
    inc = out["incremental"]
    pages = inc["requests"].get("list", 0)
    print(f"{args.count} synthetic repos, churn {args.churn}, latency {args.latency_ms} ms")
    seeded = out["seed"]
    how = "cloned rows (bulk)" if seeded.get("bulk") else "store_configs"
    print(f"seed via {how}: {seeded['seconds']:.1f} s ({seeded['per_second']:.0f}/s)")
    print(
        f"incremental night: {inc['seconds']:.1f} s, requests {inc['total_requests']} "
        f"= {pages} listing pages + {inc['requests'].get('get', 0)} downloads "
        f"(changed models {inc['changed_models']}), peak RSS {inc['peak_rss_mib']:.0f} MiB"
    )
    if "full" in out:
        full = out["full"]
        print(
            f"full walk (baseline): {full['seconds']:.1f} s, requests {full['total_requests']}, "
            f"peak RSS {full['peak_rss_mib']:.0f} MiB; incremental/full time "
            f"{inc['seconds'] / full['seconds']:.3f}, requests "
            f"{inc['total_requests'] / full['total_requests']:.4f}"
        )
    print(f"load average {out['load']:.1f} at start, {out['load_end']:.1f} at end")


if __name__ == "__main__":
    main()
