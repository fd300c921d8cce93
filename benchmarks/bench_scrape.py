"""Scrape speed: `ropedex scrape` against a naive sequential `hf_hub_download` loop.

Both scrape the whole shared corpus (as a Hub-like tree) from the loopback mirror with a fixed
latency per request, into fresh SQLite catalogs, in the same run. Both list with the real client,
pin each download to the listed sha and store through `registry.ingest.store_config` in batches
of 50, so the only differences are concurrency and the request pattern (one GET versus the
client's HEAD + GET). The two catalogs are then compared: same repos, same bytes, same commits.

    .venv/bin/python benchmarks/bench_scrape.py --latency-ms 30
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "corpus"
BATCH = 50


def _snapshots(engine: Any) -> dict[str, tuple[str, str | None]]:
    from sqlmodel import select

    from registry.db import session_factory
    from registry.models import ConfigSnapshot, Model

    with session_factory(engine)() as session:
        snaps = {s.id: s for s in session.exec(select(ConfigSnapshot))}
        return {
            m.repo_id: (snaps[m.snapshot_id].content_hash, snaps[m.snapshot_id].commit_sha)
            for m in session.exec(select(Model))
            if m.snapshot_id is not None
        }


def naive_loop(engine: Any, url: str, cache_dir: Path) -> int:
    """List, then `hf_hub_download` each config.json one after another; returns models stored."""
    from huggingface_hub import HfApi, hf_hub_download

    from registry.db import session_factory
    from registry.ingest import HubMeta, start_run, store_config
    from scrapers.hub import EXPAND, info_to_api

    api = HfApi(endpoint=url, token=False)
    make = session_factory(engine)
    with make() as session:
        run_id = start_run(session, "scrape").id
        session.commit()
    infos = list(api.list_models(expand=list(EXPAND)))  # type: ignore[arg-type]
    stored = 0
    for start in range(0, len(infos), BATCH):
        with make() as session:
            for info in infos[start : start + BATCH]:
                path = hf_hub_download(
                    info.id,
                    "config.json",
                    revision=info.sha,
                    endpoint=url,
                    cache_dir=cache_dir,
                    token=False,
                )
                meta = info_to_api(info)
                store_config(
                    session,
                    repo_id=info.id,
                    raw=Path(path).read_bytes(),
                    hub=HubMeta.from_api(meta),
                    run_id=run_id,
                    commit_sha=info.sha,
                )
                stored += 1
            session.commit()
    return stored


def fetch_only(url: str, cache_dir: Path, workers: int) -> tuple[float, float, int]:
    """Download phase alone (no catalog): naive loop seconds, our pool seconds, configs."""
    from concurrent.futures import ThreadPoolExecutor

    from huggingface_hub import HfApi, hf_hub_download

    from scrapers.hub import EXPAND, Fetcher, HubOptions, Listed, info_to_api

    api = HfApi(endpoint=url, token=False)
    infos = list(api.list_models(expand=list(EXPAND)))  # type: ignore[arg-type]
    t0 = time.perf_counter()
    for info in infos:
        hf_hub_download(
            info.id,
            "config.json",
            revision=info.sha,
            endpoint=url,
            cache_dir=cache_dir,
            token=False,
        )
    naive_s = time.perf_counter() - t0
    fetcher = Fetcher(api, HubOptions(endpoint=url), known={})
    items = [Listed(info.id, info_to_api(info)) for info in infos]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(fetcher.process, items))
    ours_s = time.perf_counter() - t0
    return naive_s, ours_s, sum(r.fetched is not None for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    from registry.db import open_engine
    from scrapers.faults import FaultPlan
    from scrapers.hub import HubOptions, Selection, scrape
    from scrapers.hubtree import build_hub_tree
    from scrapers.mirror import serve_in_thread
    from scrapers.tagger import tag_config

    tag_config({"model_type": "llama"})  # import the tagger before any clock starts
    work = Path(tempfile.mkdtemp(prefix="bench-scrape-"))
    tree = work / "hub"
    total = len(build_hub_tree(CORPUS, tree))
    plan = FaultPlan(latency_ms=args.latency_ms)
    with serve_in_thread(tree, faults=plan) as (server, url):
        ours_db = open_engine(str(work / "ours.db"))
        t0 = time.perf_counter()
        first = scrape(ours_db, HubOptions(endpoint=url), Selection(), workers=args.workers)
        ours_s = time.perf_counter() - t0
        ours_counts = dict(server.counts)
        server.reset_counts()

        t0 = time.perf_counter()
        second = scrape(ours_db, HubOptions(endpoint=url), Selection(), workers=args.workers)
        rerun_s = time.perf_counter() - t0
        rerun_counts = dict(server.counts)
        server.reset_counts()

        naive_db = open_engine(str(work / "naive.db"))
        t0 = time.perf_counter()
        naive_stored = naive_loop(naive_db, url, work / "naive-cache")
        naive_s = time.perf_counter() - t0
        naive_counts = dict(server.counts)
        naive_fetch_s, ours_fetch_s, fetched = fetch_only(url, work / "fetch-cache", args.workers)

    same = _snapshots(ours_db) == _snapshots(naive_db)
    per_new = sum(ours_counts.get(k, 0) for k in ("head", "get", "info")) / max(first.new, 1)
    naive_new = sum(naive_counts.get(k, 0) for k in ("head", "get", "info")) / max(naive_stored, 1)
    per_unchanged = sum(rerun_counts.get(k, 0) for k in ("head", "get", "info")) / max(
        second.unchanged, 1
    )
    print(f"corpus: {total} repos, mirror latency {args.latency_ms:.0f} ms per request")
    print(f"same catalog content (repo, content hash, commit): {same}")
    print()
    print("| run | time (s) | models stored | file requests per model | listing pages |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| naive sequential hf_hub_download | {naive_s:.2f} | {naive_stored} | "
        f"{naive_new:.2f} | {naive_counts.get('list', 0)} |"
    )
    print(
        f"| ropedex scrape, {args.workers} workers | {ours_s:.2f} | {first.new} | "
        f"{per_new:.2f} | {ours_counts.get('list', 0)} |"
    )
    print(
        f"| ropedex scrape again (nothing changed) | {rerun_s:.2f} | 0 "
        f"({second.unchanged} unchanged) | {per_unchanged:.2f} | {rerun_counts.get('list', 0)} |"
    )
    print()
    print(
        f"end to end (list + download + store): {naive_s / ours_s:.1f}x faster than the naive loop"
    )
    print(
        f"download phase alone ({fetched} configs, no catalog): naive {naive_fetch_s:.2f} s, "
        f"ours {ours_fetch_s:.2f} s, {naive_fetch_s / ours_fetch_s:.1f}x"
    )


if __name__ == "__main__":
    main()
