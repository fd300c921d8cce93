"""What ropedex itself reports for one config: the numbers the differential tests compare.

`rope_rows_for` is what `ropedex rope --convention C` prints (one row per layer type) and
`runtimes_for` is the `runtimes` matrix of `ropedex check` (one row per convention).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def tag(config: dict[str, Any]) -> Any:
    from scrapers.tagger import tag_config

    return tag_config(config)


def rope_rows_for(config: dict[str, Any], convention: str) -> list[dict[str, Any]]:
    """The rows of `ropedex rope --convention` for a config dict."""
    from yarn_core.report import rope_rows

    result = tag(config)
    return rope_rows(
        "config.json",
        result.rope,
        convention=convention,
        reason=result.reason or f"position encoding: {result.position_encoding}",
        model_type=result.model_type,
        rope_block=result.raw_rope or {},
        declared=result.declared_context,
        config=config,
    )


def runtimes_for(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `runtimes` matrix of `ropedex check` for a config dict ({} without RoPE)."""
    from registry.verify.inputs import input_from_tag
    from registry.verify.matrix import runtime_matrix
    from registry.verify.static import rope_layers

    inp = input_from_tag(tag(config))
    layers = rope_layers(inp)
    if not layers:
        return {}
    rows, _agreement = runtime_matrix(inp, layers, config)
    return rows


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
