"""Incremental render after a churn fraction of models changed, against a full render.

    .venv/bin/python benchmarks/bench_render_incremental.py [--sizes 10000,100000] [--churn 0.01]

Per size: the synthetic catalog of `bench_render.py`, a full render, then `--churn` of the
models get a new like count (shown on their page, so their pages must change); the site is
rendered again incrementally over the old one and, as the baseline in the same run, in full
into a fresh folder. Both outputs are compared file by file (they must be equal).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

GLOSSARY = ROOT / "tests" / "data" / "glossary"


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def churn(db: Path, fraction: float) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        count = conn.execute("SELECT count(*) FROM models").fetchone()[0]
        step = max(1, round(1 / fraction))
        conn.execute("UPDATE models SET likes = likes + 1 WHERE id % ? = 0", (step,))
        return int(count // step)


def bench(size: int, fraction: float, work: Path) -> dict[str, float]:
    from bench_render import build_catalog

    from registry.db import open_engine
    from registry.sitegen import render_site

    db = work / f"incremental-{size}.db"
    build_catalog(db, size)
    site, full = work / f"inc-site-{size}", work / f"inc-full-{size}"
    for folder in (site, full):
        shutil.rmtree(folder, ignore_errors=True)
    engine = open_engine(str(db), create=False, readonly=True)
    render_site(engine, site, glossary_dir=GLOSSARY)
    engine.dispose()
    changed = churn(db, fraction)
    engine = open_engine(str(db), create=False, readonly=True)
    start = time.perf_counter()
    summary = render_site(engine, site, glossary_dir=GLOSSARY, incremental=True)
    incremental = time.perf_counter() - start
    start = time.perf_counter()
    render_site(engine, full, glossary_dir=GLOSSARY)
    whole = time.perf_counter() - start
    engine.dispose()
    if digest(site) != digest(full):
        raise SystemExit(f"incremental output differs from a full render at {size} models")
    return {
        "models": size,
        "changed": changed,
        "reused": summary.reused,
        "incremental_s": incremental,
        "full_s": whole,
        "ratio": incremental / whole,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--churn", type=float, default=0.01)
    args = parser.parse_args()
    work = ROOT / "benchmarks" / "_out"
    work.mkdir(parents=True, exist_ok=True)
    print("| models | changed | pages reused | incremental (s) | full (s) | incremental / full |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench(size, args.churn, work)
        print(
            f"| {r['models']:,} | {r['changed']:,} | {r['reused']:,} | {r['incremental_s']:.1f} "
            f"| {r['full_s']:.1f} | {r['ratio']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
