"""Benchmark yarn_core's cos/sin tables and apply_rotary against transformers, in the same run.

    .venv/bin/python benchmarks/bench_rope.py [--device auto|cpu|cuda] [--repeat 5] [--threads 1]
        [--wall] [--json]

Measures, on the chosen device (float32):
  * cos/sin for 131072 positions x 128 dims (YaRN x16): yarn_core `cos_sin` vs transformers'
    `LlamaRotaryEmbedding` forward;
  * rotary on q and k of shape (1, 32, 8192, 128): yarn_core `apply_rotary_qk` (into
    preallocated outputs, and allocating like transformers) vs transformers'
    `apply_rotary_pos_emb`;
  * a plain copy of the same bytes (read q and k, write two outputs): the bandwidth limit.
Each figure is the best of `--repeat` rounds; the variants alternate within each round so that
load from other processes hits all of them alike. On CPU the times are process CPU time with
`--threads` torch threads (default 1: one core's throughput, immune to other processes).
Accuracy: max |error| of each float32 result
against a float64 rotation of the first head.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TABLE_POSITIONS = 131072
SHAPE = (1, 32, 8192, 128)


def _timer(device: Any, wall: bool) -> Callable[[Callable[[], object]], float]:
    """CUDA: wall time between synchronisations. CPU: process CPU time, so that other processes
    on a shared machine do not count (with one thread no time is spent spinning), or wall time
    with `wall`."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    parser.add_argument("--wall", action="store_true", help="CPU: wall time, not CPU time")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    import torch
    import transformers
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    from yarn_core.params import RopeParams
    from yarn_core.rope import apply_rotary_qk, attention_scaling, cos_sin, inv_freq, resolve_device

    transformers.logging.set_verbosity_error()
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    params = RopeParams(
        rope_type="yarn",
        theta=10000.0,
        factor=16.0,
        original_max_position_embeddings=4096,
        max_position_embeddings=65536,
    )
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
    hf_rotary = LlamaRotaryEmbedding(config).to(device)
    table_ids = torch.arange(TABLE_POSITIONS, device=device)[None]
    probe = torch.zeros(1, device=device)

    torch.manual_seed(0)
    q = torch.randn(SHAPE, device=device)
    k = torch.randn(SHAPE, device=device)
    seq = SHAPE[2]
    cos, sin = cos_sin(params, seq, device=device)
    hf_cos, hf_sin = cos[None], sin[None]  # same table for both: only the rotation is timed
    q_out, k_out = torch.empty_like(q), torch.empty_like(k)
    q_copy, k_copy = torch.empty_like(q), torch.empty_like(k)

    table = best_of(
        {
            "yarn_core": lambda: cos_sin(params, TABLE_POSITIONS, device=device),
            "transformers": lambda: hf_rotary(probe, table_ids),
        },
        args.repeat,
        device,
        args.wall,
    )
    rotary = best_of(
        {
            "yarn_core_out": lambda: apply_rotary_qk(q, k, cos, sin, out=(q_out, k_out)),
            "yarn_core_alloc": lambda: apply_rotary_qk(q, k, cos, sin),
            "transformers": lambda: apply_rotary_pos_emb(q, k, hf_cos, hf_sin),
            "copy": lambda: (q_copy.copy_(q), k_copy.copy_(k)),
        },
        args.repeat,
        device,
        args.wall,
    )

    # accuracy on the first head against a float64 rotation with float64 angles
    ours_q, _ = apply_rotary_qk(q, k, cos, sin)
    hf_q, _ = apply_rotary_pos_emb(q, k, hf_cos, hf_sin)
    c64, s64 = cos_sin(params, seq, device=device, dtype=torch.float64, angle_dtype=torch.float64)
    x64 = q[0, 0].double()
    ref = rotate_half_reference(x64, c64, s64)
    ref32 = rotate_half_reference(x64, cos.double(), sin.double())
    nbytes = 2 * q.numel() * q.element_size()  # q and k read, two outputs written
    result = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "clock": "wall" if args.wall or device.type == "cuda" else "process CPU time",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cos_sin_ms": {name: round(t * 1e3, 2) for name, t in table.items()},
        "cos_sin_speedup": round(table["transformers"] / table["yarn_core"], 2),
        "rotary_ms": {name: round(t * 1e3, 2) for name, t in rotary.items()},
        "rotary_speedup_out": round(rotary["transformers"] / rotary["yarn_core_out"], 2),
        "rotary_speedup_alloc": round(rotary["transformers"] / rotary["yarn_core_alloc"], 2),
        "copy_GBps": round(2 * nbytes / rotary["copy"] / 1e9, 1),
        "fraction_of_copy": {
            "yarn_core_out": round(rotary["copy"] / rotary["yarn_core_out"], 3),
            "yarn_core_alloc": round(rotary["copy"] / rotary["yarn_core_alloc"], 3),
            "transformers": round(rotary["copy"] / rotary["transformers"], 3),
        },
        "max_abs_error_vs_float64": {
            "yarn_core": float((ours_q[0, 0].double() - ref).abs().max()),
            "transformers": float((hf_q[0, 0].double() - ref).abs().max()),
        },
        "rotation_error_same_table": {  # float64 rotation with the float32 cos/sin tables
            "yarn_core": float((ours_q[0, 0].double() - ref32).abs().max()),
            "transformers": float((hf_q[0, 0].double() - ref32).abs().max()),
        },
        "inv_freq_max_rel_vs_transformers": float(
            (
                (inv_freq(params, device=device) - hf_rotary.inv_freq.double()).abs()
                / hf_rotary.inv_freq.double()
            ).max()
        ),
        "attention_scaling": attention_scaling(params),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:34} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
