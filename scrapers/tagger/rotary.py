"""RoPE configs: theta, head geometry, pairing, and the rope block of each layer type."""

from __future__ import annotations

import math
from typing import Any

from scrapers.tagger import archdefaults as arch
from scrapers.tagger.configread import Reader, as_float, as_int, jsonable
from scrapers.tagger.nope import apply_nope
from scrapers.tagger.result import TagResult
from scrapers.tagger.ropeblock import CONSUMED, Context, Geometry, build_params
from scrapers.tagger.summary import summarise
from yarn_core.params import RopeParams


def tag_rope(reader: Reader, res: TagResult, mt: str | None) -> None:
    defaults = arch.rope_defaults(mt) or {}
    if not defaults and res.source_of_truth == "config":
        res.source_of_truth = "remote_code" if reader.has("auto_map") else "inferred"
    theta = _top_theta(reader, mt, defaults, res)
    geometry = _geometry(reader, mt, defaults)
    block, path, synthetic = _find_block(reader, mt, res)
    if block is None and "scaling" in defaults:
        block = dict(defaults["scaling"])
        res.source_of_truth = "model_type_default"
        res.warnings.append(f"no rope block: the {mt} class default scaling applies")
    ctx = Context(
        model_type=mt,
        theta=theta,
        geometry=geometry,
        declared=res.declared_context,
        top_original=_top_original(reader),
        mrope_default=arch.MROPE_DEFAULTS.get(mt or ""),
    )
    rope = _layers(reader, mt, defaults, block, ctx, res)
    if isinstance(rope, str):
        res.position_encoding = "unknown"
        res.reason = rope
        return
    apply_nope(reader, mt, rope, res)
    res.rope = rope
    if not synthetic and block is not None and path is not None:
        if res.raw_rope is None:
            res.raw_rope = jsonable(reader.config.get(path))
        res.raw_rope_path = reader.path(path)
    summarise(reader, mt, res)


def _top_theta(reader: Reader, mt: str | None, defaults: dict[str, Any], res: TagResult) -> float:
    if mt == "chatglm":
        ratio = reader.num("rope_ratio")
        return 10000.0 * (ratio if ratio and ratio > 0 else 1.0)
    keys: tuple[str, ...] = (
        "rope_theta",
        "rotary_emb_base",
        "rotary_embedding_base",
        "global_rope_theta",
        "rope_global_theta",
        "rope_theta_global",
    )
    if mt == "qwen":  # Qwen-1 remote code reads rotary_emb_base; rope_theta is only a copy
        keys = ("rotary_emb_base", *keys)
    for key in keys:
        present, value = reader.strict_num(key)
        if present:
            return value if value is not None else math.nan  # never a default for a bad value
    attn = reader.dict_("attn_config")
    if attn is not None and as_float(attn.get("rope_theta")):
        reader.evidence[reader.path("attn_config", "rope_theta")] = attn["rope_theta"]
        return float(as_float(attn.get("rope_theta")) or 0.0)
    rotary = reader.dict_("rotary")
    if rotary is not None and as_float(rotary.get("base")):
        return float(as_float(rotary.get("base")) or 0.0)
    default = defaults.get("theta")
    if isinstance(default, int | float) and default > 0:
        return float(default)
    if not defaults:
        res.warnings.append(
            "rope theta not given and the architecture is unfamiliar: 10000 assumed"
        )
    return 10000.0


def _geometry(reader: Reader, mt: str | None, defaults: dict[str, Any]) -> Geometry:
    pairing = _pairing(reader, mt)
    rope_dim = as_int(reader.config.get("qk_rope_head_dim"))
    nope_dim = as_int(reader.config.get("qk_nope_head_dim"))
    if rope_dim is not None and rope_dim > 0 and (mt in arch.MLA or nope_dim is not None):
        reader.cite("qk_rope_head_dim")
        if nope_dim is not None and nope_dim >= 0:
            reader.cite("qk_nope_head_dim")
        return Geometry(rope_dim + max(nope_dim or 0, 0), rope_dim, pairing)
    head_dim = _head_dim(reader, defaults)
    if head_dim <= 0:
        return Geometry(0, 0, pairing)
    absolute = as_int(reader.config.get("rotary_dim"))
    if absolute is not None and 0 < absolute <= head_dim:
        reader.cite("rotary_dim")
        return Geometry(head_dim, absolute, pairing)
    fraction = None
    for key in (
        "partial_rotary_factor",
        "rotary_pct",
        "rope_pct",
        "rotary_emb_fraction",
        "rotary_percent",
    ):
        raw = reader.config.get(key)
        value = None if isinstance(raw, bool | str) else as_float(raw)
        if value is not None and 0 < value <= 1:
            reader.cite(key)
            fraction = value
            break
        if raw is not None:
            # transformers reads the value as written: 0 rotates nothing, 1.5 more than the head
            reader.reject(key, raw, "must be a number in (0, 1]")
            rotary = int(head_dim * value) if value is not None else 0
            return Geometry(head_dim, rotary - rotary % 2, pairing)
    if fraction is None:
        prf = defaults.get("prf")
        fraction = float(prf) if isinstance(prf, int | float) and 0 < prf <= 1 else 1.0
    return Geometry(head_dim, int(head_dim * fraction), pairing)


