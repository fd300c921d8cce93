"""Tag the whole corpus many times on one core; report configs/s against json.loads of it.

Run: .venv/bin/python benchmarks/bench_tagger.py [--rounds N]

Rates are per CPU second of this process (`time.process_time`), best of five timings, so that
a machine shared with other jobs still gives the throughput of one core; the baselines run in the
same process the same way.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "configs"


def rate(work: list, fn, rounds: int, repeat: int = 5) -> float:  # type: ignore[type-arg]
    """Best of `repeat` timings (as timeit advises: slower runs measure interference)."""
    best = 0.0
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(max(rounds // repeat, 1)):
            for item in work:
                fn(item)
        elapsed = time.process_time() - start
        best = max(best, max(rounds // repeat, 1) * len(work) / elapsed)
    return best


def main() -> None:
    from scrapers.tagger import tag_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.json"))]
    configs = [json.loads(t) for t in texts]
    rate(configs, tag_config, 2)  # warm-up
    tagging = rate(configs, tag_config, rounds)
    parsing = rate(texts, json.loads, rounds)
    copying = rate(configs, copy.deepcopy, max(rounds // 5, 1))
    print(f"corpus: {len(configs)} configs, {rounds} rounds")
    print(f"tag_config:     {tagging:10.0f} configs/s")
    print(
        f"json.loads:     {parsing:10.0f} configs/s  (tagging / parsing = {tagging / parsing:.2f})"
    )
    print(
        f"copy.deepcopy:  {copying:10.0f} configs/s  (tagging / deepcopy = {tagging / copying:.2f})"
    )


if __name__ == "__main__":
    main()
