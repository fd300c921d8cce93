"""The flat summary of a tag result: primary layer, scaling, trained and usable context."""

from __future__ import annotations

import math
from typing import Any

from scrapers.tagger.configread import Reader, as_int, jsonable
from scrapers.tagger.result import TagResult
from scrapers.tagger.vocabulary import NOPE_SUFFIX, rope_tag
from yarn_core.params import SCALING_KNOBS, RopeParams


def _primary(rope: dict[str, RopeParams | None]) -> RopeParams | None:
    for key in ("full_attention", "default", "indexed_attention", "compress", "global", "main"):
        params = rope.get(key)
        if params is not None:
            return params
    return next((p for p in rope.values() if p is not None), None)


def summarise(reader: Reader, mt: str | None, res: TagResult) -> None:
    primary = _primary(res.rope)
    if primary is None:
        res.position_encoding = "nope-hybrid" if res.rope else "unknown"
        res.reason = None if res.rope else "no rope parameters could be resolved"
        return
    scaled = primary.rope_type != "default"
    if primary.rope_type in ("linear", "dynamic") and primary.factor is not None:
        if primary.factor <= 1.0:
            res.warnings.append(
                f"{primary.rope_type} scaling with factor {primary.factor} is no scaling"
            )
            scaled = False
    tag = (
        "rope-mrope"
        if primary.mrope_section
        else (rope_tag(primary.rope_type) if scaled else "rope")
    )
    if any(v is None for v in res.rope.values()):
        tag += NOPE_SUFFIX
    res.position_encoding = tag
    res.rope_theta = _finite(primary.theta)
    local = res.rope.get("sliding_attention") or res.rope.get("hybrid_sliding")
    res.rope_theta_local = (
        _finite(local.theta) if local is not None and local is not primary else None
    )
    res.head_dim = primary.head_dim
    res.rotary_dim = primary.rotary_dim
    res.rotary_fraction = (
        round(primary.rotary_dim / primary.head_dim, 6) if primary.head_dim else None
    )
    res.pairing = primary.pairing
    if primary.mrope_section:
        res.mrope_section = list(primary.mrope_section)
        res.mrope_interleaved = primary.mrope_interleaved
    if scaled:
        res.scaling_type = primary.rope_type
        res.scaling_factor = _finite(primary.factor)
        res.scaling_params = _scaling_params(primary)
    res.original_context = _original_context(reader, mt, primary, scaled)
    res.effective_context = _effective(res, primary, scaled)
    res.usable_context = res.declared_context
    if len(res.rope) > 1:
        res.per_layer = {
            k: (
                None
                if v is None
                else {
                    "rope_type": v.rope_type,
                    "theta": _finite(v.theta),
                    "rotary_dim": v.rotary_dim,
                    "factor": _finite(v.factor),
                }
            )
            for k, v in res.rope.items()
        }
    res.attention_temperature = _temperature(reader, primary)


def _finite(value: Any) -> Any:
    """A number as reported: None for the NaN that stands for a value the config wrote but no
    runtime can use (the value itself is in `invalid`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _scaling_params(params: RopeParams) -> dict[str, Any]:
    out = {k: getattr(params, k) for k in SCALING_KNOBS if getattr(params, k) is not None}
    return {k: list(v) if isinstance(v, tuple) else _finite(v) for k, v in out.items()}


def _original_context(
    reader: Reader, mt: str | None, primary: RopeParams, scaled: bool
) -> int | None:
    if scaled and primary.original_max_position_embeddings:
        return primary.original_max_position_embeddings
    if mt == "qwen":
        value = as_int(reader.config.get("seq_length"))
        if value:
            reader.cite("seq_length")
            return value
    if mt == "nomic_bert":
        value = as_int(reader.config.get("max_trained_positions"))
        if value:
            reader.cite("max_trained_positions")
            return value
    return primary.original_max_position_embeddings if scaled else None


def _effective(res: TagResult, primary: RopeParams, scaled: bool) -> int | None:
    declared = res.declared_context
    if not scaled:
        return declared
    original = primary.original_max_position_embeddings
    factor = primary.factor
    if primary.rope_type == "linear" and original is None:
        return declared
    covered = _times(original, factor)
    if primary.rope_type in ("linear", "yarn", "dynamic", "longrope") and original and factor:
        return covered
    if primary.rope_type == "llama3" and original and factor:
        return declared if declared and declared > original else covered
    return declared


def _times(original: int | None, factor: float | None) -> int | None:
    """`original * factor` as a length, None when it is no finite length (factor 1e308, NaN)."""
    if not original or factor is None:
        return None
    value = original * factor
    return int(value) if math.isfinite(value) and 0 < value < 2**53 else None


def _temperature(reader: Reader, primary: RopeParams) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    config = reader.config
    for key in ("use_logn_attn", "attn_temperature_tuning", "floor_scale", "attn_scale"):
        value = config.get(key)
        if value is not None:
            reader.note(key, value)
            out[key] = jsonable(value)
    if "llama_4_scaling_beta" in primary.extra:
        out["llama_4_scaling_beta"] = primary.extra["llama_4_scaling_beta"]
    if primary.mscale is not None:
        out["mscale"] = primary.mscale
    if primary.mscale_all_dim is not None:
        out["mscale_all_dim"] = primary.mscale_all_dim
    if primary.attention_factor is not None:
        out["attention_factor"] = primary.attention_factor
    return out or None
