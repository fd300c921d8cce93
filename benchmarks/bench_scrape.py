"""Scrape speed: `ropedex scrape` against a naive sequential `hf_hub_download` loop.

Both scrape the whole shared corpus (as a Hub-like tree) from the loopback mirror, running in its
own process like a real Hub, with a fixed latency per request, into fresh SQLite catalogs, in the
same run. Both list with the real client, pin each download to the listed sha and store through
`registry.store.store_configs` in batches of 50, so the only differences are concurrency (ours
stores a batch while its workers fetch the next) and the request pattern (one GET versus the
client's HEAD + GET). The two catalogs are then compared: same repos, same bytes, same commits.

    .venv/bin/python benchmarks/bench_scrape.py --latency-ms 30 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
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
    """List, then `hf_hub_download` each config.json one after another, storing every 50 through
    the same `store_configs` as the scraper; returns models stored."""
    from huggingface_hub import HfApi, hf_hub_download

    from registry.db import session_factory
    from registry.runs import start_run
    from registry.store import store_configs
    from scrapers.hub import EXPAND, info_to_api
    from scrapers.records import HubMeta, RepoItem

    api = HfApi(endpoint=url, token=False)
    make = session_factory(engine)
    with make() as session:
        run_id = start_run(session, "scrape").id
        session.commit()
    infos = list(api.list_models(expand=list(EXPAND)))  # type: ignore[arg-type]
    stored = 0
    for start in range(0, len(infos), BATCH):
        items = []
        for info in infos[start : start + BATCH]:
            path = hf_hub_download(
                info.id,
                "config.json",
                revision=info.sha,
                endpoint=url,
                cache_dir=cache_dir,
                token=False,
            )
            hub = HubMeta.from_api(info_to_api(info))
            raw = Path(path).read_bytes()
            items.append(RepoItem(info.id, raw=raw, hub=hub, commit_sha=info.sha))
        with make() as session:
            stored += len(store_configs(session, items, run_id=run_id))
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


class MirrorProcess:
    """`ropedex mirror` in its own process, as the Hub would be; counts requests from its log."""

    def __init__(self, tree: Path, latency_ms: float) -> None:
        self.cmd = [
            sys.executable,
            "-m",
            "registry",
            "mirror",
            str(tree),
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
        ]
        self.lines: list[str] = []
        self.url = ""

    def __enter__(self) -> MirrorProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.url = self.proc.stdout.readline().split(" on ", 1)[1].split()[0]
        self._reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    def reset_counts(self) -> None:
        time.sleep(0.2)  # let the log catch up
        self.lines.clear()

    @property
    def counts(self) -> dict[str, int]:
        time.sleep(0.2)
        out: dict[str, int] = {}
        for line in list(self.lines):
            _status, method, path = line.split(maxsplit=2)
            if path.startswith("/api/models"):
                kind = "list" if path.strip() == "/api/models" else "info"
            else:
                kind = "head" if method == "HEAD" else "get"
            out[kind] = out.get(kind, 0) + 1
        return out


def one_round(url: str, server: MirrorProcess, work: Path, workers: int) -> dict[str, Any]:
    """Ours (first run and rerun), then the naive loop, then the download phase alone."""
    from registry.db import open_engine
    from registry.sync import scrape
    from scrapers.hub import HubOptions, Selection

    work.mkdir(parents=True)
    out: dict[str, Any] = {}
    ours_db = open_engine(str(work / "ours.db"))
    server.reset_counts()
    t0 = time.perf_counter()
    first = scrape(ours_db, HubOptions(endpoint=url), Selection(), workers=workers)
    out["ours_s"] = time.perf_counter() - t0
    out["ours_counts"], out["ours_new"] = dict(server.counts), first.new
    server.reset_counts()
    t0 = time.perf_counter()
    second = scrape(ours_db, HubOptions(endpoint=url), Selection(), workers=workers)
    out["rerun_s"] = time.perf_counter() - t0
    out["rerun_counts"], out["rerun_unchanged"] = dict(server.counts), second.unchanged
    server.reset_counts()
    naive_db = open_engine(str(work / "naive.db"))
    t0 = time.perf_counter()
    out["naive_stored"] = naive_loop(naive_db, url, work / "naive-cache")
    out["naive_s"] = time.perf_counter() - t0
    out["naive_counts"] = dict(server.counts)
    out["same"] = _snapshots(ours_db) == _snapshots(naive_db)
    out["naive_fetch_s"], out["ours_fetch_s"], out["fetched"] = fetch_only(
        url, work / "fetch-cache", workers
    )
    return out


def _file_requests(counts: dict[str, int]) -> int:
    return sum(counts.get(k, 0) for k in ("head", "get", "info"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="Report medians over the rounds.")
    args = parser.parse_args()

    from scrapers.hubtree import build_hub_tree
    from scrapers.tagger import tag_config

    tag_config({"model_type": "llama"})  # import the tagger before any clock starts
    work = Path(tempfile.mkdtemp(prefix="bench-scrape-"))
    total = len(build_hub_tree(CORPUS, work / "hub"))
    load = os.getloadavg()[0]
    with MirrorProcess(work / "hub", args.latency_ms) as mirror:
        rounds = [
            one_round(mirror.url, mirror, work / f"round{n}", args.workers)
            for n in range(args.rounds)
        ]
    r = rounds[0]
    med = {k: statistics.median(x[k] for x in rounds) for k in r if k.endswith("_s")}
    ratio = statistics.median(x["naive_s"] / x["ours_s"] for x in rounds)
    fetch_ratio = statistics.median(x["naive_fetch_s"] / x["ours_fetch_s"] for x in rounds)
    print(
        f"corpus: {total} repos; mirror latency {args.latency_ms:.0f} ms per request; "
        f"{args.rounds} rounds, medians; load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(f"same catalog content (repo, content hash, commit): {all(x['same'] for x in rounds)}")
    print()
    print("| run | time (s) | models stored | file requests per model | listing pages |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| naive sequential hf_hub_download | {med['naive_s']:.2f} | {r['naive_stored']} | "
        f"{_file_requests(r['naive_counts']) / r['naive_stored']:.2f} | "
        f"{r['naive_counts'].get('list', 0)} |"
    )
    print(
        f"| ropedex scrape, {args.workers} workers | {med['ours_s']:.2f} | {r['ours_new']} | "
        f"{_file_requests(r['ours_counts']) / max(r['ours_new'], 1):.2f} | "
        f"{r['ours_counts'].get('list', 0)} |"
    )
    print(
        f"| ropedex scrape again (nothing changed) | {med['rerun_s']:.2f} | 0 "
        f"({r['rerun_unchanged']} unchanged) | "
        f"{_file_requests(r['rerun_counts']) / max(r['rerun_unchanged'], 1):.2f} | "
        f"{r['rerun_counts'].get('list', 0)} |"
    )
    print()
    print(f"end to end (list + download + store): {ratio:.1f}x faster than the naive loop")
    print(
        f"download phase alone ({r['fetched']} configs, no catalog): naive "
        f"{med['naive_fetch_s']:.2f} s, ours {med['ours_fetch_s']:.2f} s, {fetch_ratio:.1f}x"
    )
    print(
        "per-round end-to-end ratios: "
        + ", ".join(f"{x['naive_s'] / x['ours_s']:.1f}x" for x in rounds)
    )


if __name__ == "__main__":
    main()
