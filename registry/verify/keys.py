"""What the verifier knows about rope blocks as written: keys per rope type, legacy spellings, and
which raw block belongs to which layer type (transformers 5.24 `modeling_rope_utils`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yarn_core.params import FLOAT_KNOBS, RopeParams

if TYPE_CHECKING:
    pass


# Types that scale frequencies with a factor, and the keys each one reads (transformers 5.24,
# `modeling_rope_utils` validators); `type`, `rope_type`, `rope_theta` and
# `partial_rotary_factor` are common.
COMMON_KEYS = frozenset({"type", "rope_type", "rope_theta", "partial_rotary_factor"})


MROPE_KEYS = frozenset({"mrope_section", "mrope_interleaved"})


TYPE_KEYS: dict[str, frozenset[str]] = {
    "default": frozenset(),
    "linear": frozenset({"factor"}),
    "dynamic": frozenset({"factor", "original_max_position_embeddings", "alpha"}),
    "ntk": frozenset({"factor", "alpha"}),
    "yarn": frozenset(
        {
            "factor",
            "original_max_position_embeddings",
            "attention_factor",
            "beta_fast",
            "beta_slow",
            "mscale",
            "mscale_all_dim",
            "truncate",
        }
    ),
    "longrope": frozenset(
        {"short_factor", "long_factor", "original_max_position_embeddings", "attention_factor"}
        | {"factor"}
    ),
    "llama3": frozenset(
        {"factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"}
    ),
    "proportional": frozenset({"factor"}),
}


REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "linear": ("factor",),
    "dynamic": ("factor",),
    "yarn": ("factor",),
    "longrope": ("short_factor", "long_factor"),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor"),
}


# Keys some runtime or model family reads although transformers' generic validator does not.
ENGINE_KEYS: dict[str, str] = {
    "attn_factor": "original YaRN repo / SGLang multiplier",
    "extrapolation_factor": "original YaRN repo / llama.cpp ext_factor",
    "finetuned": "original YaRN repo dynamic-YaRN switch",
    "short_mscale": "vLLM LongRoPE override",
    "long_mscale": "vLLM LongRoPE override",
    "apply_yarn_scaling": "old vLLM / SGLang switch",
    "llama_4_scaling_beta": "Mistral-3/4 query temperature",
    "mixed_b": "vLLM ntk variant",
    "max_trained_positions": "vLLM dynamic variant",
    "xdrope_section": "HunYuan-VL legacy mRoPE sections",
    "alpha": "HunYuan static NTK-aware alpha",
    "mscale": "DeepSeek magnitude coefficient",
    "mscale_all_dim": "DeepSeek magnitude coefficient",
    "original_max_position_embeddings": "trained context (read by engines for every type)",
}


# Raw type spellings and what runtimes read them as (transformers' legacy `type` patching, C2).
LEGACY_TYPES = {"su": "longrope", "mrope": "default", "telechat3-yarn": "yarn"}


ALIAS_PAIRS = {frozenset({"su", "longrope"}), frozenset({"mrope", "default"})}


MODEL_LOCAL_TYPES = frozenset(
    {"axial", "ntk_alpha", "xdrope", "deepseek_yarn", "deepseek_llama_scaling", "mllama4", "ntk"}
)


KNOWN_RAW_TYPES = frozenset(TYPE_KEYS) | frozenset(LEGACY_TYPES) | MODEL_LOCAL_TYPES


NUMBER_KEYS = ("factor", *FLOAT_KNOBS, "rope_theta", "partial_rotary_factor")


def raw_type(block: dict[str, Any]) -> str | None:
    """The block's rope type as written (`rope_type` first, then legacy `type`)."""
    value = block.get("rope_type", block.get("type"))
    return value if isinstance(value, str) else None


def block_type(block: dict[str, Any], params: RopeParams) -> str:
    """The canonical rope type the block declares (the tagger's reading when it declares none)."""
    written = raw_type(block)
    if written is None or written in MODEL_LOCAL_TYPES:
        return params.rope_type
    if written == "yarn" and params.rope_type == "longrope":  # Phi-3 reads "yarn" as LongRoPE
        return "longrope"
    if written in LEGACY_TYPES:
        return LEGACY_TYPES[written]
    return written if written in TYPE_KEYS else params.rope_type


