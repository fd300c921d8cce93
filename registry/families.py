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
    "mixformer": "phi",  # phi-2's original remote-code type
    "speecht5": "speecht5",
    "speech_to_text": "speech-to-text",
    "emu3": "emu",
    "m2m_100": "m2m100",
    "layoutlm": "layoutlm",
    "wav2vec2": "wav2vec2",
    "data2vec": "data2vec",
    "seamless_m4t": "seamless-m4t",
    "pegasus": "pegasus",
    "big_bird": "bigbird",
    "bigbird": "bigbird",
    "blenderbot": "blenderbot",
    "codegen": "codegen",
    "aria": "aria",
    "blt": "blt",
    "xlm": "xlm",
    "xglm": "xglm",
    "muse_glimmer": "muse",
    "got": "got-ocr",
    "paddleocr": "paddleocr",
    "persimmon": "persimmon",
    "chinese_clip": "clip",
    "altclip": "clip",
    "xclip": "clip",
    "clip": "clip",
    "owlv2": "owl-vit",
    "owlvit": "owl-vit",
    "align": "align",
    "flava": "flava",
    "doge": "doge",
    "bitnet": "bitnet",
}

# Architectures other families ship under: a repo of the borrowing family keeps the lender's
# model_type (Kimi-K2 quants declare deepseek_v3), so its repo name decides.
_BORROWED: dict[str, tuple[tuple[str, str], ...]] = {
    "deepseek": (("kimi", "kimi"), ("moonlight", "kimi")),
}

# Whole-token suffixes of sub-config and variant types (`xyz_text_model`, `xyz_moe_lm`).
_SUFFIXES = re.compile(
    r"([_-](moe|vl|text|vision|audio|omni|hybrid|lite|model|lm|encoder|decoder))+$"
)
# A version after a separator (`xyz_v2`, `xyz-1.5`): bare trailing digits are part of a name
# (`speecht5`, `wav2vec2`) and stay.
_VERSION = re.compile(r"[_-]v?\d+(?:[._]\d+)*$")


def _normalise(model_type: str) -> str:
    return model_type.strip().lower()


def family_of(repo_id: str | None, model_type: str | None) -> str | None:
    """Family name for a model, from its `model_type`; None when the config names no type.

    The architecture decides, because fine-tunes keep the architecture of their base but not its
    name; the repo name only settles architectures another family borrows (`_BORROWED`).
    """
    if not model_type or not isinstance(model_type, str):
        return None
    name = _normalise(model_type)
    best = ""
    for prefix in _PREFIXES:
        if name.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    if best:
        return _borrowed(_PREFIXES[best], repo_id)
    stem = _VERSION.sub("", _SUFFIXES.sub("", name))
    stem = _SUFFIXES.sub("", stem)
    return (stem or name)[:64]


def _borrowed(family: str, repo_id: str | None) -> str:
    """The family a repo of a borrowed architecture really belongs to (see `_BORROWED`)."""
    repo_name = (repo_id or "").rpartition("/")[2].lower()
    for word, owner in _BORROWED.get(family, ()):
        if word in repo_name:
            return owner
    return family
