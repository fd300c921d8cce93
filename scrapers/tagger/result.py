"""The tagger's result: how one config encodes position, with the numbers and the evidence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from yarn_core.params import RopeParams, fingerprint_all, verification_fingerprint

# Bumped whenever a tagging rule changes, so the catalog can re-tag stored configs.
TAGGER_VERSION = 5


@dataclass
class TagResult:
    """Position-encoding facts of one config.json. Every field but the tag may be None."""

    position_encoding: str  # primary tag, see scrapers.tagger.vocabulary.TAGS
    model_type: str | None = None
    rope_theta: float | None = None  # global / full-attention layers
    rope_theta_local: float | None = None  # sliding / local layers
    rotary_dim: int | None = None  # dims that rotate, per head
    rotary_fraction: float | None = None  # rotary_dim / head_dim
    head_dim: int | None = None
    pairing: str | None = None  # "half" | "interleaved" when known
    scaling_type: str | None = None  # canonical rope type when scaled: "yarn", "llama3", ...
    scaling_factor: float | None = None
    scaling_params: dict[str, Any] = field(default_factory=dict)  # every scaling parameter
    original_context: int | None = None  # trained, pre-extension context
    declared_context: int | None = None  # what the config says (max_position_embeddings, ...)
    effective_context: int | None = None  # what the position encoding is built to cover
    usable_context: int | None = None  # declared minus table offsets (RoBERTa 514 -> 512)
    sliding_window: int | None = None
    layer_pattern: list[str] | None = None  # attention type per layer when the config says
    per_layer: dict[str, Any] | None = None  # per layer type details (theta, scaling, NoPE)
    nope_layers: list[int] | None = None  # attention layers without position encoding
    mrope_section: list[int] | None = None
    mrope_interleaved: bool | None = None
    attention_temperature: dict[str, Any] | None = None  # logn, llama4 tuning, mscale knobs
    attention_chunk_size: int | None = None  # chunked local attention (Llama-4 RoPE layers)
    dual_chunk_attention: dict[str, Any] | None = None  # Qwen2.5-1M position remapping block
    mixers: dict[str, int] | None = None  # layer count per mixer / attention kind
    stacks: dict[str, str] | None = None  # encoder/decoder tags when they differ
    torch_dtype: str | None = None
    # Resolved rope parameters keyed by layer type ("default" when shared); None value = NoPE.
    rope: dict[str, RopeParams | None] = field(default_factory=dict)
    raw_rope: dict[str, Any] | None = None  # the rope block exactly as found (for schema checks)
    raw_rope_path: str | None = None  # its key path, e.g. "text_config.rope_scaling"
    evidence: dict[str, Any] = field(default_factory=dict)  # key path -> value that decided
    warnings: list[str] = field(default_factory=list)
    # Present values no runtime can use, as written (key path -> value); numbers derived from
    # them are None, never a default.
    invalid: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why, for `unknown`
    source_of_truth: str = "config"  # config | model_type_default | remote_code | inferred

    @property
    def rope_fingerprint(self) -> str | None:
        """Hash of the resolved rope parameters; None when the model has no RoPE."""
        if not any(p is not None for p in self.rope.values()):
            return None
        return fingerprint_all(self.rope)

    @property
    def verify_fingerprint(self) -> str | None:
        """Key of the verifier's result; None when the model has no RoPE to verify."""
        if self.rope_fingerprint is None:
            return None
        return verification_fingerprint(
            self.rope,
            raw_rope=self.raw_rope,
            model_type=self.model_type,
            torch_dtype=self.torch_dtype,
            invalid=self.invalid,
        )

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of `ropedex tag --json` (documented in the README)."""
        return {
            "position_encoding": self.position_encoding,
            "model_type": self.model_type,
            "rope_theta": self.rope_theta,
            "rope_theta_local": self.rope_theta_local,
            "rotary_dim": self.rotary_dim,
            "rotary_fraction": self.rotary_fraction,
            "head_dim": self.head_dim,
            "pairing": self.pairing,
            "scaling_type": self.scaling_type,
            "scaling_factor": self.scaling_factor,
            "scaling_params": self.scaling_params or None,
            "original_context": self.original_context,
            "declared_context": self.declared_context,
            "effective_context": self.effective_context,
            "usable_context": self.usable_context,
            "sliding_window": self.sliding_window,
            "layer_pattern": self.layer_pattern,
            "per_layer": self.per_layer,
            "nope_layers": self.nope_layers,
            "mrope_section": self.mrope_section,
            "mrope_interleaved": self.mrope_interleaved,
            "attention_temperature": self.attention_temperature,
            "attention_chunk_size": self.attention_chunk_size,
            "dual_chunk_attention": self.dual_chunk_attention,
            "mixers": self.mixers,
            "stacks": self.stacks,
            "torch_dtype": self.torch_dtype,
            "rope_parameters": {
                k: (_strict(v.to_dict()) if v is not None else None) for k, v in self.rope.items()
            }
            or None,
            "rope_fingerprint": self.rope_fingerprint,
            "verify_fingerprint": self.verify_fingerprint,
            "raw_rope": self.raw_rope,
            "raw_rope_path": self.raw_rope_path,
            "evidence": self.evidence,
            "warnings": self.warnings or None,
            "invalid": self.invalid or None,
            "reason": self.reason,
            "source_of_truth": self.source_of_truth,
        }


def _strict(value: Any) -> Any:
    """`value` with NaN and infinities as None, so strict JSON holds it (a bad theta is NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value
