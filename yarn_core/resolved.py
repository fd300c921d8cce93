"""What one runtime computes for one set of rope parameters (`Resolved`), shared by the
convention modules."""

from __future__ import annotations

from dataclasses import dataclass

from yarn_core.params import RopeParams
from yarn_core.scaling import DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW


@dataclass(frozen=True)
class Resolved:
    """What one runtime would compute for one `RopeParams`."""

    convention: str
    applies_scaling: bool  # False: that runtime uses plain RoPE frequencies for this config
    factor: float  # scale s the runtime uses (1.0 when no scaling applies)
    original_context: int | None  # L that feeds the YaRN range / llama3 / longrope switch
    served_context: int | None  # the longest sequence that runtime would serve by default
    attention_scaling: float  # multiplier on cos and sin (logits scale by its square)
    softmax_multiplier: float  # multiplier on the softmax scale (DeepSeek-reference style)
    truncate: bool  # floor/ceil of the YaRN correction range
    notes: tuple[str, ...] = ()
    beta_fast: float = DEFAULT_BETA_FAST
    beta_slow: float = DEFAULT_BETA_SLOW
    float32_range: bool = False  # correction range evaluated in float32 (llama.cpp)
    longrope_long: bool | None = None  # longrope: long factors regardless of length (vLLM)
    served_context_key: str | None = None  # the config key (or rule) that gave served_context
    theta: float | None = None  # the base the runtime uses when not the config's (llama.cpp)
    extrapolation_factor: float = 1.0  # YaRN: weight of the extrapolated share (SGLang)


def original_or_max(params: RopeParams) -> int | None:
    """The trained context where written, else the declared one."""
    return params.original_max_position_embeddings or params.max_position_embeddings
