"""Rows of `ropedex rope`: per layer type, the frequencies and magnitudes a runtime would use.

Plain math only (no torch), so the command starts instantly.
"""

from __future__ import annotations

from typing import Any

from yarn_core.conventions import logit_multiplier, resolve
from yarn_core.frequencies import (
    UnsupportedRope,
    inverse_frequencies,
    llama3_bands,
    longrope_uses_long,
    yarn_bands,
)
from yarn_core.params import RopeParams


def rope_rows(
    path: str,
    rope: dict[str, RopeParams | None],
    *,
    layer_type: str | None = None,
    convention: str = "transformers",
    reason: str | None = None,
    model_type: str | None = None,
    rope_block: dict[str, Any] | None = None,
    declared: int | None = None,
    config: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per layer type of one config (one `rope_type: None` row when it has no RoPE).

    `layer_type` keeps only that layer type; an unknown name gives one row saying so.
    `model_type` and `rope_block` (the rope block as written) refine the served context and
    magnitude exactly as in the verifier's runtime matrix (`conventions.resolve`); `declared`
    (the config's declared context) is the length used when a runtime serves no known length;
    `config` (the whole config.json) gives llama.cpp its converter's context key.
    """
    if layer_type is not None:
        if layer_type not in rope:
            known = ", ".join(sorted(rope)) or "none"
            why = f"no layer type {layer_type!r} (this config has: {known})"
            return [_empty(path, layer_type, why)]
        rope = {layer_type: rope[layer_type]}
    rows = [
        _row(path, name, params, convention, model_type, rope_block, declared, config)
        if params is not None
        else _empty(path, name, "no rotary embedding on this layer type (NoPE)")
        for name, params in rope.items()
    ]
    return rows or [_empty(path, None, reason or "no rotary position embedding")]


def _empty(path: str, layer_type: str | None, reason: str) -> dict[str, Any]:
    return {
        "path": path,
        "layer_type": layer_type,
        "rope_type": None,
        "rotary_dim": None,
        "inv_freq": None,
        "attention_scaling": None,
        "reason": reason,
    }


def _row(
    path: str,
    layer_type: str,
    params: RopeParams,
    convention: str,
    model_type: str | None = None,
    rope_block: dict[str, Any] | None = None,
    declared: int | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    try:
        numbers = runtime_numbers(
            params,
            convention,
            model_type=model_type,
            rope_block=rope_block,
            declared=declared,
            config=config,
        )
    except UnsupportedRope as exc:
        numbers = {"inv_freq": None, "reason": str(exc)}
    if numbers["inv_freq"] is None:
        row = _empty(path, layer_type, numbers["reason"])
        row.update(rope_type=params.rope_type, rotary_dim=params.rotary_dim)
        return row
    return {
        "path": path,
        "layer_type": layer_type,
        "rope_type": params.rope_type,
        "rotary_dim": params.rotary_dim,
        "head_dim": params.head_dim,
        "pairing": params.pairing,
        "theta": params.theta,
        "convention": convention,
        "applies_scaling": numbers["applies_scaling"],
        "factor": numbers["factor"],
        "inv_freq": numbers["inv_freq"],
        "attention_scaling": numbers["attention_scaling"],
        "softmax_multiplier": numbers["softmax_multiplier"],
        "logit_multiplier": numbers["logit_multiplier"],
        "served_context": numbers["served_context"],
        "served_context_key": numbers["served_context_key"],
        "factor_set": numbers["factor_set"],
        "frequency_length": numbers["frequency_length"],
        "yarn_bands": yarn_bands(params, convention) or None,
        "llama3_bands": llama3_bands(params) or None,
        "mrope_section": list(params.mrope_section) if params.mrope_section else None,
        "notes": numbers["notes"] or None,
        "reason": None,
    }


def runtime_numbers(
    params: RopeParams,
    convention: str,
    *,
    model_type: str | None = None,
    rope_block: dict[str, Any] | None = None,
    declared: int | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What `convention` derives for one layer type: the numbers `ropedex rope` prints and the
    verifier's runtime matrix compares, from one `resolve`.

    Frequencies are those the runtime uses at the context it serves by default (length-dependent
    types: dynamic NTK, LongRoPE's factor set); `declared` stands in when it serves no known
    length. `inv_freq` is None, with the `reason`, when the frequencies cannot be built.

    Raises:
        UnsupportedRope: the runtime cannot resolve these parameters at all.
    """
    res = resolve(params, convention, model_type=model_type, rope_block=rope_block, config=config)
    length = res.served_context or declared or params.max_position_embeddings
    freqs: list[float] | None
    reason: str | None = None
    try:
        freqs = inverse_frequencies(params, convention, length, resolved=res)
    except UnsupportedRope as exc:
        freqs, reason = None, str(exc)
    return {
        "applies_scaling": res.applies_scaling,
        "factor": res.factor,
        "attention_scaling": res.attention_scaling,
        "softmax_multiplier": res.softmax_multiplier,
        "logit_multiplier": logit_multiplier(res),
        "served_context": res.served_context,
        "served_context_key": res.served_context_key,
        "factor_set": (
            ("long" if longrope_uses_long(res, length) else "short")
            if params.rope_type == "longrope"
            else None
        ),
        "frequency_length": length,
        "inv_freq": freqs,
        "reason": reason,
        "notes": list(res.notes),
    }
