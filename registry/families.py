"""Model families: one short name per lineage of architectures, for filtering and grouping.

A family comes from the config's `model_type` (the architecture), not from the repo name: a
fine-tune of Llama under any organisation is still `llama`. Types we do not know fall back to the
`model_type` with version digits and common suffixes (`_moe`, `_vl`, `-text`) removed.
"""

from __future__ import annotations

import re

# Prefix of a normalised model_type -> family. The longest matching prefix wins.
_PREFIXES: dict[str, str] = {
    "llama": "llama",
    "mllama": "llama",
    "llava": "llava",
    "video_llava": "llava",
    "codellama": "llama",
    "diff_llama": "llama",
    "diffllama": "llama",
    "qwen": "qwen",
    "deepseek": "deepseek",
    "kimi": "kimi",
    "gemma": "gemma",
    "recurrent_gemma": "gemma",
    "t5gemma": "gemma",
    "paligemma": "gemma",
    "mistral": "mistral",
    "ministral": "mistral",
    "mixtral": "mistral",
    "pixtral": "mistral",
    "voxtral": "mistral",
    "phi": "phi",
    "gpt_oss": "gpt-oss",
    "gpt_neox": "gpt-neox",
    "gpt_bigcode": "starcoder",
    "starcoder": "starcoder",
    "gpt2": "gpt2",
    "gptj": "gpt-j",
    "gpt_neo": "gpt-neo",
    "openai-gpt": "gpt",
    "falcon": "falcon",
    "refinedweb": "falcon",
    "glm": "glm",
    "chatglm": "glm",
    "cogvlm": "glm",
    "granite": "granite",
    "olmo": "olmo",
    "minimax": "minimax",
    "nemotron": "nemotron",
    "cohere": "cohere",
    "aya": "cohere",
    "internlm": "internlm",
    "internvl": "internvl",
    "baichuan": "baichuan",
    "hunyuan": "hunyuan",
    "hy_": "hunyuan",
    "ernie": "ernie",
    "mamba": "mamba",
    "falcon_mamba": "mamba",
    "bamba": "bamba",
    "rwkv": "rwkv",
    "lfm": "lfm",
    "mimo": "mimo",
    "exaone": "exaone",
    "smollm": "smollm",
    "smolvlm": "smollm",
    "bert": "bert",
    "roberta": "roberta",
    "xlm-roberta": "roberta",
    "camembert": "roberta",
    "modernbert": "modernbert",
    "nomic_bert": "nomic-bert",
    "deberta": "deberta",
    "distilbert": "bert",
    "t5": "t5",
    "mt5": "t5",
    "umt5": "t5",
    "longt5": "t5",
    "switch_transformers": "t5",
    "bart": "bart",
    "mbart": "bart",
    "whisper": "whisper",
    "mpt": "mpt",
    "bloom": "bloom",
    "opt": "opt",
    "jais": "jais",
    "apertus": "apertus",
    "arcee": "arcee",
    "afmoe": "arcee",
    "dots": "dots",
    "minicpm": "minicpm",
    "siglip": "siglip",
}

_SUFFIXES = re.compile(r"(_moe|_vl|_text|_vision|_audio|_omni|_hybrid|_lite|-text|-vl)+$")
_VERSION = re.compile(r"[_-]?v?\d+(?:[._]\d+)*$")


def _normalise(model_type: str) -> str:
    return model_type.strip().lower()


def family_of(repo_id: str | None, model_type: str | None) -> str | None:
    """Family name for a model, from its `model_type`; None when the config names no type.

    `repo_id` is accepted so a future rule can use it; today the architecture alone decides,
    because fine-tunes keep the architecture of their base but not its name.
    """
    del repo_id  # the architecture decides (see docstring)
    if not model_type or not isinstance(model_type, str):
        return None
    name = _normalise(model_type)
    best = ""
    for prefix in _PREFIXES:
        if name.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    if best:
        return _PREFIXES[best]
    stem = _VERSION.sub("", _SUFFIXES.sub("", name))
    stem = _SUFFIXES.sub("", stem)
    return (stem or name)[:64]
