"""Layers without a rotary embedding (NoPE) inside RoPE models."""

from __future__ import annotations

from typing import Any

from scrapers.tagger import archdefaults as arch
from scrapers.tagger.configread import Reader, as_float, as_int
from scrapers.tagger.result import TagResult
from yarn_core.params import RopeParams


def apply_nope(
    reader: Reader, mt: str | None, rope: dict[str, RopeParams | None], res: TagResult
) -> None:
    layers = as_int(reader.config.get("num_hidden_layers"))
    flags = reader.config.get("no_rope_layers")
    nope: list[int] | None = None
    if isinstance(flags, list) and flags:
        reader.note("no_rope_layers", flags)
        nope = [i for i, v in enumerate(flags[:65536]) if as_int(v) == 0]
    elif mt in arch.NOPE_INTERVAL and layers:
        interval = as_int(reader.config.get("no_rope_layer_interval"))
        if interval is not None and interval > 0:
            reader.cite("no_rope_layer_interval")
        else:
            interval = arch.NOPE_INTERVAL[mt or ""]
            res.source_of_truth = "model_type_default"
        nope = [i for i in range(min(layers, 65536)) if (i + 1) % interval == 0]
    thetas = reader.config.get("layer_rope_theta")
    if nope is None and isinstance(thetas, list) and thetas:
        reader.note("layer_rope_theta", thetas)
        nope = [i for i, v in enumerate(thetas[:65536]) if as_float(v) == 0.0]
    if nope is None and mt in arch.SLIDING_ONLY_ROPE:
        nope = _sliding_only_nope(reader, mt, res, layers)
        if nope is not None and "default" in rope:
            rope["sliding_attention"] = rope.pop("default")
            rope["full_attention"] = None
    if nope:
        res.nope_layers = nope
        if all(v is not None for v in rope.values()):
            rope["nope"] = None
    elif nope is not None and not nope:
        res.nope_layers = None
    if any(v is None for v in rope.values()) and res.nope_layers is None:
        # per-layer-type blocks set to null (Beam, Cohere-Compass): the layers of those types
        pattern = res.layer_pattern or []
        res.nope_layers = [i for i, t in enumerate(pattern) if t in rope and rope[t] is None]
        if res.nope_layers:
            reader.cite("layer_types")


def _sliding_only_nope(
    reader: Reader, mt: str | None, res: TagResult, layers: int | None
) -> list[int] | None:
    if mt in arch.WINDOW_GATES_ROPE and reader.has("sliding_window"):
        if res.sliding_window is None:
            reader.cite("sliding_window")
            return None  # a null window: every layer is a full one and every layer rotates
    if res.layer_pattern:
        reader.cite("layer_types")
        return [i for i, t in enumerate(res.layer_pattern) if t == "full_attention"]
    pattern: Any = reader.config.get("sliding_window_pattern")
    if isinstance(pattern, str) and pattern:
        reader.note("sliding_window_pattern", pattern)
        count = layers or len(pattern)
        return [i for i in range(min(count, 65536)) if pattern[i % len(pattern)].upper() == "G"]
    every = arch.FULL_EVERY.get(mt or "", 4)
    for key in ("sliding_window_pattern", "global_attn_every_n_layers"):
        value = as_int(reader.config.get(key))
        if value is not None and value > 0:
            reader.cite(key)
            every = value
            break
    if not layers or layers < 0:
        return [every - 1]
    count = min(layers, 65536)
    if mt == "flint":  # first two, every fourth from index 1, and the last layer
        return [i for i in range(count) if i < 2 or i % 4 == 1 or i == count - 1]
    return [i for i in range(count) if (i + 1) % every == 0]
