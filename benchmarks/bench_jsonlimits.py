"""What the JSON limits cost: `load_limited` against plain `json.loads` on the corpus configs.

Usage: .venv/bin/python benchmarks/bench_jsonlimits.py [--rounds N]
Rates are per CPU second (`time.process_time`), best of five, both in the same process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scrapers.configfile import CONFIG_LIMITS  # noqa: E402
from scrapers.jsonlimits import load_limited  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "configs"


def rate(texts: list[bytes], parse: Callable[[bytes], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(rounds):
            for raw in texts:
                parse(raw)
        best = min(best, time.process_time() - start)
    return len(texts) * rounds / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    texts = [p.read_bytes() for p in sorted(CORPUS.glob("*.json"))]
    plain = rate(texts, lambda raw: json.loads(raw.decode("utf-8-sig")), args.rounds)
    limited = rate(texts, lambda raw: load_limited(raw, CONFIG_LIMITS), args.rounds)
    print(f"corpus: {len(texts)} configs, {sum(map(len, texts))} bytes, {args.rounds} rounds")
    print(f"json.loads:    {plain:9.0f} configs/s")
    print(f"load_limited:  {limited:9.0f} configs/s  (limited / plain = {limited / plain:.2f})")


if __name__ == "__main__":
    main()
