"""GGUF header reading: ropedex's reader against the `gguf` package's own reader, same run.

A GGUF with a Qwen-sized vocabulary (`--vocab` token strings, the slow part of a real header)
and a few MB of zero weights is written with `GGUFWriter`; then, best of `--rounds`:

- `gguf.GGUFReader(path)`: the package's reader on the whole file (the baseline);
- `scrapers.gguf.read_local(path)`: the layout scan plus the package's reader on a copy of the
  header without the tokenizer keys (what `ropedex gguf` does);
- `scrapers.gguf.read_spans` over in-memory spans: the same with the range-request growth.

Both readers must agree on the header's end and on every key ropedex keeps.

    .venv/bin/python benchmarks/bench_gguf.py --vocab 150000 --rounds 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def best(func: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", type=int, default=150000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from gguf import GGUFReader

    from scrapers.gguf import Span, read_local, read_spans
    from tests.gguf_files import QWEN_CORRECT, write_gguf

    with tempfile.TemporaryDirectory() as tmp:
        path = write_gguf(
            Path(tmp) / "bench.gguf", QWEN_CORRECT, vocab=args.vocab, weight_bytes=4_000_000
        )
        data = path.read_bytes()

        def spans() -> Any:
            return read_spans(lambda a, b: Span(data[a : b + 1], len(data), None, None), "bench")

        t_pkg, reader = best(lambda: GGUFReader(path), args.rounds)
        t_local, local = best(lambda: read_local(path), args.rounds)
        t_spans, remote = best(spans, args.rounds)
    assert local.header_bytes == remote.header_bytes == int(reader.data_offset)
    for key, value in local.kv.items():
        assert reader.fields[key].contents() == value, key
    print(f"vocab {args.vocab}, header {local.header_bytes:,} bytes, file {len(data):,} bytes")
    print(f"gguf.GGUFReader (whole header):   {t_pkg:8.3f} s")
    print(f"read_local:                        {t_local:8.3f} s  ({t_pkg / t_local:.1f}x faster)")
    print(
        f"read_spans ({remote.fetched_bytes:,} bytes):  {t_spans:8.3f} s  "
        f"({t_pkg / t_spans:.1f}x faster)"
    )


if __name__ == "__main__":
    main()