def split_blocks(
    raw: dict[str, Any] | None, layers: dict[str, RopeParams]
) -> dict[str, dict[str, Any]]:
    """The raw block of each layer type.

    Nested per-layer dicts are split by layer name. A flat block belongs to the one layer type
    whose resolved type it declares (Gemma 3 scales only its full-attention layers), else to the
    primary layer type.
    """
    if not isinstance(raw, dict) or not layers:
        return {}
    nested = {k: v for k, v in raw.items() if isinstance(v, dict) and k in layers}
    if nested:
        return nested
    for name, params in layers.items():
        if params.rope_type == block_type(raw, params):
            return {name: raw}
    return {primary_layer(layers): raw}


def primary_layer(layers: dict[str, RopeParams]) -> str:
    """The layer type whose embedding carries the long context (full attention first)."""
    # The tagger's order (DeepSeek-V4: the compressed layers carry YaRN, "main" is a window).
    for name in ("full_attention", "default", "compress", "global", "main", "attention"):
        if name in layers:
            return name
    return next(iter(layers))


# transformers 5.25 model types whose default-RoPE init (`compute_default_rope_parameters` in each
# modeling file) never reads partial_rotary_factor: with rope_type default they rotate the whole
# head even when the config writes a fraction (the scaled types read it, through
# modeling_rope_utils). Listed from the modeling sources; check C21 warns on them.
DEFAULT_IGNORES_PARTIAL = frozenset(
    {
        "afmoe",
        "apertus",
        "apertus1p5",
        "arcee",
        "aria",
        "axk1",
        "axk2",
        "bailing_hybrid",
        "beam",
        "bitnet",
        "blt",
        "chameleon",
        "cohere",
        "cohere2",
        "cohere2_moe",
        "cohere_compass",
        "cosmos3_edge",
        "csm",
        "cwm",
        "dbrx",
        "deepseek_ocr2",
        "deepseek_v2",
        "deepseek_v3",
        "deepseek_v32",
        "dia",
        "diffllama",
        "doge",
        "dory",
        "dots1",
        "embedding_gemma2",
        "emu3",
        "eomt_dinov3",
        "ergo",
        "ernie4_5",
        "ernie4_5_moe",
        "ernie4_5_vl_moe",
        "esm",
        "esmc",
        "eurobert",
        "evolla",
        "exaone4",
        "exaone_moe",
        "falcon",
        "falcon_h1",
        "flex_olmo",
        "flint",
        "gemma",
        "gemma2",
        "gemma3",
        "gemma3n",
        "gemma4",
        "gemma4_unified",
        "glm_moe_dsa",
        "gpt_oss",
        "gradium_phonon_tts",
        "granite",
        "granite4_vision",
        "granite_docling",
        "granite_swa",
        "granitemoe",
        "granitemoe_swa",
        "granitemoehybrid",
        "granitemoeshared",
        "gte",
        "helium",
        "higgs_audio_v2",
        "hrm_text",
        "hunyuan_v1_dense",
        "hunyuan_v1_moe",
        "hunyuan_vl",
        "hy_v3",
        "hy_v4",
        "hy_v4_vl",
        "hyperclovax",
        "idefics",
        "jais2",
        "jetmoe",
        "jina_embeddings_v3",
        "kolibri1",
        "kolibri1_1",
        "kyutai_speech_to_text",
        "lara_mini",
        "lasr",
        "lfm2",
        "lfm2_moe",
        "lfm3",
        "llama",
        "llama4",
        "longcat_flash",
        "mimi",
        "minicpm3",
        "minicpm5_moe",
        "minimax",
        "ministral",
        "ministral3",
        "mistral",
        "mistral4",
        "mistral_large4",
        "mixtral",
        "mllama",
        "modernbert",
        "modernbert_decoder",
        "molmo2",
        "moshi",
        "muse_glimmer",
        "muse_glimmer_assistant",
        "muse_spark",
        "nanochat",
        "neucodec",
        "nomic_bert",
        "olmo",
        "olmo2",
        "olmo3",
        "olmo_hybrid",
        "olmoe",
        "openai_privacy_filter",
        "paddleocr_vl",
        "pe_audio",
        "pe_audio_video",
        "pe_video",
        "phimoe",
        "pi05",
        "pocket_tts",
        "pocket_tts_audio_tokenizer",
        "pp_doclayout_v2",
        "qwen2",
        "qwen2_5_omni",
        "qwen2_5_vl",
        "qwen2_moe",
        "qwen2_vl",
        "qwen3",
        "qwen3_moe",
        "qwen3_omni_moe",
        "qwen3_vl",
        "qwen3_vl_moe",
        "seed_oss",
        "smollm3",
        "starcoder2",
        "t5gemma",
        "t5gemma2",
        "timesfm2_5",
        "ultrabert",
        "unlimited_ocr",
        "vaultgemma",
        "voxtral_realtime",
        "xcodec2",
        "youtu",
        "zamba2",
    }
)
