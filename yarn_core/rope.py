"""RoPE tensors: inverse frequencies, cos/sin tables and the rotation itself, in PyTorch.

This module imports torch at the top; nothing in the package imports it at import time.
Frequencies come from `yarn_core.frequencies` (float64 plain math) so every formula lives once.

Layout: `x` is (..., seq, head_dim); only the first `rotary_dim` channels rotate. Half pairing
(NeoX / transformers) pairs channel j with j + rotary_dim/2; interleaved pairing (GPT-J / Meta)
pairs 2j with 2j + 1. cos/sin tables are (seq, rotary_dim) in the matching layout.

Reference: Su et al., "RoFormer" (arXiv 2104.09864), Eq. 34.
"""

from __future__ import annotations

from typing import Any

import torch

from yarn_core.conventions import resolve
from yarn_core.frequencies import (
    frequency_ratio,
    inverse_frequencies,
    llama3_bands,
    mrope_pair_axes,
    yarn_bands,
)
from yarn_core.params import PAIRINGS, RopeParams
from yarn_core.rotate import rotate_pairs as _rotate

__all__ = [
    "apply_rotary",
    "apply_rotary_qk",
    "attention_scaling",
    "cos_sin",
    "frequency_ratio",
    "inv_freq",
    "llama3_bands",
    "mrope_cos_sin",
    "mrope_pair_streams",
    "resolve_device",
    "yarn_bands",
]

_ANGLE_DTYPES = (torch.float32, torch.float64)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """`"auto"` (or None) picks CUDA when present, else CPU; other values pass through."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA device is available")
    return resolved


def inv_freq(
    params: RopeParams,
    *,
    convention: str = "transformers",
    seq_len: int | None = None,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Inverse frequencies, shape (rotary_dim // 2,)."""
    values = inverse_frequencies(params, convention, seq_len)
    return torch.tensor(values, dtype=dtype, device=_device(device))


def attention_scaling(
    params: RopeParams, *, convention: str = "transformers", seq_len: int | None = None
) -> float:
    """Multiplier folded into cos and sin (attention logits scale by its square)."""
    del seq_len  # no supported runtime makes the magnitude depend on the length
    return resolve(params, convention).attention_scaling


def _device(device: str | torch.device | None) -> torch.device:
    return resolve_device(device) if device is not None else torch.device("cpu")


