"""The tagger's entry points: which position encoding a config declares, and the facts around it.

`tag_config(config)` never raises: a config it cannot read becomes `position_encoding: unknown`
with a reason. It finds the language stack (`backbone`), decides the encoding family from the
model type and keys, and hands RoPE configs to `rotary.tag_rope`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from scrapers.tagger import archdefaults as arch
from scrapers.tagger.backbone import Stack, find_stacks
from scrapers.tagger.configread import Reader, as_int, as_str, jsonable
from scrapers.tagger.result import TagResult
from scrapers.tagger.rotary import tag_rope

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
    "rope_embedding_base",  # Phi-3-small (remote code)
    "use_scaled_rope",  # Meta's original (non-transformers) params.json
)


# Nemotron-H `hybrid_override_pattern` letters.
# `positional_encoding_type` values (PatchTST / PatchTSMixer) and the tag each one means.
PE_TYPE_TAGS = {"sincos": "sinusoidal", "random": "learned-absolute", "zeros": "learned-absolute"}
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
            primary.invalid = {**other.invalid, **primary.invalid}
    dtype = as_str(config.get("torch_dtype")) or as_str(config.get("dtype"))
    primary.torch_dtype = dtype
    return primary


def _tag_stack(stack: Stack) -> TagResult:
    res = TagResult("unknown", model_type=stack.model_type)
    reader = Reader(stack.config, stack.path, res.evidence, res.warnings, res.invalid)
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
        tag_rope(reader, res, mt)
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
    sub = Reader(attn, reader.path("attn_config"), reader.evidence, reader.warnings, reader.invalid)
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
    # Time-series encoders (PatchTST, PatchTSMixer) name their table's kind.
    kind = reader.str_("positional_encoding_type", record=False)
    if kind is not None and kind.lower() in PE_TYPE_TAGS:
        reader.cite("positional_encoding_type")
        return PE_TYPE_TAGS[kind.lower()]
    return None


def _declared(reader: Reader, mt: str | None) -> int | None:
    keys: tuple[str, ...] = DECLARED_KEYS
    if mt == "chatglm":
        keys = ("seq_length", "max_sequence_length", *DECLARED_KEYS)
    elif mt == "baichuan":
        keys = ("model_max_length", *DECLARED_KEYS)
    for key in keys:  # a present length no runtime can use is reported, never skipped over
        value = reader.raw(key)
        if value is None or isinstance(value, dict | list):
            continue
        number = None if isinstance(value, bool | str) else as_int(value)
        if number is None or number <= 0:
            reader.reject(key, value, "not a positive integer length")
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


def tag_file(path: str) -> tuple[TagResult, bool]:
    """Tag the config.json at `path`: (result, readable). Unreadable input yields `unknown`."""
    from scrapers.configfile import CONFIG_LIMITS, read_regular_file
    from scrapers.jsonlimits import JSONLimitExceeded, load_limited

    try:
        raw = read_regular_file(path, CONFIG_LIMITS.max_bytes)
    except OSError as exc:
        return _unknown(f"cannot read the file: {exc.__class__.__name__}: {exc}"), False
    try:
        config = load_limited(raw, CONFIG_LIMITS).value
    except JSONLimitExceeded as exc:
        return _unknown(f"not valid JSON ({exc.reason}): {exc.detail}"), False
    return tag_config(config), True
