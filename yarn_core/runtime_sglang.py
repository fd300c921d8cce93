"""What SGLang 0.5.23 changes on top of the shared conventions, read in its source
(docs/verifier.md, "SGLang").

Read from SGLang's own code (the `sglang==0.5.23` wheel):

* Served context: `utils/hf_transformers/common.py` `get_context_length` takes the first key of
  `CONTEXT_LENGTH_KEYS` present on the text config (`max_sequence_length`, `seq_length`,
  `max_seq_len`, `model_max_length`, `max_position_embeddings`; none: the config class's
  default, else 2048) and multiplies it by
  the rope block's `factor` unless the block holds `original_max_position_embeddings` or its
  `rope_type` is llama3. transformers 5 hands Gemma-3 a rope block nested per layer type, which
  has no top-level `factor`, so Gemma-3 is served its `max_position_embeddings` unscaled.
* Gemma-3 (`models/gemma3_causal.py` `Gemma3Attention`): both the sliding and the global layers
  call `get_rope` with `{"rope_type": "default"}`: the declared linear factor is dropped.
* YaRN (`layers/rotary_embedding/yarn.py` `YaRNScalingRotaryEmbedding`, also with an
  `mrope_section`, `YaRNScalingMRotaryEmbedding`): `attn_factor` multiplies the magnitude and
  `extrapolation_factor` scales the extrapolated share of each pair's blend.
* MLA softmax (`configs/model_config.py` `compute_mla_mscale_scaling`): the softmax scale is
  multiplied by m(s, mscale_all_dim)^2 with s the block's `factor` (the architecture list is
  `conventions.MLA_SOFTMAX_MODEL_TYPES`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from yarn_core.params import RopeParams

CONTEXT_LENGTH_KEYS = (
    "max_sequence_length",
    "seq_length",
    "max_seq_len",
    "model_max_length",
    "max_position_embeddings",
)
# transformers 5 config classes whose rope parameters are nested per layer type whatever the
# config.json writes (so SGLang's `rope_scaling.get("factor")` finds none).
NESTED_ROPE_MODEL_TYPES = frozenset({"gemma3", "gemma3_text"})
# Model types whose SGLang attention calls get_rope with {"rope_type": "default"}.
DROPS_SCALING_MODEL_TYPES = frozenset({"gemma3", "gemma3_text"})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _flat_block(text: Mapping[str, Any], model_type: str | None) -> Mapping[str, Any] | None:
    """The rope block as SGLang's `get_context_length` sees `config.rope_scaling`."""
    if model_type in NESTED_ROPE_MODEL_TYPES:
        return None
    for key in ("rope_scaling", "rope_parameters"):
        block = text.get(key)
        if isinstance(block, Mapping) and block:
            if all(isinstance(v, Mapping) for v in block.values()):
                return None  # nested per layer type: no top-level factor
            return block
    return None


def context_length(
    text: Mapping[str, Any],
    model_type: str | None,
    declared: int | None,
) -> tuple[int | None, str | None]:
    """SGLang's served context for a text config, and the key (or rule) it came from.

    `declared` stands in for `max_position_embeddings` when the config does not write it (the
    architecture's documented default, as transformers' config class fills it). With none of
    the keys and no `declared`, SGLang reads transformers' config-class default (its own 2048
    only when the class has none either); that default is not known here: `(None, None)`.
    """
    block = _flat_block(text, model_type)
    factor: Any = 1
    if block:
        factor = block.get("factor", 1)
        kind = block.get("rope_type", block.get("type"))
        if "original_max_position_embeddings" in block or kind == "llama3":
            factor = 1
    if not _is_number(factor):
        raise ValueError(f"factor {factor!r} is not a number")
    for key in CONTEXT_LENGTH_KEYS:
        value = text.get(key)
        if key == "max_position_embeddings" and value is None:
            value = declared
        if value is None:
            continue
        if not _is_number(value):
            raise ValueError(f"{key} {value!r} is not a number")
        served = int(factor * value)
        return served, key if factor == 1 else f"{key} x factor"
    return None, None


def text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The language-model sub-config SGLang reads (`get_hf_text_config`: thinker_config's
    text_config, else llm_config, language_config, text_config; else the config itself)."""
    thinker = config.get("thinker_config")
    if isinstance(thinker, Mapping) and isinstance(thinker.get("text_config"), Mapping):
        return thinker["text_config"]
    for key in ("llm_config", "language_config", "text_config"):
        sub = config.get(key)
        if isinstance(sub, Mapping) and sub:
            return sub
    return config


def drops_scaling(model_type: str | None) -> bool:
    return model_type in DROPS_SCALING_MODEL_TYPES


def yarn_knobs(extra: Mapping[str, Any]) -> tuple[float, float]:
    """(`attn_factor`, `extrapolation_factor`) of a YaRN block (1 when absent)."""
    out = []
    for key in ("attn_factor", "extrapolation_factor"):
        value = extra.get(key)
        if value is None:
            out.append(1.0)
        elif _is_number(value):
            out.append(float(value))
        else:
            raise ValueError(f"{key} {value!r} is not a number")
    return out[0], out[1]


def block_context(
    params: RopeParams,
    model_type: str | None,
    rope_block: Mapping[str, Any] | None,
) -> int | None:
    """SGLang's served context from the rope block alone (no whole config at hand)."""
    if params.max_position_embeddings is None:
        return None
    block: Mapping[str, Any] = (
        rope_block
        if rope_block is not None
        else {
            "rope_type": params.rope_type,
            "factor": params.factor,
            "original_max_position_embeddings": params.original_max_position_embeddings,
        }
    )
    block = {k: v for k, v in block.items() if v is not None}
    text = {"rope_scaling": block, "max_position_embeddings": params.max_position_embeddings}
    return context_length(text, model_type, params.max_position_embeddings)[0]


def sglang_updates(
    params: RopeParams,
    *,
    served_context: int | None,
    applies_scaling: bool,
    factor: float,
    model_type: str | None,
    config: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], list[str]]:
    """SGLang's length key, Gemma-3's dropped factor and YaRN's extra knobs (module docstring):
    the fields of `conventions.Resolved` to change, and the notes to add."""
    changes: dict[str, Any] = {}
    notes: list[str] = []
    if config is not None:
        text = text_config(config)
        served, key = context_length(text, model_type, params.max_position_embeddings)
        if served is not None and (served != served_context or key != "max_position_embeddings"):
            notes.append(f"SGLang serves {served} from {key} (first of its length keys present)")
        changes.update(served_context=served, served_context_key=key)
    if drops_scaling(model_type) and applies_scaling:
        notes.append(
            f"SGLang's {model_type} attention calls get_rope with rope_type default: the "
            f"{params.rope_type} factor {factor:g} is dropped"
        )
        changes.update(applies_scaling=False, factor=1.0, attention_scaling=1.0)
        applies_scaling = False
    if params.rope_type == "yarn" and applies_scaling:
        _attn, extrapolation = yarn_knobs(params.extra)
        if extrapolation != 1.0:
            notes.append(f"extrapolation_factor {extrapolation:g} scales the extrapolated share")
        changes["extrapolation_factor"] = extrapolation
    return changes, notes
