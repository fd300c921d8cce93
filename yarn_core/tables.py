"""cos/sin tables computed once per (params, convention, length, device, dtype, angle dtype).

`cached_cos_sin` is `yarn_core.rope.cos_sin` for positions 0..length-1 behind a small LRU cache,
with float64 angles by default: the table costs one computation per key, so the more exact angles
cost nothing per call. (`cos_sin` itself keeps float32 angles by default, as transformers and
the runtimes compute them, which is what the verifier must reproduce.) The returned tensors are
shared between callers: treat them as read-only.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from yarn_core.params import RopeParams
from yarn_core.rope import cos_sin

__all__ = ["cached_cos_sin", "clear_table_cache", "table_cache_info"]

_CACHE_SIZE = 16


def cached_cos_sin(
    params: RopeParams,
    length: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    convention: str = "transformers",
    angle_dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (length, rotary_dim) for positions 0..length-1, computed once per key."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return _table(params, length, str(dev), dtype, convention, angle_dtype)


@lru_cache(maxsize=_CACHE_SIZE)
def _table(
    params: RopeParams,
    length: int,
    device: str,
    dtype: torch.dtype,
    convention: str,
    angle_dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    return cos_sin(
        params, length, dtype=dtype, device=device, convention=convention, angle_dtype=angle_dtype
    )


def clear_table_cache() -> None:
    _table.cache_clear()


def table_cache_info() -> tuple[int, int, int]:
    """(hits, misses, current size) of the table cache."""
    info = _table.cache_info()
    return info.hits, info.misses, info.currsize
