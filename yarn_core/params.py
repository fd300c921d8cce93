"""Normalised RoPE parameters: the one type the tagger produces and the numerical core consumes.

Pure Python (no torch). A `RopeParams` describes the rotary embedding of one attention layer type,
after every legacy spelling and model-type default has been resolved by the tagger.
"""

from __future__ import annotations

import hashlib
import math
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Canonical rope types (transformers v5 names plus `ntk` for static NTK-aware `alpha`).
ROPE_TYPES = (
    "default",
    "linear",
    "dynamic",
    "ntk",
    "yarn",
    "llama3",
    "longrope",
    "proportional",
)

PAIRINGS = ("half", "interleaved")

# Scaling knobs that are plain floats in a rope block (each one a RopeParams field).
FLOAT_KNOBS = (
    "beta_fast",
    "beta_slow",
    "mscale",
    "mscale_all_dim",
    "attention_factor",
    "low_freq_factor",
    "high_freq_factor",
    "alpha",
)
# Every scaling parameter of a RopeParams.
SCALING_KNOBS = (
    "factor",
    "original_max_position_embeddings",
    *FLOAT_KNOBS,
    "truncate",
    "short_factor",
    "long_factor",
)


@dataclass(frozen=True)
class RopeParams:
    """Rotary embedding of one layer type, fully resolved.

    `rotary_dim` is the number of dims that rotate (even); `head_dim` the full head width. For
    `proportional`, frequencies use `head_dim` as the exponent denominator and only the first
    `rotary_dim / 2` pairs rotate.
    """

    rope_type: str = "default"  # one of ROPE_TYPES
    theta: float = 10000.0  # base frequency b
    head_dim: int = 128  # full head width
    rotary_dim: int = 128  # dims that rotate (head_dim * partial_rotary_factor)
    pairing: str = "half"  # "half" (NeoX / HF) or "interleaved" (GPT-J / Meta)
    layer_type: str | None = None  # e.g. "full_attention", "sliding_attention"; None if shared
    max_position_embeddings: int | None = None  # declared context of the config
    original_max_position_embeddings: int | None = None  # trained (pre-extension) context L
    factor: float | None = None  # scale s (linear, dynamic, yarn, llama3, longrope)
    # YaRN
    beta_fast: float | None = None  # high-frequency boundary, in rotations (default 32)
    beta_slow: float | None = None  # low-frequency boundary, in rotations (default 1)
    mscale: float | None = None  # DeepSeek-style magnitude coefficient
    mscale_all_dim: float | None = None  # DeepSeek-style magnitude coefficient (softmax)
    attention_factor: float | None = None  # explicit cos/sin magnitude (yarn, longrope)
    truncate: bool | None = None  # floor/ceil the correction range (default True)
    # Llama 3
    low_freq_factor: float | None = None
    high_freq_factor: float | None = None
    # LongRoPE
    short_factor: tuple[float, ...] | None = None
    long_factor: tuple[float, ...] | None = None
    # static NTK-aware
    alpha: float | None = None
    # mRoPE (orthogonal to the scaling type)
    mrope_section: tuple[int, ...] | None = None
    mrope_interleaved: bool = False
    # Keys of the source block that no rule consumed, kept for schema checks.
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def partial_rotary_factor(self) -> float:
        return self.rotary_dim / self.head_dim if self.head_dim else 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RopeParams:
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key in ("short_factor", "long_factor", "mrope_section") and value is not None:
                value = tuple(value)
            if key == "theta" and not isinstance(value, int | float):
                value = math.nan  # stored as null (strict JSON): the config's theta was unusable
            kwargs[key] = value
        return cls(**kwargs)

    def fingerprint(self) -> str:
        """Stable hash of every numeric input of the embedding (not `layer_type` or `extra`)."""
        data = self.to_dict()
        data.pop("layer_type")
        data.pop("extra")
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def fingerprint_all(params: dict[str, RopeParams | None]) -> str:
    """Fingerprint of a whole model's rope parameters, keyed by layer type."""
    parts = {k: (v.fingerprint() if v is not None else None) for k, v in sorted(params.items())}
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def verification_fingerprint(
    params: dict[str, RopeParams | None],
    *,
    raw_rope: dict[str, Any] | None,
    model_type: str | None,
    torch_dtype: str | None,
    invalid: dict[str, Any] | None = None,
) -> str:
    """Key of a verifier result: everything the verifier reads, so fine-tunes that share it share
    one verification. `invalid` (values as written that no runtime can use) counts only when
    present, so configs without any keep their key."""
    data: dict[str, Any] = {
        "rope": fingerprint_all(params),
        "raw": raw_rope,
        "model_type": model_type,
        "dtype": torch_dtype,
    }
    if invalid:
        data["invalid"] = invalid
    blob = json.dumps(
        data,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
