"""Every schema and consistency check of a config, merged over its layer types (no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.verify.check import Check, check_order, merge_layers
from registry.verify.consistency import (
    check_dynamic,
    check_factor_vs_context,
    check_mscale_pair,
    check_original_context,
    check_partial_default,
)
from registry.verify.keys import split_blocks
from registry.verify.schema import (
    SCHEMA_BLOCK_CHECKS,
    check_legacy_type,
    check_llama3_bands,
    check_longrope_lists,
    check_mrope_sections,
    check_partial_rotary,
    check_theta,
    check_valid_values,
)
from yarn_core.params import RopeParams

if TYPE_CHECKING:
    from registry.verify.inputs import VerifyInput


def rope_layers(inp: VerifyInput) -> dict[str, RopeParams]:
    """The layer types that rotate (NoPE layer types are left out)."""
    return {k: v for k, v in inp.rope.items() if v is not None}


def static_checks(inp: VerifyInput) -> list[Check]:
    """Every schema and consistency check, merged over layer types, in a stable order."""
    layers = rope_layers(inp)
    blocks = split_blocks(inp.raw_rope, layers)
    results: dict[str, dict[str, Check]] = {}

    def add(layer: str, check: Check) -> None:
        results.setdefault(check.id, {})[layer] = check

    for layer, params in layers.items():
        block = blocks.get(layer, {})
        if block:
            for fn in SCHEMA_BLOCK_CHECKS:
                add(layer, fn(block, params))
            add(layer, check_legacy_type(block, params, inp.model_type))
            add(layer, check_mscale_pair(block, params, inp.model_type))
        else:
            add(layer, check_partial_rotary({}, params))
        add(layer, check_theta(params))
        add(layer, check_llama3_bands(params))
        add(layer, check_longrope_lists(params))
        add(layer, check_mrope_sections(params))
        add(layer, check_factor_vs_context(block, inp, params))
        add(layer, check_original_context(block, inp, params))
        add(layer, check_dynamic(inp, params))
        add(layer, check_partial_default(inp, params))
    merged = [merge_layers(per_layer) for per_layer in results.values()]
    merged.append(check_valid_values(inp.invalid))
    return sorted(merged, key=check_order)