def _head_dim(reader: Reader, defaults: dict[str, Any]) -> int:
    """The head width; 0 when the config gives one (or heads) no runtime can use."""
    for key in ("head_dim", "kv_channels", "attention_head_dim"):
        raw = reader.config.get(key)
        value = None if isinstance(raw, bool | str) else as_int(raw)
        if value is not None and 0 < value <= 65536:
            reader.cite(key)
            return value
        if raw is not None:
            reader.reject(key, raw, "not a positive integer width")
            return 0
    pairs = (
        ("hidden_size", "num_attention_heads"),
        ("n_embd", "n_head"),
        ("d_model", "num_heads"),
        ("hidden_size", "n_head"),
        ("d_model", "n_heads"),
        ("d_model", "encoder_attention_heads"),
        ("hidden_size", "decoder_num_attention_heads"),
        ("hidden_size", "encoder_num_attention_heads"),
    )
    for width_key, heads_key in pairs:
        if width_key not in reader.config or heads_key not in reader.config:
            continue
        width, heads = as_int(reader.config.get(width_key)), as_int(reader.config.get(heads_key))
        if width and heads and width > 0 and heads > 0 and width % heads == 0:
            reader.cite(width_key)
            reader.cite(heads_key)
            return width // heads
        if heads is not None and heads <= 0:
            reader.reject(heads_key, reader.config[heads_key], "needs at least one head")
            return 0
        if width and heads and width % heads:
            # transformers refuses such a config (the width must divide into heads)
            reader.reject(width_key, reader.config[width_key], f"not divisible by {heads} heads")
            return 0
    default = defaults.get("hd")
    if isinstance(default, int) and default > 0:
        return default  # the config keeps the class's default size
    reader.warnings.append("head width not derivable from the config: 128 assumed")
    return 128


def _pairing(reader: Reader, mt: str | None) -> str:
    for key in ("rope_interleave", "rotary_emb_interleaved"):
        value = reader.flag(key, record=False)
        if value is not None:
            reader.cite(key)
            return "interleaved" if value else "half"
    neox = reader.flag("rope_is_neox_style", record=False)  # PaddleOCR-VL remote code
    if neox is not None:
        reader.cite("rope_is_neox_style")
        return "half" if neox else "interleaved"
    if mt == "chatglm" and reader.flag("position_encoding_2d", record=False):
        reader.cite("position_encoding_2d")
        return "half"
    if mt in arch.MLA and reader.flag("use_mla", record=False) is False:
        # plain multi-head attention (DeepSeek-VL2 / OCR language models): Llama rotate-half
        reader.cite("use_mla")
        return "half"
    return "interleaved" if mt in arch.INTERLEAVED else "half"


def _top_original(reader: Reader) -> int | None:
    value = as_int(reader.config.get("original_max_position_embeddings"))
    if value is not None and value > 0:
        reader.cite("original_max_position_embeddings")
        return value
    return None


def _find_block(
    reader: Reader, mt: str | None, res: TagResult
) -> tuple[dict[str, Any] | None, str | None, bool]:
    """(block, its key, synthetic?) for the config's rope description."""
    for key in ("rope_parameters", "rope_scaling"):
        value = reader.config.get(key)
        if isinstance(value, dict) and value:
            res.raw_rope = jsonable(value)
            reader.evidence[reader.path(key)] = res.raw_rope
            return value, key, False
        if key in reader.config and value is not None and not isinstance(value, dict):
            reader.reject(key, value, "a rope block must be an object")
    rotary = reader.dict_("rotary")
    if rotary is not None:  # InternLM-1
        block = {"rope_type": rotary.get("type"), "rope_theta": rotary.get("base")}
        if "scaling_factor" in rotary:
            block["factor"] = rotary["scaling_factor"]
        reader.note("rotary", rotary)
        return block, "rotary", False
    if mt == "qwen" and reader.flag("use_dynamic_ntk"):
        dynamic: dict[str, Any] = {"rope_type": "dynamic"}
        trained = as_int(reader.config.get("seq_length"))
        if trained:
            reader.cite("seq_length")
            dynamic["original_max_position_embeddings"] = trained
        return dynamic, None, True
    return None, None, False


