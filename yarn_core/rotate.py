"""The eager rotation: three passes of torch ops, in the input dtype, into a given output.

Shared by `yarn_core.rope.apply_rotary` (its blocks) and `yarn_core.fused` (its fallback and
reference), so that neither imports the other.
"""

from __future__ import annotations

import torch

__all__ = ["rotate_pairs"]


def rotate_pairs(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    out: torch.Tensor,
    pairing: str,
    rot: int,
) -> None:
    """out = rotation of x by (cos, sin): one multiply over the rotary channels, then one
    multiply-add per half; no temporaries."""
    if pairing == "half":
        first, second = slice(0, rot // 2), slice(rot // 2, rot)
    else:
        first, second = slice(0, rot, 2), slice(1, rot, 2)
    torch.mul(x[..., :rot], cos, out=out[..., :rot])  # (a cos, b cos)
    out[..., first].addcmul_(x[..., second], sin[..., first], value=-1)  # a cos - b sin
    out[..., second].addcmul_(x[..., first], sin[..., second])  # b cos + a sin
    if rot < x.shape[-1]:
        out[..., rot:].copy_(x[..., rot:])  # pass-through channels