def _positions(
    positions: int | torch.Tensor, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    if isinstance(positions, int):
        return torch.arange(positions, dtype=dtype, device=device)  # (seq,)
    return positions.to(device=device, dtype=dtype).reshape(-1)  # (seq,)


def _max_length(positions: int | torch.Tensor) -> int:
    if isinstance(positions, int):
        return positions
    return int(positions.max().item()) + 1 if positions.numel() else 0


def _check_angle_dtype(angle_dtype: torch.dtype) -> None:
    if angle_dtype not in _ANGLE_DTYPES:
        raise ValueError(f"angles must be computed in float32 or float64, not {angle_dtype}")


def _expand_pairs(angles: torch.Tensor, pairing: str) -> torch.Tensor:
    """(seq, D/2) pair angles -> (seq, D) channel angles in the pairing's layout."""
    if pairing == "half":
        return torch.cat((angles, angles), dim=-1)  # (seq, D)
    if pairing == "interleaved":
        return angles.repeat_interleave(2, dim=-1)  # (seq, D)
    raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")


def _cos_sin_from_angles(
    angles: torch.Tensor, scale: float, pairing: str, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of (seq, D/2) pair angles, evaluated once per pair, then laid out per channel."""
    cos, sin = angles.cos(), angles.sin()  # (seq, D/2) each
    if scale != 1.0:
        cos.mul_(scale)
        sin.mul_(scale)
    return _expand_pairs(cos, pairing).to(dtype), _expand_pairs(sin, pairing).to(dtype)


def cos_sin(
    params: RopeParams,
    positions: int | torch.Tensor,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    convention: str = "transformers",
    angle_dtype: torch.dtype = torch.float32,
    seq_len: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables (seq, rotary_dim), attention scaling folded in like transformers.

    `positions` is a count (0..n-1) or a 1-D tensor of positions. `seq_len` (default: the largest
    position + 1) selects length-dependent frequencies (dynamic NTK, LongRoPE long factors).
    """
    _check_angle_dtype(angle_dtype)
    dev = _device(device)
    length = seq_len if seq_len is not None else _max_length(positions)
    res = resolve(params, convention)
    freqs = torch.tensor(
        inverse_frequencies(params, convention, length, resolved=res), dtype=angle_dtype, device=dev
    )  # (D/2,)
    pos = _positions(positions, angle_dtype, dev)  # (seq,)
    angles = torch.outer(pos, freqs)  # (seq, D/2)
    return _cos_sin_from_angles(angles, res.attention_scaling, params.pairing, dtype)


def mrope_pair_streams(params: RopeParams) -> list[int]:
    """For each pair, which position stream (0 = t, 1 = h, 2 = w) drives it (section 4.3)."""
    pairs = params.rotary_dim // 2
    if params.mrope_section is None:
        return [0] * pairs
    return mrope_pair_axes(params.mrope_section, pairs, params.mrope_interleaved)


def mrope_cos_sin(
    params: RopeParams,
    position_ids: torch.Tensor,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    convention: str = "transformers",
    angle_dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multimodal RoPE: `position_ids` (3, seq) of t/h/w; each pair reads its stream's position."""
    _check_angle_dtype(angle_dtype)
    if position_ids.dim() != 2 or position_ids.shape[0] != 3:
        raise ValueError(f"position_ids must be (3, seq), got {tuple(position_ids.shape)}")
    dev = _device(device)
    res = resolve(params, convention)
    length = _max_length(position_ids)
    freqs = torch.tensor(
        inverse_frequencies(params, convention, length, resolved=res), dtype=angle_dtype, device=dev
    )  # (D/2,)
    pos = position_ids.to(device=dev, dtype=angle_dtype)  # (3, seq)
    all_angles = pos[:, :, None] * freqs  # (3, seq, D/2)
    streams = torch.tensor(mrope_pair_streams(params), device=dev)  # (D/2,)
    index = streams[None, None, :].expand(1, pos.shape[1], -1)  # (1, seq, D/2)
    angles = all_angles.gather(0, index)[0]  # (seq, D/2)
    return _cos_sin_from_angles(angles, res.attention_scaling, params.pairing, dtype)


def apply_rotary(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    *,
    pairing: str = "half",
    rotary_dim: int | None = None,
    out: torch.Tensor | None = None,
    fused: bool | None = None,
) -> torch.Tensor:
    """Rotate the first `rotary_dim` channels of x (..., seq, head_dim); the rest pass through.

    cos/sin are (seq, rotary_dim) (or anything broadcasting to x[..., :rotary_dim]) in the
    pairing's layout. Works in x's dtype and writes into `out` (a fresh tensor by default, which
    must not overlap x) without rotate-half temporaries. On CPU a contiguous x with a (seq, D)
    table is processed in cache-sized blocks of rows.

    `fused` selects the one-pass rotation of `yarn_core.fused` (float32 math, one rounding to
    x's dtype): True uses it whenever its backend works (else this eager path), False never,
    None (default) for float32/bfloat16/float16 inputs of at least `FUSED_MIN_ELEMENTS`.
    `ROPEDEX_ROTARY=eager` forces the eager path process-wide.
    """
    rot = _checked_rotary_dim(x, cos, pairing, rotary_dim)
    result = _fresh(x) if out is None else out
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    if _fused_wanted(fused, x):
        from yarn_core.fused import backend_override, rotate_fused, select_backend

        backend = select_backend(x.device.type, backend_override())
        if backend != "eager":
            return rotate_fused(
                x, cos, sin, result, pairing=pairing, rotary_dim=rot, backend=backend
            )
    seq = x.shape[-2] if x.dim() >= 2 else 1
    blockable = (
        cos.dim() == 2 and cos.shape[0] == seq and x.is_contiguous() and result.is_contiguous()
    )
    if not blockable:
        _rotate(x, cos, sin, result, pairing, rot)
        return result
    heads = x.view(-1, seq, x.shape[-1])  # (N, seq, head_dim)
    out_heads = result.view(-1, seq, x.shape[-1])  # (N, seq, head_dim)
    step = _block_rows(x)
    if step >= seq:  # whole sequences per block, the table broadcast over them
        per_block = step // seq
        for h in range(0, heads.shape[0], per_block):
            block = slice(h, h + per_block)
            _rotate(heads[block], cos, sin, out_heads[block], pairing, rot)
        return result
    for h in range(heads.shape[0]):  # long sequences: blocks of rows within each one
        for start in range(0, seq, step):
            rows = slice(start, start + step)
            _rotate(heads[h, rows], cos[rows], sin[rows], out_heads[h, rows], pairing, rot)
    return result


def _fresh(x: torch.Tensor) -> torch.Tensor:
    from yarn_core.outputs import empty_like

    return empty_like(x)


def _checked_rotary_dim(
    x: torch.Tensor, cos: torch.Tensor, pairing: str, rotary_dim: int | None
) -> int:
    """The rotary width for x and this table, or ValueError."""
    rot = rotary_dim if rotary_dim is not None else cos.shape[-1]
    if rot % 2 or rot > x.shape[-1] or cos.shape[-1] != rot:
        raise ValueError(
            f"rotary_dim {rot} must be even, at most head_dim {x.shape[-1]}, and match cos"
        )
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
    return rot


def _fused_wanted(fused: bool | None, x: torch.Tensor) -> bool:
    from yarn_core.fused import FUSED_DTYPES, FUSED_MIN_ELEMENTS

    if fused is False or x.dtype not in FUSED_DTYPES:
        return False
    return fused is True or x.numel() >= FUSED_MIN_ELEMENTS


_CPU_BLOCK_BYTES = 4 << 20  # rows per block sized to stay in the last-level cache


def _block_rows(x: torch.Tensor) -> int:
    """Rows per block: all of them on accelerators, about 4 MiB of x on CPU."""
    if x.device.type != "cpu":
        return max(x.numel() // max(x.shape[-1], 1), 1)
    return max(_CPU_BLOCK_BYTES // (x.shape[-1] * x.element_size()), 1)


def apply_rotary_qk(
    q: torch.Tensor,
    k: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    *,
    pairing: str = "half",
    rotary_dim: int | None = None,
    out: tuple[torch.Tensor, torch.Tensor] | None = None,
    fused: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`apply_rotary` on queries and keys with one cos/sin table (cast once). On the compiled
    backend both go through one kernel, which reads each table row once for q and k."""
    cos, sin = cos.to(q.dtype), sin.to(q.dtype)
    q_out, k_out = out if out is not None else (None, None)
    kw: dict[str, Any] = {"pairing": pairing, "rotary_dim": rotary_dim, "fused": fused}
    same = q.dtype == k.dtype and q.device == k.device and q.dim() == k.dim()
    if same and _fused_wanted(fused, q) and _fused_wanted(fused, k):
        from yarn_core.fused import backend_override, rotate_fused_qk, select_backend

        backend = select_backend(q.device.type, backend_override())
        if backend == "compiled":
            rot = _checked_rotary_dim(q, cos, pairing, rotary_dim)
            _checked_rotary_dim(k, cos, pairing, rotary_dim)
            outs = (
                _fresh(q) if q_out is None else q_out,
                _fresh(k) if k_out is None else k_out,
            )
            return rotate_fused_qk(
                q, k, cos, sin, outs, pairing=pairing, rotary_dim=rot, backend=backend
            )
    return apply_rotary(q, cos, sin, out=q_out, **kw), apply_rotary(k, cos, sin, out=k_out, **kw)
