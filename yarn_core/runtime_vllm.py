"""What vLLM 0.33.0 changes on top of the shared rope conventions, from its own code.

* Served context (`vllm/transformers_utils/model_arch_config_convertor.py`
  `ModelArchConfigConvertorBase.derive_max_model_len_and_key`, then `vllm/config/model.py`
  `_get_and_verify_max_len`): the smallest of the length keys `LENGTH_KEYS` the text config
  writes, overridden by a truthy `model_max_length`; times the rope `factor` for every type but
  su/longrope/llama3/yarn/deepseek_yarn/deepseek_llama_scaling (not for Gemma 3); and with
  LongRoPE the default `max_model_len` is `original_max_position_embeddings`.
* LongRoPE (`rotary_embedding/phi3_long_rope_scaled_rope.py`): the long factors for every
  position when `max_model_len` exceeds the original context, else the short ones; the block's
  `short_mscale` / `long_mscale` replace the cos/sin magnitude of that set.
* Dynamic NTK (`rotary_embedding/dynamic_ntk_scaling_rope.py`): one static base
  `b * alpha^(d/(d-2))` with `alpha = s * L / max_trained_positions - (s - 1)`, `L` the
  max_position_embeddings passed to `get_rope` (alpha = 1 without `max_trained_positions`).
* Static NTK (`rotary_embedding/ntk_scaling_rope.py` `_compute_inv_freq`): without `mixed_b`,
  `(b s)^(-2j/d) / s^(2/d)`; with it, `b^(-2j/d) / exp(a (j+1)^mixed_b)` with
  `a = ln s / (d/2)^mixed_b`.
* Dual-chunk attention (`rotary_embedding/dual_chunk_rope.py`, passed by `models/qwen2.py`
  when the config has `dual_chunk_attention_config`): the same inverse frequencies and
  magnitude, positions re-based per chunk; noted, numbers unchanged.
* DeepSeek MLA (`models/deepseek_v2.py` `DeepseekV2MLAAttention.__init__` and
  `rotary_embedding/deepseek_scaling_rope.py`): YaRN becomes `deepseek_yarn`, or
  `deepseek_llama_scaling` when `attention_factor` is 1.0, which skips the softmax
  multiplier; either way the cos/sin magnitude is `m(s, mscale) / m(s, mscale_all_dim)` and
  `attention_factor` is not read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Protocol, TypeVar

from yarn_core.params import RopeParams
from yarn_core.scaling import default_inv_freq, mscale_ratio, ntk_alpha_base


class _Resolved(Protocol):
    """What this module reads of `yarn_core.conventions.Resolved` (not imported: that module
    dispatches here)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def served_context(self) -> int | None: ...
    @property
    def served_context_key(self) -> str | None: ...
    @property
    def original_context(self) -> int | None: ...
    @property
    def attention_scaling(self) -> float: ...
    @property
    def softmax_multiplier(self) -> float: ...
    @property
    def longrope_long(self) -> bool | None: ...
    @property
    def factor(self) -> float: ...
    @property
    def notes(self) -> tuple[str, ...]: ...


Resolved = TypeVar("Resolved", bound=_Resolved)

# derive_max_model_len_and_key's possible_keys, in vLLM's order.
LENGTH_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_target_positions",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)
UNSCALED_TYPES = frozenset(
    {"su", "longrope", "llama3", "yarn", "deepseek_yarn", "deepseek_llama_scaling"}
)


def text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The sub-config vLLM reads lengths from (`get_hf_text_config`: `text_config` if any)."""
    sub = config.get("text_config")
    return sub if isinstance(sub, Mapping) else config


def derived_length(config: Mapping[str, Any]) -> tuple[float, str] | None:
    """vLLM's derived maximum length and the key that gave it, before rope scaling."""
    text = text_config(config)
    best: tuple[float, str] | None = None
    for key in LENGTH_KEYS:
        value = text.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if best is None or value < best[0]:
                best = (float(value), key)
    mml = text.get("model_max_length")
    if isinstance(mml, int | float) and not isinstance(mml, bool) and mml:
        best = (float(mml), "model_max_length")
    return best


