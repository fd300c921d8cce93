"""What vLLM 0.33.0 changes on top of the shared rope conventions, from its own code.

* Served context (`vllm/transformers_utils/model_arch_config_convertor.py`
  `ModelArchConfigConvertorBase.derive_max_model_len_and_key`, then `vllm/config/model.py`
  `_get_and_verify_max_len`): the smallest of the length keys `LENGTH_KEYS` the text config
  writes, overridden by a truthy `model_max_length`; times the rope `factor` for every type but
  su/longrope/llama3/yarn/deepseek_yarn/deepseek_llama_scaling (not for Gemma 3); and with
  LongRoPE the default `max_model_len` is `original_max_position_embeddings`.
* LongRoPE (`rotary_embedding/phi3_long_rope_scaled_rope.py`): the long factors for every
  position when `max_model_len` exceeds the original context, else the short ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yarn_core.conventions import Resolved
    from yarn_core.params import RopeParams

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
) -> Resolved:
    """`res` with vLLM's served context, its key and LongRoPE's factor set. Without the whole
    config the length keys are not known; `res`'s served context stands."""
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
    long_always = res.longrope_long
    if params.rope_type == "longrope":
        long_always = bool(served and res.original_context and served > res.original_context)
        notes = [n for n in notes if "long factors" not in n]
        notes.append(
            "vLLM defaults max_model_len to original_max_position_embeddings for LongRoPE and "
            f"runs the {'long' if long_always else 'short'} factors"
        )
    return replace(
        res,
        served_context=served,
        served_context_key=key,
        longrope_long=long_always,
        notes=tuple(notes),
    )
