"""Render time of the static site for synthetic catalogs of 1,000 / 10,000 / 100,000 models.

Baseline, measured in the same run on the same catalog: one pass that reads every joined model
row (what any renderer must at least do). Reported: render seconds, the ratio to the baseline,
the cost per model (linear cost keeps it flat), and the weight of the largest pages.

    .venv/bin/python benchmarks/bench_render.py               # 1000,10000,100000
    .venv/bin/python benchmarks/bench_render.py --sizes 1000  # quick look

Catalogs and sites go to benchmarks/_out/ (ignored by git).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILIES = ("llama", "qwen", "deepseek", "mistral", "gemma", "phi", "glm", "gpt-oss")
ROPES: list[dict[str, Any]] = [
    {"rope_type": "default", "theta": 10000.0, "head_dim": 128, "rotary_dim": 128},
    {"rope_type": "default", "theta": 1000000.0, "head_dim": 128, "rotary_dim": 128},
    {
        "rope_type": "yarn",
        "theta": 10000.0,
        "head_dim": 192,
        "rotary_dim": 64,
        "factor": 40.0,
        "original_max_position_embeddings": 4096,
        "max_position_embeddings": 163840,
        "beta_fast": 32.0,
        "beta_slow": 1.0,
    },
    {
        "rope_type": "llama3",
        "theta": 500000.0,
        "head_dim": 128,
        "rotary_dim": 128,
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "max_position_embeddings": 131072,
    },
    {
        "rope_type": "linear",
        "theta": 10000.0,
        "head_dim": 128,
        "rotary_dim": 128,
        "factor": 4.0,
        "max_position_embeddings": 16384,
    },
]
TAG_OF = {"default": "rope", "yarn": "rope-yarn", "llama3": "rope-llama3", "linear": "rope-linear"}


def catalog_rows(first: int, last: int) -> dict[str, list[dict[str, Any]]]:
    """Models `first`..`last` with their snapshots, facts and changes, by table (the models'
    snapshot ids are left unset: the snapshots point at their models)."""
    from yarn_core.params import RopeParams

    stamp = "2026-11-28T03:00:00+00:00"
    params = [RopeParams.from_dict(r) for r in ROPES]
    prints = [p.fingerprint() for p in params]
    rows: dict[str, list[dict[str, Any]]] = {"models": [], "snaps": [], "facts": []}
    rows["changes"] = []
    for i in range(first, last + 1):
        kind = i % len(ROPES)
        rope = params[kind]
        family = FAMILIES[i % len(FAMILIES)]
        config = {"model_type": family, "rope_scaling": ROPES[kind]}
        repo_id = f"org{i % 997}/model-{i:06d}"
        rows["models"].append(
            {
                "id": i, "repo_id": repo_id, "author": f"org{i % 997}", "family": family,
                "model_type": family, "downloads": (i * 7919) % 1_000_003, "likes": i % 500,
                "status": "ok", "private": False, "first_seen": stamp, "last_seen": stamp,
            }
        )  # fmt: skip
        rows["snaps"].append(
            {
                "id": i, "model_id": i, "repo_id": repo_id, "fetched_at": stamp,
                "content_hash": f"{i:064x}", "size": 400,
                "config_text": json.dumps(config, indent=2),
            }
        )  # fmt: skip
        rows["facts"].append(
            {
                "snapshot_id": i, "tagger_version": 1,
                "position_encoding": TAG_OF.get(rope.rope_type, "rope"),
                "rope_theta": rope.theta, "head_dim": rope.head_dim,
                "rotary_dim": rope.rotary_dim,
                "scaling_type": None if rope.rope_type == "default" else rope.rope_type,
                "scaling_factor": rope.factor,
                "original_context": rope.original_max_position_embeddings,
                "declared_context": rope.max_position_embeddings or 4096,
                "effective_context": rope.max_position_embeddings or 4096,
                "rope_parameters": {"default": rope.to_dict()},
                "rope_fingerprint": prints[kind], "verify_fingerprint": prints[kind],
                "evidence": {"rope_scaling": "<rope block>", "model_type": family},
            }
        )  # fmt: skip
        if i % 50 == 0:
            rows["changes"].append(
                {
                    "model_id": i, "repo_id": repo_id, "field_path": "scaling_factor",
                    "old_value": "4.0", "new_value": "8.0",
                    "changed_at": f"2026-11-{1 + i % 27:02d}T00:00:00+00:00",
                }
            )  # fmt: skip
    return rows


def verification_rows(stamp: str) -> list[dict[str, Any]]:
    """One passing verifier row per rope parameter set (the models share them)."""
    from yarn_core.params import RopeParams

    checks = [{"id": "C1-type-key", "status": "pass", "message": "rope_type is set"}]
    return [
        {
            "fingerprint": RopeParams.from_dict(r).fingerprint(),
            "verdict": "pass",
            "checks": checks,
            "runtimes": {"transformers": {"served_context": 4096}},
            "device": "cpu",
            "core_version": "1",
            "verified_at": stamp,
        }
        for r in ROPES
    ]


def build_catalog(path: Path, count: int) -> None:
    """`count` models with snapshots, facts, shared verifications and a few changes."""
    from sqlalchemy import insert, text

    from registry.db import open_engine
    from registry.models import (
        Change,
        ConfigSnapshot,
        Model,
        PositionFacts,
        Run,
        Verification,
    )

    path.unlink(missing_ok=True)
    engine = open_engine(str(path))
    stamp = "2026-11-28T03:00:00+00:00"
    rows = catalog_rows(1, count)
    verifications = verification_rows(stamp)
    with engine.begin() as conn:
        conn.execute(insert(Model.__table__), rows["models"])  # type: ignore[attr-defined]
        conn.execute(insert(ConfigSnapshot.__table__), rows["snaps"])  # type: ignore[attr-defined]
        conn.execute(insert(PositionFacts.__table__), rows["facts"])  # type: ignore[attr-defined]
        conn.execute(insert(Verification.__table__), verifications)  # type: ignore[attr-defined]
        if rows["changes"]:
            conn.execute(insert(Change.__table__), rows["changes"])  # type: ignore[attr-defined]
        conn.execute(
            insert(Run.__table__),  # type: ignore[attr-defined]
            [{"kind": "ingest", "started_at": stamp, "ended_at": stamp, "status": "ok"}],
        )
        conn.execute(text("UPDATE models SET snapshot_id = id"))
    engine.dispose()


def read_rows(engine: Any) -> int:
    """Baseline: stream every joined model row once."""
    from registry.sitegen.read import iter_models

    with engine.connect() as conn:
        return sum(1 for _ in iter_models(conn))


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the forked page workers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def largest(out: Path, pattern: str, top: int = 3) -> list[tuple[str, int]]:
    files = sorted(out.glob(pattern), key=lambda p: (-p.stat().st_size, p.as_posix()))
    return [(p.relative_to(out).as_posix(), p.stat().st_size) for p in files[:top]]


def bench(size: int, work: Path) -> dict[str, Any]:
    from registry.db import open_engine
    from registry.sitegen import render_site

    db = work / f"synthetic-{size}.db"
    build_catalog(db, size)
    engine = open_engine(str(db), create=False, readonly=True)
    start = time.perf_counter()
    read_rows(engine)
    baseline = time.perf_counter() - start
    out = work / f"site-{size}"
    shutil.rmtree(out, ignore_errors=True)  # removing an older site is not rendering
    start = time.perf_counter()
    cpu = cpu_seconds()
    summary = render_site(engine, out, glossary_dir=ROOT / "tests" / "data" / "glossary")
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    return {
        "models": size,
        "render_s": seconds,
        "cpu_s": cpu,
        "baseline_s": baseline,
        "ratio": seconds / baseline,
        "ms_per_model": 1000 * seconds / size,
        "files": summary.files,
        "mb": summary.bytes / 1e6,
        "plots": summary.plots,
        "largest_html": largest(out, "**/*.html"),
        "catalog_page": (out / "catalog/index.html").stat().st_size,
        "largest_shard": largest(out, "data/catalog-*.json", 1)[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    work = ROOT / "benchmarks" / "_out"
    work.mkdir(parents=True, exist_ok=True)
    print(
        "| models | render wall (s) | render CPU (s) | read rows (s) | render / read "
        "| ms per model | files | MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench(size, work)
        results.append(r)
        print(
            f"| {r['models']:,} | {r['render_s']:.1f} | {r['cpu_s']:.1f} | {r['baseline_s']:.2f} | "
            f"{r['ratio']:.0f}x | {r['ms_per_model']:.2f} | {r['files']:,} | {r['mb']:.0f} |",
            flush=True,
        )
    last = results[-1]
    print(f"\nLargest pages at {last['models']:,} models:")
    for name, size in last["largest_html"]:
        print(f"- {name}: {size / 1024:.0f} KiB")
    print(f"- catalog/index.html (no-JS first page): {last['catalog_page'] / 1024:.0f} KiB")
    shard, shard_size = last["largest_shard"]
    print(f"- largest data shard {shard}: {shard_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
