"""vLLM 0.33.0 as its own code computes RoPE, for a batch of configs.

The wheel is fetched once with `pip download --no-deps` (`tests.oracles.cache`; ~340 MB, only
its Python sources are extracted, nothing is installed). `vllm_results(configs)` runs
`tests/oracles/vllm_worker.py` in a subprocess with those sources on its path (so vLLM's stubs
never enter the test process) and returns, per config, vLLM's served `max_model_len` and the key
that gave it, and per rope layer type the rotary class `get_rope` built, its inverse
frequencies, its cos/sin multiplier, the LongRoPE factor set and the MLA softmax multiplier; or
vLLM's own error. Results are cached beside the extracted sources, keyed by the vLLM version,
the worker's source and the configs.

    .venv/bin/python -m tests.oracles.vllm_oracle      # print the per-config results (JSON)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.oracles.cache import cache_root, package_dir

SPEC = "vllm==0.33.0"
WORKER = Path(__file__).with_name("vllm_worker.py")


def vllm_results(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """vLLM's reading of each config (name -> result), from the cache when present."""
    src = package_dir(SPEC)
    items = [{"name": name, "config": cfg} for name, cfg in sorted(configs.items())]
    payload = json.dumps(items, sort_keys=True)
    digest = hashlib.sha256()
    digest.update(SPEC.encode())
    digest.update(WORKER.read_bytes())
    digest.update(payload.encode())
    cached = cache_root() / SPEC.replace("==", "-") / "results" / f"{digest.hexdigest()[:24]}.json"
    if cached.is_file():
        result: dict[str, dict[str, Any]] = json.loads(cached.read_text(encoding="utf-8"))
        return result
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(src)],
        input=payload,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"vLLM worker failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(result), encoding="utf-8")
    return result


def _main() -> None:
    from tests.conftest import corpus_configs

    configs = {n: json.loads(p.read_text(encoding="utf-8")) for n, p in corpus_configs()}
    json.dump(vllm_results(configs), sys.stdout, indent=1)


if __name__ == "__main__":
    _main()
