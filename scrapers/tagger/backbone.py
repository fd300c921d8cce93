"""Find the text backbone(s) of a config: the sub-config(s) whose keys decide the text PE.

Multimodal wrappers keep the language model under `text_config` (most), `llm_config` (InternVL,
Ovis), `language_config` (DeepSeek-VL2, Janus) or `thinker_config.text_config` (Qwen-Omni);
encoder-decoder composites keep two stacks under `encoder` and `decoder`. Vision sub-configs are
never consulted. Older Qwen2-VL style configs are flat: the text keys sit at the top level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scrapers.tagger.archdefaults import (
    ARCHITECTURE_TYPES,
    MODEL_TYPE_ALIASES,
    MROPE_DEFAULTS,
    WRAPPER_TEXT,
)
from scrapers.tagger.configread import as_str

TEXT_KEYS = ("text_config", "llm_config", "language_config", "language_model_config")


@dataclass(frozen=True)
class Stack:
    """One backbone to tag."""

    path: str  # key path of the sub-config ("" for the root)
    config: dict[str, Any]
    model_type: str | None  # resolved: the sub-config's own, else the wrapper's default
    role: str  # "text", "encoder" or "decoder"


def normal_model_type(value: Any) -> str | None:
    name = as_str(value)
    if name is None:
        return None
    return MODEL_TYPE_ALIASES.get(name, name)


def find_stacks(root: dict[str, Any]) -> list[Stack]:
    """The stacks to tag, the primary (text or decoder) one last."""
    root_type = normal_model_type(root.get("model_type"))
    thinker = root.get("thinker_config")
    if isinstance(thinker, dict) and isinstance(thinker.get("text_config"), dict):
        sub = thinker["text_config"]
        return [Stack("thinker_config.text_config", sub, _sub_type(sub, root_type), "text")]
    for key in TEXT_KEYS:
        sub = root.get(key)
        if isinstance(sub, dict) and _looks_like_lm(sub):
            if not _has_lm_keys(sub):  # a bare name: the wrapper's own keys describe the LM
                return [Stack("", root, _sub_type(sub, root_type), "text")]
            return [Stack(key, sub, _sub_type(sub, root_type), "text")]
    encoder, decoder = root.get("encoder"), root.get("decoder")
    if isinstance(encoder, dict) and isinstance(decoder, dict):
        enc_path, enc_type = "encoder", _stack_type(encoder, root_type)
        if isinstance(encoder.get("text_config"), dict):  # T5Gemma-2: a multimodal encoder
            enc_path, encoder = "encoder.text_config", encoder["text_config"]
        return [
            Stack(enc_path, encoder, enc_type, "encoder"),
            Stack("decoder", decoder, _stack_type(decoder, root_type), "decoder"),
        ]
    if root_type == "blt" and isinstance(root.get("global_config"), dict):
        # BLT: byte-level local encoder/decoder around one global latent transformer
        return [Stack("global_config", root["global_config"], "blt_global_transformer", "text")]
    flat_text = WRAPPER_TEXT.get(root_type or "")
    if flat_text is not None and "hidden_size" in root:
        # a flat wrapper config (Qwen2-VL, original LLaVA): the text keys sit at the top level;
        # remote code that reuses an mRoPE type's name keeps its own semantics
        if "auto_map" not in root or flat_text not in MROPE_DEFAULTS:
            return [Stack("", root, flat_text, "text")]
    return [Stack("", root, root_type, "text")]


def _sub_type(sub: dict[str, Any], root_type: str | None) -> str | None:
    own = normal_model_type(sub.get("model_type"))
    if own is not None:
        return own
    names = sub.get("architectures")
    if isinstance(names, list) and names and isinstance(names[0], str):
        if names[0] in ARCHITECTURE_TYPES:
            return ARCHITECTURE_TYPES[names[0]]
    return WRAPPER_TEXT.get(root_type or "", root_type)


def _stack_type(sub: dict[str, Any], root_type: str | None) -> str | None:
    own = normal_model_type(sub.get("model_type"))
    if own is None and root_type == "t5gemma":
        return "t5_gemma_module"
    if own == "t5gemma2_encoder" and isinstance(sub.get("text_config"), dict):
        return normal_model_type(sub["text_config"].get("model_type")) or "t5gemma2_text"
    return own or root_type


def _has_lm_keys(sub: dict[str, Any]) -> bool:
    return any(
        key in sub
        for key in ("hidden_size", "max_position_embeddings", "rope_theta", "rope_parameters")
    )


def _looks_like_lm(sub: dict[str, Any]) -> bool:
    """A text sub-config holds at least one size or position key (not just a name)."""
    return any(
        key in sub
        for key in (
            "hidden_size",
            "num_hidden_layers",
            "max_position_embeddings",
            "rope_theta",
            "rope_parameters",
            "rope_scaling",
            "model_type",
            "d_model",
            "n_embd",
        )
    )
