"""Tag a config.json with its position encoding: the primary tag, the numbers, the evidence.

`tag_config` never raises: any JSON value yields a `TagResult` (`unknown` with a reason at
worst). Pure Python on dicts; the rules follow the architectures' real semantics (see
docs/tagger.md).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from scrapers import archdefaults as arch
from scrapers.backbone import Stack, find_stacks
from scrapers.configread import Reader, as_float, as_int, as_str, jsonable
from scrapers.result import TagResult
from scrapers.ropeblock import CONSUMED, Context, Geometry, build_params
from scrapers.vocabulary import NOPE_SUFFIX, rope_tag
from yarn_core.params import SCALING_KNOBS, RopeParams

DECLARED_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "max_sequence_length",
    "model_max_length",
    "n_ctx",
    "context_length",
    "max_target_positions",
    "max_decoder_position_embeddings",
    "block_size",
)
ROPE_HINT_KEYS = (
    "rope_theta",
    "rope_scaling",
    "rope_parameters",
    "rotary_dim",
    "rotary_emb_base",
    "rotary_pct",
    "rope_pct",
    "partial_rotary_factor",
    "rope_ratio",
    "rotary_emb_fraction",
)
# Nemotron-H `hybrid_override_pattern` letters.
HYBRID_SYMBOLS = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}
PET_TAGS = {
    "absolute": "learned-absolute",
    "alibi": "alibi",
    "rotary": "rope",
    "rope": "rope",
    "relative_key": "relative-shaw",
    "relative_key_query": "relative-shaw",
    "relative": "relative-xl",
}


def tag_config(config: object) -> TagResult:
    """How `config` (a parsed config.json, any JSON value) encodes position. Never raises."""
    try:
        return _tag_root(config)
    except RecursionError:
        return _unknown("the config is nested too deeply to read")
    except Exception as exc:  # a rule that trips on odd input must not lose the result
        return _unknown(f"tagger rule failed on this input ({type(exc).__name__})")


def _unknown(reason: str, model_type: str | None = None) -> TagResult:
    return TagResult("unknown", model_type=model_type, reason=reason)


def _tag_root(config: object) -> TagResult:
    if not isinstance(config, dict):
        return _unknown(f"config is a JSON {type(config).__name__}, not an object")
    stacks = find_stacks(config)
    results = [_tag_stack(stack) for stack in stacks]
    primary = results[-1]
    if len(stacks) > 1:
        primary.stacks = {s.role: r.position_encoding for s, r in zip(stacks, results, strict=True)}
        for other in results[:-1]:
            primary.evidence = {**other.evidence, **primary.evidence}
            primary.warnings = other.warnings + primary.warnings
    dtype = as_str(config.get("torch_dtype")) or as_str(config.get("dtype"))
    primary.torch_dtype = dtype
    return primary


def _tag_stack(stack: Stack) -> TagResult:
    res = TagResult("unknown", model_type=stack.model_type)
    reader = Reader(stack.config, stack.path, res.evidence, res.warnings)
    mt = stack.model_type
    if reader.has("model_type"):
        reader.str_("model_type")
    declared = _declared(reader, mt)
    res.declared_context = declared
    res.sliding_window = _sliding_window(reader, mt)
    layer_types = reader.config.get("layer_types")
    if type(layer_types) is list and all(type(t) is str for t in layer_types):
        res.layer_pattern = layer_types[:4096]
    _layer_facts(reader, res)
    tag = _switch(reader, mt, res)
    if tag is None and mt in arch.STACK_TAGS:
        encoder, decoder = arch.STACK_TAGS[mt]
        res.stacks = {"encoder": encoder, "decoder": decoder}
        tag = decoder
    if tag is None and mt in arch.FAMILY:
        tag = arch.FAMILY[mt]
        res.source_of_truth = "model_type_default"
    if tag is None and (arch.rope_defaults(mt) is not None or _has_rope_keys(reader)):
        tag = "rope"
    if tag is None:
        tag = _guess_from_keys(reader)
    if tag is None:
        return _unfamiliar(reader, res, mt)
    if tag == "rope":
        _tag_rope(reader, res, mt)
    else:
        res.position_encoding = tag
        res.usable_context = _usable(reader, mt, declared)
        res.effective_context = res.usable_context
    return res


def _layer_facts(reader: Reader, res: TagResult) -> None:
    """Chunked attention, dual-chunk remapping and the mix of layer kinds, when stated."""
    config = reader.config
    chunk = as_int(config.get("attention_chunk_size"))
    if chunk is not None and chunk > 0:
        reader.cite("attention_chunk_size")
        res.attention_chunk_size = chunk
    dual = config.get("dual_chunk_attention_config")
    if isinstance(dual, dict) and dual:
        reader.note("dual_chunk_attention_config", dual)
        res.dual_chunk_attention = jsonable(dual)
    kinds: Any = res.layer_pattern or config.get("layers_block_type")
    pattern = config.get("hybrid_override_pattern")
    if isinstance(pattern, str) and 0 < len(pattern) <= 4096:
        kinds = [HYBRID_SYMBOLS.get(ch, ch) for ch in pattern]
    if isinstance(kinds, list) and 0 < len(kinds) <= 4096:
        res.mixers = dict(Counter(k for k in kinds if type(k) is str)) or None
        return
    layers = as_int(config.get("num_hidden_layers"))
    if layers is None or not 0 < layers <= 65536:
        return
    interval = as_int(config.get("full_attention_interval"))  # Qwen3-Next, Qwen3.5
    if interval is not None and interval > 0:
        reader.cite("full_attention_interval")
        full = layers // interval
        res.mixers = {"linear_attention": layers - full, "full_attention": full}
        return
    indices = config.get("attn_layer_indices")  # Bamba
    if isinstance(indices, list) and indices:
        reader.note("attn_layer_indices", indices)
        attention = sum(1 for i in indices if as_int(i) is not None)
        res.mixers = {"mamba": layers - attention, "attention": attention}


def _unfamiliar(reader: Reader, res: TagResult, mt: str | None) -> TagResult:
    remote = reader.has("auto_map")
    if mt is None:
        why = "the config names no model_type and holds no position-encoding key"
    else:
        why = f"model_type {mt!r} is not a known architecture and no key names its encoding"
    if remote:
        why += "; the encoding lives in the repository's remote code (auto_map)"
    res.position_encoding = "unknown"
    res.reason = why
    return res


# --- architecture switches -------------------------------------------------------------------


def _switch(reader: Reader, mt: str | None, res: TagResult) -> str | None:
    """Tag decided by an architecture-specific key, or None to continue with generic rules."""
    if mt == "mpt":
        return _mpt(reader, res)
    if mt in ("falcon", "RefinedWeb", "RefinedWebModel"):
        return "alibi" if reader.flag("alibi") else "rope"
    if mt == "baichuan":
        return _baichuan(reader, res)
    if mt in ("deberta", "deberta-v2"):
        return "relative-disentangled" if reader.flag("relative_attention") else "learned-absolute"
    if mt == "distilbert":
        return "sinusoidal" if reader.flag("sinusoidal_pos_embds") else "learned-absolute"
    if mt in ("xlm", "flaubert"):
        return "sinusoidal" if reader.flag("sinusoidal_embeddings") else "learned-absolute"
    if mt == "trocr":
        learned = reader.flag("use_learned_position_embeddings")
        return "sinusoidal" if learned is False else "learned-absolute"
    if mt in ("wav2vec2-conformer", "wav2vec2-bert"):
        return _speech_pet(reader, mt)
    if mt == "zamba2":
        return "rope" if reader.flag("use_mem_rope") else "nope-hybrid"
    if (
        mt == "olmo_hybrid"
        and reader.has("rope_parameters")
        and reader.config.get("rope_parameters") is None
    ):
        reader.note("rope_parameters", None)
        return "nope-hybrid"
    if mt == "granitemoehybrid":
        pet = reader.str_("position_embedding_type")
        return "rope" if pet == "rope" else "nope-hybrid"
    if mt in ("beit", "data2vec-vision"):
        rel = reader.flag("use_relative_position_bias") or reader.flag(
            "use_shared_relative_position_bias"
        )
        return "relative-bias" if rel else "learned-absolute"
    pet = as_str(reader.config.get("position_embedding_type"))
    if pet is not None and (mt in arch.FAMILY or mt == "esm" or arch.rope_defaults(mt) is None):
        tag = PET_TAGS.get(pet.lower())
        if tag is not None:
            reader.note("position_embedding_type", pet)
            if tag != "learned-absolute" and mt in arch.FAMILY:
                res.source_of_truth = "remote_code" if reader.has("auto_map") else "config"
            return tag
    return None


def _mpt(reader: Reader, res: TagResult) -> str:
    attn = reader.dict_("attn_config") or {}
    sub = Reader(attn, reader.path("attn_config"), reader.evidence, reader.warnings)
    alibi = sub.flag("alibi")
    if alibi is None or alibi:
        if alibi is None:
            res.source_of_truth = "model_type_default"
        sub.num("alibi_bias_max")
        return "alibi"
    if sub.flag("rope"):
        return "rope"
    return "learned-absolute"


def _baichuan(reader: Reader, res: TagResult) -> str:
    """Nothing in a Baichuan config names the PE: 7B (4096 wide, 32 layers) rotates, 13B ALiBi."""
    res.source_of_truth = "inferred"
    hidden = reader.int_("hidden_size")
    layers = reader.int_("num_hidden_layers")
    if hidden == 4096 or layers == 32:
        return "rope"
    if hidden is None and layers is None:
        res.warnings.append("baichuan config gives no size; ALiBi (13B layout) assumed")
    return "alibi"


def _speech_pet(reader: Reader, mt: str) -> str:
    default = "relative" if mt == "wav2vec2-conformer" else "relative_key"
    if reader.has("position_embeddings_type"):
        value = as_str(reader.config.get("position_embeddings_type"))
        reader.note("position_embeddings_type", reader.config.get("position_embeddings_type"))
    else:
        value = default
    if value is None:
        return "conv-position"
    return PET_TAGS.get(value.lower(), "relative-xl")


def _has_rope_keys(reader: Reader) -> bool:
    return any(reader.has(key) for key in ROPE_HINT_KEYS)


def _guess_from_keys(reader: Reader) -> str | None:
    """Families recognisable by their keys alone (configs with an unfamiliar model_type)."""
    buckets = [
        key
        for key in ("relative_attention_num_buckets", "relative_attention_max_distance")
        if reader.has(key)
    ]
    if buckets:
        for key in buckets:
            reader.cite(key)
        return "relative-bias"
    if reader.flag("alibi", record=False):
        reader.cite("alibi")
        return "alibi"
    if reader.has("num_conv_pos_embeddings"):
        reader.note("num_conv_pos_embeddings", reader.config.get("num_conv_pos_embeddings"))
        return "conv-position"
    if reader.has("axial_pos_shape"):
        reader.note("axial_pos_shape", reader.config.get("axial_pos_shape"))
        return "axial-learned"
    return None


# --- contexts and windows --------------------------------------------------------------------


def _declared(reader: Reader, mt: str | None) -> int | None:
    keys: tuple[str, ...] = DECLARED_KEYS
    if mt == "chatglm":
        keys = ("seq_length", "max_sequence_length", *DECLARED_KEYS)
    elif mt == "baichuan":
        keys = ("model_max_length", *DECLARED_KEYS)
    found = reader.first_int(keys)
    return found[1] if found else None


def _usable(reader: Reader, mt: str | None, declared: int | None) -> int | None:
    if declared is None or mt not in arch.PADDING_OFFSET:
        return declared
    pad = as_int(reader.config.get("pad_token_id"))
    offset = (pad if pad is not None and 0 <= pad < declared else 1) + 1
    return declared - offset


def _sliding_window(reader: Reader, mt: str | None) -> int | None:
    switch = reader.flag("use_sliding_window", record=False)
    if switch is False:
        if reader.has("sliding_window"):
            reader.cite("use_sliding_window")
        return None
    if switch is None and mt in arch.WINDOW_NEEDS_FLAG:
        return None  # the class leaves the window off unless the flag turns it on
    config = reader.config
    for key in (
        "sliding_window",
        "attention_window_size",
        "sliding_window_size",
        "local_attention",
    ):
        if key not in config:
            continue
        value = as_int(config[key])
        if value is not None and value > 0:
            reader.cite(key)
            return value
    return None


# --- rotary models ---------------------------------------------------------------------------


def _tag_rope(reader: Reader, res: TagResult, mt: str | None) -> None:
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
    _apply_nope(reader, mt, rope, res)
    res.rope = rope
    if not synthetic and block is not None and path is not None:
        if res.raw_rope is None:
            res.raw_rope = jsonable(reader.config.get(path))
        res.raw_rope_path = reader.path(path)
    _summarise(reader, mt, res)


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
        value = reader.num(key)
        if value is not None and value > 0:
            return value
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
        value = as_float(reader.config.get(key))
        if value is not None and 0 < value <= 1:
            reader.cite(key)
            fraction = value
            break
    if fraction is None:
        prf = defaults.get("prf")
        fraction = float(prf) if isinstance(prf, int | float) and 0 < prf <= 1 else 1.0
    return Geometry(head_dim, int(head_dim * fraction), pairing)


def _head_dim(reader: Reader, defaults: dict[str, Any]) -> int:
    for key in ("head_dim", "kv_channels", "attention_head_dim"):
        value = as_int(reader.config.get(key))
        if value is not None and 0 < value <= 65536:
            reader.cite(key)
            return value
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
        width, heads = as_int(reader.config.get(width_key)), as_int(reader.config.get(heads_key))
        if width and heads and width > 0 and heads > 0 and width % heads == 0:
            reader.cite(width_key)
            reader.cite(heads_key)
            return width // heads
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
            res.warnings.append(f"{reader.path(key)} is not an object; ignored")
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


# --- NoPE layers -----------------------------------------------------------------------------


def _apply_nope(
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


# --- summary ---------------------------------------------------------------------------------


def _primary(rope: dict[str, RopeParams | None]) -> RopeParams | None:
    for key in ("full_attention", "default", "indexed_attention", "compress", "global", "main"):
        params = rope.get(key)
        if params is not None:
            return params
    return next((p for p in rope.values() if p is not None), None)


def _summarise(reader: Reader, mt: str | None, res: TagResult) -> None:
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
    res.rope_theta = primary.theta
    local = res.rope.get("sliding_attention") or res.rope.get("hybrid_sliding")
    res.rope_theta_local = local.theta if local is not None and local is not primary else None
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
        res.scaling_factor = primary.factor
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
                    "theta": v.theta,
                    "rotary_dim": v.rotary_dim,
                    "factor": v.factor,
                }
            )
            for k, v in res.rope.items()
        }
    res.attention_temperature = _temperature(reader, primary)


def _scaling_params(params: RopeParams) -> dict[str, Any]:
    out = {k: getattr(params, k) for k in SCALING_KNOBS if getattr(params, k) is not None}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


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
    if primary.rope_type in ("linear", "yarn", "dynamic", "longrope") and original and factor:
        return int(original * factor)
    if primary.rope_type == "llama3" and original and factor:
        return declared if declared and declared > original else int(original * factor)
    return declared


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


def tag_file(path: str) -> tuple[TagResult, bool]:
    """Tag the config.json at `path`: (result, readable). Unreadable input yields `unknown`."""
    import json
    from pathlib import Path

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _unknown(f"cannot read the file: {exc.__class__.__name__}: {exc}"), False
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return _unknown(f"not valid JSON: {exc}"), False
    return tag_config(config), True