def _layers(
    reader: Reader,
    mt: str | None,
    defaults: dict[str, Any],
    block: dict[str, Any] | None,
    ctx: Context,
    res: TagResult,
) -> dict[str, RopeParams | None] | str:
    if block is not None and _is_per_layer(block):
        out: dict[str, RopeParams | None] = {}
        for layer_type, sub in block.items():
            if sub is None:
                out[str(layer_type)] = None
                continue
            params = build_params(
                sub, _layer_ctx(reader, ctx, mt, str(layer_type)), reader, str(layer_type)
            )
            if isinstance(params, str):
                return params
            out[str(layer_type)] = params
        return out
    layer_defaults = defaults.get("layers")
    if isinstance(layer_defaults, dict):
        return _legacy_layers(reader, mt, layer_defaults, block, ctx)
    params = build_params(block or {}, ctx, reader, None)
    if isinstance(params, str):
        return params
    return {"default": params}


def _is_per_layer(block: dict[str, Any]) -> bool:
    if any(k in CONSUMED for k in block):
        return False
    return all(v is None or isinstance(v, dict) for v in block.values())


def _layer_ctx(reader: Reader, ctx: Context, mt: str | None, layer_type: str) -> Context:
    defaults = arch.rope_defaults(mt) or {}
    layer = (defaults.get("layers") or {}).get(layer_type) or {}
    theta = as_float(layer.get("rope_theta")) or ctx.theta
    prf = as_float(layer.get("partial_rotary_factor"))
    geometry = ctx.geometry
    width_key = layer.get("head_dim_key")
    if isinstance(width_key, str):  # a layer type with its own head width (Gemma-4 global layers)
        width = reader.int_(width_key) if reader.has(width_key) else None
        width = width if width is not None and width > 0 else as_int(layer["head_dim_default"])
        if width:
            geometry = Geometry(width, width, geometry.pairing)
    if prf is not None and 0 < prf <= 1:
        geometry = Geometry(geometry.head_dim, int(geometry.head_dim * prf), geometry.pairing)
    return Context(mt, theta, geometry, ctx.declared, ctx.top_original, ctx.mrope_default)


def _legacy_layers(
    reader: Reader,
    mt: str | None,
    layer_defaults: dict[str, Any],
    block: dict[str, Any] | None,
    ctx: Context,
) -> dict[str, RopeParams | None] | str:
    """Per-layer-type architectures configured with flat v4 keys (Gemma-3, ModernBERT, ...)."""
    out: dict[str, RopeParams | None] = {}
    for layer_type, spec in layer_defaults.items():
        if not isinstance(spec, dict):
            out[layer_type] = None
            continue
        merged = dict(spec)
        full = layer_type != "sliding_attention"
        theta = _legacy_layer_theta(reader, mt, layer_type)
        if theta is not None:
            merged["rope_theta"] = theta
        if block is not None and _takes_scaling(mt, layer_type):
            legacy = dict(block)
            if "type" in legacy and "rope_type" not in legacy:
                legacy["rope_type"] = legacy["type"]
            merged.update({k: v for k, v in legacy.items() if k != "rope_theta" or full})
            if mt == "deepseek_v4" and merged.get("rope_type") == "yarn":
                merged.setdefault("attention_factor", 1.0)  # V4 never rescales cos/sin
        if mt == "deepseek_v4" and layer_type == "compress":
            merged["rope_theta"] = theta if theta is not None else spec.get("rope_theta")
        lctx = _layer_ctx(reader, ctx, mt, layer_type)
        params = build_params(merged, lctx, reader, layer_type)
        if isinstance(params, str):
            return params
        out[layer_type] = params
    return out


def _takes_scaling(mt: str | None, layer_type: str) -> bool:
    """Whether a flat legacy scaling block applies to `layer_type` of this architecture."""
    if mt == "deepseek_v4":
        return layer_type == "compress"  # YaRN only on the compressed-attention layers
    return layer_type == "full_attention" or mt not in arch.SCALING_FULL_ONLY


def _legacy_layer_theta(reader: Reader, mt: str | None, layer_type: str) -> float | None:
    if mt == "deepseek_v4":
        keys: tuple[str, ...] = (
            ("compress_rope_theta",) if layer_type == "compress" else ("rope_theta",)
        )
    elif layer_type != "sliding_attention":
        keys = ("rope_theta", "global_rope_theta", "rope_global_theta", "rope_theta_global")
    else:
        keys = (
            "rope_local_base_freq",
            "local_rope_theta",
            "rope_local_theta",
            "rope_theta_local",
            "swa_rope_theta",
        )
    for key in keys:
        value = reader.num(key)
        if value is not None and value > 0:
            return value
    return None
