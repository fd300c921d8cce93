"""The rotation as one Triton kernel (CUDA): each program rotates a block of rows.

Imported only when `yarn_core.fused` picks the "triton" backend (it imports triton at the top).
A row is one (position, head) vector of head_dim channels; the program loads both members of
every pair once, the cos/sin entries of each member's channel from the row's table row, computes
in float32 and stores each output element once; channels past rotary_dim are copied.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["rotate_triton"]

_ROWS = 16  # rows per program


@triton.jit
def _rotary_kernel(
    x_ptr,
    cos_ptr,
    sin_ptr,
    out_ptr,
    n_rows,
    seq,
    x_row_stride,
    out_row_stride,
    table_row_stride,
    HALF: tl.constexpr,
    BLOCK_P: tl.constexpr,
    PASS: tl.constexpr,
    BLOCK_T: tl.constexpr,
    INTERLEAVED: tl.constexpr,
    ROWS: tl.constexpr,
):
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)  # (ROWS,)
    row_ok = rows < n_rows
    pos = (rows % seq).to(tl.int64)
    pair = tl.arange(0, BLOCK_P)  # (BLOCK_P,)
    if INTERLEAVED:
        first = 2 * pair
        second = 2 * pair + 1
    else:
        first = pair
        second = pair + HALF
    mask = row_ok[:, None] & (pair < HALF)[None, :]
    x_row = x_ptr + rows.to(tl.int64)[:, None] * x_row_stride
    t_row = pos[:, None] * table_row_stride
    a = tl.load(x_row + first[None, :], mask=mask, other=0.0).to(tl.float32)
    b = tl.load(x_row + second[None, :], mask=mask, other=0.0).to(tl.float32)
    cos_a = tl.load(cos_ptr + t_row + first[None, :], mask=mask, other=0.0).to(tl.float32)
    cos_b = tl.load(cos_ptr + t_row + second[None, :], mask=mask, other=0.0).to(tl.float32)
    sin_a = tl.load(sin_ptr + t_row + first[None, :], mask=mask, other=0.0).to(tl.float32)
    sin_b = tl.load(sin_ptr + t_row + second[None, :], mask=mask, other=0.0).to(tl.float32)
    out_row = out_ptr + rows.to(tl.int64)[:, None] * out_row_stride
    kind = out_ptr.dtype.element_ty
    tl.store(out_row + first[None, :], (a * cos_a - b * sin_a).to(kind), mask=mask)
    tl.store(out_row + second[None, :], (b * cos_b + a * sin_b).to(kind), mask=mask)
    if PASS > 0:
        rest = tl.arange(0, BLOCK_T)
        rest_mask = row_ok[:, None] & (rest < PASS)[None, :]
        kept = tl.load(x_row + 2 * HALF + rest[None, :], mask=rest_mask, other=0.0)
        tl.store(out_row + 2 * HALF + rest[None, :], kept, mask=rest_mask)


def rotate_triton(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    out: torch.Tensor,
    pairing: str,
    rot: int,
) -> None:
    """out = rotation of x (CUDA tensors, cos/sin broadcasting to x[..., :rot])."""
    width = x.shape[-1]
    seq = x.shape[-2] if x.dim() >= 2 else 1
    if not (cos.dim() == 2 and cos.shape[0] == seq and sin.shape == cos.shape):
        # any other broadcast: one table row per x row
        cos = cos.expand(x[..., :rot].shape).reshape(-1, rot)
        sin = sin.expand(x[..., :rot].shape).reshape(-1, rot)
        seq = cos.shape[0]
    cos, sin = cos.contiguous(), sin.contiguous()
    rows_in = x.reshape(-1, width)
    if rows_in.stride(-1) != 1:
        rows_in = rows_in.contiguous()
    contiguous = out.is_contiguous()
    target = out if contiguous else torch.empty_like(out, memory_format=torch.contiguous_format)
    rows_out = target.view(-1, width)
    n_rows = rows_in.shape[0]
    passthrough = width - rot
    grid = (triton.cdiv(n_rows, _ROWS),)
    _rotary_kernel[grid](
        rows_in,
        cos,
        sin,
        rows_out,
        n_rows,
        seq,
        rows_in.stride(0),
        rows_out.stride(0),
        cos.stride(0),
        HALF=rot // 2,
        BLOCK_P=triton.next_power_of_2(max(rot // 2, 1)),
        PASS=passthrough,
        BLOCK_T=triton.next_power_of_2(max(passthrough, 1)),
        INTERLEAVED=pairing == "interleaved",
        ROWS=_ROWS,
    )
    if target is not out:
        out.copy_(target)