def vllm_architecture(
    params: RopeParams,
    res: Resolved,
    model_type: str | None,
    config: Mapping[str, Any] | None,
    *,
    mla: bool,
) -> Resolved:
    """`res` with vLLM's served context, its key and LongRoPE's factor set. Without the whole
    config the length keys are not known; `res`'s served context stands. `mla`: the model
    type's attention is DeepSeek's multi-head latent attention."""
    notes = list(res.notes)
    derived = derived_length(config) if config is not None else None
    served, key = res.served_context, res.served_context_key
    if derived is not None:
        length, key = derived
        scaled = params.rope_type not in UNSCALED_TYPES and "gemma3" not in (model_type or "")
        if scaled and params.factor is not None and params.rope_type != "default":
            length, key = length * float(params.factor), f"{key} x factor"
        served = int(length)
        if key.startswith("model_max_length"):
            notes.append(f"vLLM serves {served} from model_max_length")
    if params.rope_type == "longrope" and params.original_max_position_embeddings:
        served = int(params.original_max_position_embeddings)
        key = "original_max_position_embeddings (LongRoPE default max_model_len)"
    res = replace(res, served_context=served, served_context_key=key)
    dual = text_config(config).get("dual_chunk_attention_config") if config is not None else None
    if isinstance(dual, Mapping):
        notes.append(
            "vLLM runs dual-chunk attention (DualChunkRotaryEmbedding): the same frequencies, "
            f"positions re-based within chunks of {dual.get('chunk_size')!r}"
        )
    if params.rope_type == "longrope":
        res = _longrope(params, res, notes)
    elif params.rope_type == "dynamic":
        res = _dynamic(params, res, notes)
    elif params.rope_type == "ntk":
        notes = [n for n in notes if not n.startswith("static NTK alpha")]
        notes.append("static NTK as vLLM's NTKScalingRotaryEmbedding computes it")
    elif params.rope_type == "yarn" and mla:
        res = _deepseek(params, res, notes)
    return replace(res, notes=tuple(notes))


def _longrope(params: RopeParams, res: Resolved, notes: list[str]) -> Resolved:
    served, original = res.served_context, res.original_context
    long_always = bool(served and original and served > original)
    notes[:] = [n for n in notes if "long factors" not in n]
    notes.append(
        "vLLM defaults max_model_len to original_max_position_embeddings for LongRoPE and "
        f"runs the {'long' if long_always else 'short'} factors"
    )
    magnitude = res.attention_scaling
    written = params.extra.get("long_mscale" if long_always else "short_mscale")
    if isinstance(written, int | float) and not isinstance(written, bool):
        magnitude = float(written)
        notes.append(f"cos/sin magnitude {magnitude:g} from the block's mscale for that set")
    return replace(res, longrope_long=long_always, attention_scaling=magnitude)


def _dynamic(params: RopeParams, res: Resolved, notes: list[str]) -> Resolved:
    trained = params.extra.get("max_trained_positions")
    length = params.max_position_embeddings
    if not isinstance(trained, int | float) or isinstance(trained, bool) or not length:
        return res
    factor = float(params.factor) if params.factor is not None else 1.0
    alpha = factor * length / trained - (factor - 1)
    base = ntk_alpha_base(params.theta, alpha, params.rotary_dim)
    notes[:] = [n for n in notes if "max_trained_positions" not in n]
    notes.append(
        f"vLLM's static dynamic-NTK base: alpha = s*L/max_trained_positions - (s-1) = "
        f"{alpha:g}, base {base:g}"
    )
    return replace(res, applies_scaling=alpha != 1.0, theta=base)


def _deepseek(params: RopeParams, res: Resolved, notes: list[str]) -> Resolved:
    factor = res.factor
    mscale = params.mscale if params.mscale is not None else 1.0
    mscale_all_dim = params.mscale_all_dim or 0.0
    magnitude = mscale_ratio(factor, float(mscale), float(mscale_all_dim))
    softmax = res.softmax_multiplier
    if params.attention_factor == 1.0:
        softmax = 1.0
        notes.append(
            "attention_factor 1.0: vLLM runs deepseek_llama_scaling, without the MLA softmax "
            "multiplier"
        )
    elif params.attention_factor is not None:
        notes.append("attention_factor not read by vLLM's DeepSeek rotary embedding")
    return replace(res, attention_scaling=magnitude, softmax_multiplier=softmax)


def ntk_inv_freq(theta: float, dim: int, factor: float, mixed_b: float | None) -> list[float]:
    """vLLM's static NTK inverse frequencies (`NTKScalingRotaryEmbedding._compute_inv_freq`)."""
    if mixed_b is None:
        shrink = factor ** (2 / dim)
        return [f / shrink for f in default_inv_freq(theta * factor, dim)]
    a = math.log(factor) / (dim / 2) ** mixed_b
    plain = default_inv_freq(theta, dim)
    return [f / math.exp(a * (j + 1) ** mixed_b) for j, f in enumerate(plain)]
