"""Check the fused rotation on a device against the eager path and a float64 rotation.

    .venv/bin/python benchmarks/fused_check.py [--device cuda] [--json]

For each pairing, dtype (float32, bfloat16, float16), rotary width (full and partial) and layout
(contiguous, strided, broadcast table) it runs `apply_rotary(..., fused=True)` and
`fused=False` on the device and compares both with a float64 rotation by the same table on the
CPU. Exit status 1 when the fused result is off by more than one ulp of the output dtype (at the
largest magnitude) or worse than the eager path by more than half an ulp. benchmarks/gpu.sh runs
it on CUDA, where the backend is the Triton kernel.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _cases(torch: Any, device: Any) -> list[tuple[str, Any, int, str, Any]]:
    """(pairing, dtype, rotary_dim, layout, x)"""
    out = []
    gen = torch.Generator().manual_seed(0)
    for pairing in ("half", "interleaved"):
        for dtype in (torch.float32, torch.bfloat16, torch.float16):
            for rot in (128, 64):
                for layout in ("contiguous", "strided", "broadcast"):
                    if layout == "strided":
                        x = torch.randn(2, 301, 5, 128, generator=gen).transpose(1, 2)
                    elif layout == "broadcast":
                        x = torch.randn(2, 301, 5, 128, generator=gen)
                    else:
                        x = torch.randn(2, 5, 301, 128, generator=gen)
                    out.append((pairing, dtype, rot, layout, x.to(device=device, dtype=dtype)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from yarn_core import fused
    from yarn_core.params import RopeParams
    from yarn_core.rope import _rotate, apply_rotary, cos_sin, resolve_device

    device = resolve_device(args.device)
    backend = fused.select_backend(device.type, fused.backend_override())
    rows: list[dict[str, Any]] = []
    ok = True
    for pairing, dtype, rot, layout, x in _cases(torch, device):
        params = RopeParams(theta=10000.0, head_dim=128, rotary_dim=rot, pairing=pairing)
        cos, sin = cos_sin(params, 301, device=device, dtype=dtype)
        if layout == "broadcast":  # (batch, seq, heads, dim) with a (seq, 1, rot) table
            cos, sin = cos[:, None, :], sin[:, None, :]
        got = apply_rotary(x, cos, sin, pairing=pairing, fused=True)
        eager = apply_rotary(x, cos, sin, pairing=pairing, fused=False)
        exact = torch.empty(x.shape, dtype=torch.float64)
        _rotate(x.cpu().double(), cos.cpu().double(), sin.cpu().double(), exact, pairing, rot)
        scale = float(exact.abs().max())
        ulp = float(torch.finfo(dtype).eps) * scale
        err = float((got.cpu().double() - exact).abs().max())
        eager_err = float((eager.cpu().double() - exact).abs().max())
        passed = err <= ulp and err <= eager_err + ulp / 2
        ok = ok and passed
        rows.append(
            {
                "pairing": pairing,
                "dtype": str(dtype).removeprefix("torch."),
                "rotary_dim": rot,
                "layout": layout,
                "fused_err": err,
                "eager_err": eager_err,
                "ulp": ulp,
                "ok": passed,
            }
        )
    summary = {"device": str(device), "backend": backend, "cases": len(rows), "ok": ok}
    if args.json:
        print(json.dumps({**summary, "rows": rows}))
    else:
        for row in rows:
            print(" ".join(f"{k}={v}" for k, v in row.items()))
        print(summary)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
