"""Benchmark yarn_core's cos/sin tables and rotation against transformers and a copy, in one run.

    .venv/bin/python benchmarks/bench_rope.py [--device auto|cpu|cuda] [--repeat 5]
        [--threads 1,all] [--json]

Measures, on the chosen device:
  * cos/sin for 131072 positions x 128 dims (YaRN x16): `cos_sin` with float32 angles (what
    transformers computes) and float64 angles, a `cached_cos_sin` lookup, and transformers'
    `LlamaRotaryEmbedding` forward; the table is timed apart from the rotation;
  * rotation of q and k, each (1, 32, 8192, 128), in float32 and bfloat16: the fused one-pass
    kernel (`apply_rotary_qk(..., fused=True)`) and the eager path (`fused=False`), each into
    preallocated outputs and allocating; transformers' `apply_rotary_pos_emb`; and as baselines a
    `copy_` of the same bytes (read q and k, write two outputs: the bandwidth limit) and a
    `clone` (the same copy into freshly allocated outputs: the limit for any allocating form);
  * float32 max |error| of each rotation against a float64 rotation of the first head, with the
    float32 table (rotation error alone) and against float64 angles (table and rotation).
Each figure is the best of `--repeat` rounds; the variants alternate within each round so that
load from other processes hits all of them alike. On CPU, one thread is timed in process CPU
time (immune to other processes on a shared machine); more threads in wall time (CPU time
would add the threads up). `--threads 1,all` (default) runs both settings in the same process;
the compiled kernel is rebuilt for each thread count. On CUDA the times are wall time between
synchronisations and the thread setting does not apply.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TABLE_POSITIONS = 131072
SHAPE = (1, 32, 8192, 128)


def _timer(device: Any, wall: bool) -> Callable[[Callable[[], object]], float]:
    """CUDA: wall time between synchronisations. CPU: process CPU time, or wall time with
    `wall`."""
    import torch

    if device.type != "cuda" and not wall:

        def run_cpu(fn: Callable[[], object]) -> float:
            start = time.process_time()
            fn()
            return time.process_time() - start

        return run_cpu

    def run(fn: Callable[[], object]) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    return run


def best_of(
    cases: dict[str, Callable[[], object]], repeat: int, device: Any, wall: bool = False
) -> dict[str, float]:
    """Best time of each case over `repeat` alternating rounds (after one warm-up)."""
    run = _timer(device, wall)
    for fn in cases.values():
        run(fn)
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(repeat):
        for name, fn in cases.items():
            best[name] = min(best[name], run(fn))
    return best


def rotate_half_reference(x: Any, cos: Any, sin: Any) -> Any:
    """Half-split rotation written out in full (x float64, (seq, D) tables)."""
    import torch

    h = x.shape[-1] // 2
    first = x[:, :h] * cos[:, :h] - x[:, h:] * sin[:, :h]
    second = x[:, h:] * cos[:, h:] + x[:, :h] * sin[:, h:]
    return torch.cat((first, second), dim=-1)


def _params() -> Any:
    from yarn_core.params import RopeParams

    return RopeParams(
        rope_type="yarn",
        theta=10000.0,
        factor=16.0,
        original_max_position_embeddings=4096,
        max_position_embeddings=65536,
    )


def _hf_rotary(device: Any) -> Any:
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config = LlamaConfig(
        hidden_size=4096,
        num_attention_heads=32,
        max_position_embeddings=65536,
        rope_parameters={
            "rope_type": "yarn",
            "rope_theta": 10000.0,
            "factor": 16.0,
            "original_max_position_embeddings": 4096,
        },
    )
    return LlamaRotaryEmbedding(config).to(device)


def table_times(device: Any, repeat: int, wall: bool) -> dict[str, float]:
    import torch

    from yarn_core.rope import cos_sin
    from yarn_core.tables import cached_cos_sin

    params = _params()
    hf_rotary = _hf_rotary(device)
    ids = torch.arange(TABLE_POSITIONS, device=device)[None]
    probe = torch.zeros(1, device=device)
    n = TABLE_POSITIONS
    return best_of(
        {
            "cos_sin_float32_angles": lambda: cos_sin(params, n, device=device),
            "cos_sin_float64_angles": lambda: cos_sin(
                params, n, device=device, angle_dtype=torch.float64
            ),
            "cached_cos_sin_lookup": lambda: cached_cos_sin(params, n, device=device),
            "transformers": lambda: hf_rotary(probe, ids),
        },
        repeat,
        device,
        wall,
    )


def rotary_times(device: Any, dtype: Any, repeat: int, wall: bool) -> dict[str, float]:
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    from yarn_core.rope import apply_rotary_qk, cos_sin

    torch.manual_seed(0)
    q = torch.randn(SHAPE, device=device).to(dtype)
    k = torch.randn(SHAPE, device=device).to(dtype)
    cos, sin = cos_sin(_params(), SHAPE[2], device=device, dtype=dtype)
    hf_cos, hf_sin = cos[None], sin[None]
    q_out, k_out = torch.empty_like(q), torch.empty_like(k)
    q_copy, k_copy = torch.empty_like(q), torch.empty_like(k)
    cases: dict[str, Callable[[], object]] = {
        "fused_out": lambda: apply_rotary_qk(q, k, cos, sin, out=(q_out, k_out), fused=True),
        "fused_alloc": lambda: apply_rotary_qk(q, k, cos, sin, fused=True),
        "eager_out": lambda: apply_rotary_qk(q, k, cos, sin, out=(q_out, k_out), fused=False),
        "eager_alloc": lambda: apply_rotary_qk(q, k, cos, sin, fused=False),
        "transformers": lambda: apply_rotary_pos_emb(q, k, hf_cos, hf_sin),
        "copy": lambda: (q_copy.copy_(q), k_copy.copy_(k)),
        "clone": lambda: (q.clone(), k.clone()),
    }
    if dtype == torch.float32:
        cases["fused_interleaved_out"] = lambda: apply_rotary_qk(
            q, k, cos, sin, out=(q_out, k_out), pairing="interleaved", fused=True
        )
    return best_of(cases, repeat, device, wall)


def accuracy(device: Any) -> dict[str, dict[str, float]]:
    """float32 max |error| on the first head of q against float64 rotations."""
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    from yarn_core.rope import apply_rotary, cos_sin
    from yarn_core.tables import cached_cos_sin

    params = _params()
    seq = SHAPE[2]
    torch.manual_seed(0)
    q = torch.randn(SHAPE, device=device)
    cos, sin = cos_sin(params, seq, device=device)
    c64, s64 = cos_sin(params, seq, device=device, dtype=torch.float64, angle_dtype=torch.float64)
    exact_cos = cached_cos_sin(params, seq, device=device)  # float64 angles, float32 table
    x64 = q[0, 0].double()
    ref = rotate_half_reference(x64, c64, s64)
    ref32 = rotate_half_reference(x64, cos.double(), sin.double())
    results = {
        "fused": apply_rotary(q, cos, sin, fused=True),
        "eager": apply_rotary(q, cos, sin, fused=False),
        "transformers": apply_rotary_pos_emb(q, q, cos[None], sin[None])[0],
    }
    fused_exact = apply_rotary(q, *exact_cos, fused=True)
    same = {name: float((r[0, 0].double() - ref32).abs().max()) for name, r in results.items()}
    total = {name: float((r[0, 0].double() - ref).abs().max()) for name, r in results.items()}
    total["fused_float64_angle_table"] = float((fused_exact[0, 0].double() - ref).abs().max())
    return {"same_float32_table": same, "vs_float64_angles": total}


def _thread_counts(spec: str) -> list[int]:
    counts = []
    for part in spec.split(","):
        part = part.strip()
        counts.append(os.cpu_count() or 1 if part == "all" else int(part))
    return list(dict.fromkeys(counts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", default="1,all", help="CPU thread counts, e.g. 1,all")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    import torch
    import transformers

    from yarn_core import fused
    from yarn_core.rope import resolve_device

    transformers.logging.set_verbosity_error()
    device = resolve_device(args.device)
    counts = _thread_counts(args.threads) if device.type == "cpu" else [0]
    runs: list[dict[str, Any]] = []
    for threads in counts:
        if threads:
            torch.set_num_threads(threads)
            fused.reset_compiled()  # inductor fixes the thread count in the code it generates
        wall = device.type == "cuda" or threads > 1
        entry: dict[str, Any] = {
            "threads": torch.get_num_threads() if threads else None,
            "clock": "wall" if wall else "process CPU time",
            "cos_sin_ms": _ms(table_times(device, args.repeat, wall)),
        }
        for dtype in (torch.float32, torch.bfloat16):
            times = rotary_times(device, dtype, args.repeat, wall)
            nbytes = 2 * 2 * SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3] * dtype.itemsize
            entry[str(dtype).removeprefix("torch.")] = {
                "rotary_ms": _ms(times),
                "fraction_of_copy": {
                    name: round(times["copy"] / t, 3) for name, t in times.items() if name != "copy"
                },
                "copy_GBps": round(nbytes / times["copy"] / 1e9, 1),
                "fused_speedup_vs_transformers": round(
                    times["transformers"] / times["fused_alloc"], 2
                ),
            }
        runs.append(entry)
    result = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "backend": fused.select_backend(device.type, fused.backend_override()),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "shape": list(SHAPE),
        "runs": runs,
        "max_abs_error_float32": accuracy(device),
    }
    if args.json:
        print(json.dumps(result))
    else:
        _print(result)
    return 0


def _ms(times: dict[str, float]) -> dict[str, float]:
    return {name: round(t * 1e3, 2) for name, t in times.items()}


def _print(result: dict[str, Any], indent: str = "") -> None:
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print(value, indent + "  ")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                print(f"{indent}{key}[]:")
                _print(item, indent + "  ")
        else:
            print(f"{indent}{key:32} {value}")


if __name__ == "__main__":
    raise SystemExit(main())
