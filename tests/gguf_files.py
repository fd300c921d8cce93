"""Tiny real GGUF files written with the `gguf` package's own writer, for the GGUF tests.

Each file holds `general.architecture`, the given `{arch}.` keys, optional lineage keys, an
optional vocabulary (to make the header larger than one range span) and one all-zero tensor
whose size sets the file size (the weights the header reader must never fetch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# A Qwen2.5-7B-Instruct-style source: the corpus Qwen2.5-7B config with the declared length and
# the YaRN block its model card tells users to add (factor 4 over 32768 = 131072).
QWEN_YARN = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}

# What llama.cpp's converter writes for that source (qwen2 architecture), written out by hand.
QWEN_CORRECT: dict[str, Any] = {
    "context_length": 32768,
    "rope.freq_base": 1000000.0,
    "rope.scaling.type": "yarn",
    "rope.scaling.factor": 4.0,
    "rope.scaling.original_context_length": 32768,
}
QWEN_PLAIN: dict[str, Any] = {"context_length": 32768, "rope.freq_base": 1000000.0}

CASES: dict[str, dict[str, Any]] = {
    "correct": QWEN_CORRECT,
    "missing-yarn": QWEN_PLAIN,
    "wrong-factor": {**QWEN_CORRECT, "rope.scaling.factor": 2.0},
    "wrong-theta": {**QWEN_CORRECT, "rope.freq_base": 10000.0},
    "wrong-original": {**QWEN_CORRECT, "rope.scaling.original_context_length": 4096},
}


def qwen_source(corpus_config: dict[str, Any], *, yarn: bool = True) -> dict[str, Any]:
    """The Qwen2.5-7B-Instruct-style config.json: 32768 declared, YaRN added (or not)."""
    config = {**corpus_config, "max_position_embeddings": 32768}
    config.pop("rope_scaling", None)
    if yarn:
        config["rope_scaling"] = dict(QWEN_YARN)
    return config


def write_gguf(
    path: Path,
    keys: dict[str, Any],
    *,
    arch: str = "qwen2",
    base_models: list[dict[str, str]] | None = None,
    vocab: int = 0,
    weight_bytes: int = 1024,
    extra_tensors: tuple[str, ...] = (),
) -> Path:
    """Write a GGUF at `path` (keys without the `{arch}.` prefix) and return the path."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), arch)
    writer.add_name(path.stem)
    for key, value in keys.items():
        full = f"{arch}.{key}"
        if isinstance(value, bool):
            writer.add_bool(full, value)
        elif isinstance(value, int):
            writer.add_uint32(full, value)
        elif isinstance(value, float):
            writer.add_float32(full, value)
        elif isinstance(value, str):
            writer.add_string(full, value)
        else:
            writer.add_array(full, list(value))
    for n, base in enumerate(base_models or []):
        for field, value in base.items():
            writer.add_string(f"general.base_model.{n}.{field}", value)
    if base_models:
        writer.add_base_model_count(len(base_models))
    if vocab:
        writer.add_token_list([f"token-{i:06d}" for i in range(vocab)])
    count = max(1, weight_bytes // 4)
    writer.add_tensor("token_embd.weight", np.zeros(count, dtype=np.float32))
    for name in extra_tensors:  # e.g. rope_freqs.weight, the Llama 3 factors
        writer.add_tensor(name, np.ones(64, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
