"""Normalise one rope block (v4 `rope_scaling` or v5 `rope_parameters`) into `RopeParams`.

Handles `type` vs `rope_type` (`rope_type` wins), the legacy names (`su`, `mrope`,
`deepseek_yarn`, Phi-3's `yarn`, Hunyuan's `dynamic` + `alpha`), and keeps every scaling knob
the block does not give as None so that "absent" and "explicit" stay apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scrapers.tagger.configread import Reader, as_bool, as_float, as_int, as_str, jsonable
from yarn_core.params import FLOAT_KNOBS, ROPE_TYPES, RopeParams

# Spelling -> canonical rope type; None marks a spelling that needs the model type to decide.
LEGACY_TYPES: dict[str, str] = {
    "su": "longrope",
    "mrope": "default",
    "xdrope": "default",
    "deepseek_yarn": "yarn",
    "ntk_alpha": "ntk",
    "none": "default",
}
PHI3_FAMILY = frozenset({"phi3", "phi4_multimodal", "phimoe"})

CONSUMED = frozenset(
    {
        "rope_type",
        "type",
        "rope_theta",
        "factor",
        "original_max_position_embeddings",
        "truncate",
        "short_factor",
        "long_factor",
        "mrope_section",
        "xdrope_section",
        "mrope_interleaved",
        "partial_rotary_factor",
        *FLOAT_KNOBS,
    }
)


@dataclass(frozen=True)
class Geometry:
    head_dim: int
    rotary_dim: int
    pairing: str


@dataclass(frozen=True)
class Context:
    """What a rope block is read against."""

    model_type: str | None
    theta: float  # resolved base for this layer type when the block gives none
    geometry: Geometry
    declared: int | None  # the config's declared context
    top_original: int | None  # top-level original_max_position_embeddings
    mrope_default: tuple[tuple[int, ...], bool] | None


def canonical_type(block: dict[str, Any], model_type: str | None) -> tuple[str | None, str]:
    """(canonical rope type or None if unrecognised, the spelling found)."""
    spelled = as_str(block.get("rope_type")) or as_str(block.get("type")) or "default"
    name = spelled.lower()
    if name == "yarn" and model_type in PHI3_FAMILY:
        return "longrope", spelled
    if name == "dynamic" and as_float(block.get("alpha")) is not None:
        return "ntk", spelled
    if name in LEGACY_TYPES:
        return LEGACY_TYPES[name], spelled
    if name in ROPE_TYPES:
        return name, spelled
    return None, spelled


def build_params(
    block: dict[str, Any], ctx: Context, reader: Reader, layer_type: str | None
) -> RopeParams | str:
    """RopeParams for one block, or a reason string when the block cannot be understood."""
    rope_type, spelled = canonical_type(block, ctx.model_type)
    if rope_type is None:
        # No runtime knows it (transformers raises KeyError): kept as written, so it fails.
        key = "rope_type" if "rope_type" in block else "type"
        reader.reject(key, block.get(key), "a rope type no runtime implements")
        rope_type = spelled
    if spelled != rope_type and spelled.lower() not in ("mrope", "xdrope"):
        reader.warnings.append(f"legacy rope type {spelled!r} read as {rope_type!r}")
    theta = ctx.theta
    if block.get("rope_theta") is not None:
        raw_theta = block["rope_theta"]
        theta = math.nan if isinstance(raw_theta, bool | str) else (as_float(raw_theta) or math.nan)
        if not theta > 0:
            reader.reject("rope_theta", raw_theta, "not a finite positive number")
            theta = math.nan
    geometry = _layer_geometry(block, ctx.geometry, reader)
    factor = as_float(block.get("factor"))
    raw_factor = block.get("factor")
    if raw_factor is not None and (isinstance(raw_factor, bool | str) or factor is None):
        reader.reject("factor", raw_factor, "not a finite number")
        factor = math.nan
    knobs = {key: as_float(block.get(key)) for key in FLOAT_KNOBS}
    original = _original(block, rope_type, ctx)
    section, interleaved = _mrope(block, ctx)
    short = _factor_list(block.get("short_factor"), "short_factor", reader)
    long = _factor_list(block.get("long_factor"), "long_factor", reader)
    extra = {k: jsonable(v) for k, v in block.items() if k not in CONSUMED}
    return RopeParams(
        rope_type=rope_type,
        theta=theta,
        head_dim=geometry.head_dim,
        rotary_dim=geometry.rotary_dim,
        pairing=geometry.pairing,
        layer_type=layer_type,
        max_position_embeddings=ctx.declared,
        original_max_position_embeddings=original,
        factor=factor,
        truncate=as_bool(block.get("truncate")),
        short_factor=short,
        long_factor=long,
        mrope_section=section,
        mrope_interleaved=interleaved,
        extra=extra,
        **knobs,
    )


def _layer_geometry(block: dict[str, Any], base: Geometry, reader: Reader) -> Geometry:
    prf = as_float(block.get("partial_rotary_factor"))
    if prf is None:
        return base
    if not 0 < prf <= 1:
        reader.warnings.append(f"partial_rotary_factor {prf} is outside (0, 1]; ignored")
        return base
    return Geometry(base.head_dim, int(base.head_dim * prf), base.pairing)


def _original(block: dict[str, Any], rope_type: str, ctx: Context) -> int | None:
    inside = as_int(block.get("original_max_position_embeddings"))
    if ctx.model_type in PHI3_FAMILY and ctx.top_original:
        return ctx.top_original
    found = inside or ctx.top_original
    if found:
        return found
    if rope_type in ("yarn", "longrope", "dynamic", "llama3"):
        return ctx.declared  # these read the declared context as the trained one
    return None


def _mrope(block: dict[str, Any], ctx: Context) -> tuple[tuple[int, ...] | None, bool]:
    raw = block.get("mrope_section", block.get("xdrope_section"))
    default_interleaved = ctx.mrope_default[1] if ctx.mrope_default else False
    interleaved = as_bool(block.get("mrope_interleaved"))
    if isinstance(raw, list) and raw and all(as_int(v) is not None for v in raw):
        section = tuple(int(v) for v in raw)
    elif ctx.mrope_default is not None:
        section = ctx.mrope_default[0]
    else:
        return None, False
    return section, default_interleaved if interleaved is None else interleaved


def _factor_list(value: Any, key: str, reader: Reader) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 4096:
        reader.warnings.append(f"{key} is not a list of numbers")
        return None
    numbers = [as_float(v) for v in value]
    if any(n is None for n in numbers):
        reader.warnings.append(f"{key} holds non-numeric entries")
        return None
    return tuple(n for n in numbers if n is not None)
