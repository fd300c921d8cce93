"""Differential check: the tagger against transformers' own config loading and rope init.

For every corpus config that transformers loads natively (no remote code), the rope type,
theta and factor the tagger resolves must equal what transformers puts in `rope_parameters`,
and for scaled rope types the inverse-frequency table that transformers' init function builds
must have `rotary_dim / 2` entries.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from typing import Any

import pytest

from scrapers.tagger import tag_config
from scrapers.tagger.vocabulary import is_rope_tag
from tests.conftest import corpus_configs

# Architectures where the config class alone does not show what the model computes, each with
# the reason (these are labelled in tests/data/tagger/labels.tsv instead).
NOT_COMPARABLE = {
    "hunyuan_v1_dense": "dynamic + alpha is renamed inside the modeling code",
    "fuyu": "5.24 ignores the wrapper's rope_theta (25000) once text_config is present",
}


_LOADED: dict[str, tuple[Any | None, str | None]] = {}


def _load_cached(repo_id: str, config: dict[str, Any]) -> tuple[Any | None, str | None]:
    """transformers' config object for a corpus config, or None and why it has none."""
    if repo_id not in _LOADED:
        _LOADED[repo_id] = _load(config)
    return _LOADED[repo_id]


def _load(config: dict[str, Any]) -> tuple[Any | None, str | None]:
    from transformers import CONFIG_MAPPING

    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
        return None, f"transformers has no config class for model_type {model_type!r}"
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return CONFIG_MAPPING[model_type].from_dict(dict(config)), None
    except Exception as exc:  # transformers refuses some older hub configs
        return None, f"transformers refuses the config: {type(exc).__name__}: {exc}"[:200]
    finally:
        logging.disable(logging.NOTSET)


def _text_or_skip(repo_id: str, config: dict[str, Any], encoding: str) -> Any:
    """transformers' text config with rope parameters, or `pytest.skip` with the reason."""
    loaded, why = _load_cached(repo_id, config)
    if loaded is None:
        pytest.skip(why or "not loaded")
    if not is_rope_tag(encoding):
        pytest.skip(f"the tagger reports {encoding}, not RoPE: nothing to compare")
    text = _text(loaded)
    if text is None:
        pytest.skip("transformers' text config has no rope_parameters")
    return text


def _cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for repo_id, path in corpus_configs():
        config = json.loads(path.read_text(encoding="utf-8"))
        if "auto_map" in config or config.get("model_type") in NOT_COMPARABLE:
            continue
        cases.append((repo_id, config))
    return cases


CASES = _cases()


def _text(loaded: Any) -> Any:
    text = loaded.get_text_config(decoder=True)
    return text if getattr(text, "rope_parameters", None) else None


@pytest.mark.parametrize(("repo_id", "config"), CASES, ids=[r for r, _ in CASES])
def test_rope_matches_transformers(repo_id: str, config: dict[str, Any]) -> None:
    result = tag_config(config)
    text = _text_or_skip(repo_id, config, result.position_encoding)
    if getattr(text, "model_type", None) in NOT_COMPARABLE:
        pytest.skip(NOT_COMPARABLE[text.model_type])
    per_layer = all(isinstance(v, dict) for v in text.rope_parameters.values())
    layers = list(text.rope_parameters) if per_layer else [None]
    for layer in layers:
        params = text.rope_parameters[layer] if layer else text.rope_parameters
        if layer is not None and layer not in result.rope:
            continue  # a layer type the config does not use
        ours = result.rope.get(layer or "default") or next(p for p in result.rope.values() if p)
        compare(text, layer, params, ours)


def compare(text: Any, layer: str | None, params: dict[str, Any], ours: Any) -> None:
    expected_type = params.get("rope_type", "default")
    assert ours.rope_type == expected_type, (layer, ours.rope_type, expected_type)
    assert math.isclose(ours.theta, float(params["rope_theta"]), rel_tol=1e-9), layer
    if params.get("factor") is not None and expected_type != "default":
        assert ours.factor is not None
        assert math.isclose(ours.factor, float(params["factor"]), rel_tol=1e-9)
    original = params.get("original_max_position_embeddings")
    if expected_type in ("yarn", "llama3", "longrope") and original:
        assert ours.original_max_position_embeddings == original
    if params.get("mrope_section") is not None:
        assert list(ours.mrope_section or ()) == list(params["mrope_section"])
    if expected_type in ("linear", "dynamic", "yarn", "llama3", "longrope"):
        from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

        init = ROPE_INIT_FUNCTIONS[expected_type]
        inv_freq, _ = init(text, "cpu", layer_type=layer) if layer else init(text, "cpu")
        assert inv_freq.shape[-1] * 2 == ours.rotary_dim


# Text model types whose default rope init cannot be compared directly, with the reason.
DIMS_NOT_COMPARABLE = {
    # 5.24 ignores the checkpoints' legacy `rotary_dim` (64 of 128) and rotates the whole head;
    # the released weights were trained with the partial rotation the tagger reports (the same
    # gap was reported for MiniMax-M2 in transformers issue 48241)
    "minimax": "transformers drops the legacy rotary_dim",
    "gemma4_text": "head_dim is a per-layer attribute the init cannot read globally",
    "blt": "the rotary init reads sub-config sizes from the composite config",
}


def _default_init(text: Any) -> Any | None:
    """The text model's own `compute_default_rope_parameters` (torch is imported here)."""
    import importlib

    from transformers.models.auto.configuration_auto import model_type_to_module_name

    name = model_type_to_module_name(text.model_type)
    package = type(text).__module__.rsplit(".", 1)[0]
    for module_name in (f"{package}.modeling_{package.rsplit('.', 1)[-1]}", name):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for attr, value in vars(module).items():
            if attr.endswith("RotaryEmbedding") and "Vision" not in attr:
                init = getattr(value, "compute_default_rope_parameters", None)
                if init is not None:
                    return init
    return None


@pytest.mark.parametrize(("repo_id", "config"), CASES, ids=[r for r, _ in CASES])
def test_default_rotary_dim_matches_the_model(repo_id: str, config: dict[str, Any]) -> None:
    """Rotary dims of unscaled layers: the tagger against the modeling code's own init."""
    result = tag_config(config)
    text = _text_or_skip(repo_id, config, result.position_encoding)
    reason = DIMS_NOT_COMPARABLE.get(text.model_type) or NOT_COMPARABLE.get(text.model_type)
    if reason:
        pytest.skip(reason)
    init = _default_init(text)
    assert init is not None, f"no rotary embedding class for {text.model_type}"
    per_layer = all(isinstance(v, dict) for v in text.rope_parameters.values())
    layers = list(text.rope_parameters) if per_layer else [None]
    for layer in layers:
        params = text.rope_parameters[layer] if layer else text.rope_parameters
        if params.get("rope_type", "default") != "default":
            continue  # scaled types: the init function count is checked above
        ours = result.rope.get(layer or "default") or next(p for p in result.rope.values() if p)
        inv_freq, _ = init(text, layer_type=layer) if layer else init(text)
        assert inv_freq.shape[-1] * 2 == ours.rotary_dim, (layer, ours.rotary_dim)


def test_enough_configs_are_compared() -> None:
    """At least this many corpus configs are really compared (not skipped) by each test."""
    compared_rope = compared_dims = 0
    for repo_id, config in CASES:
        result = tag_config(config)
        loaded, _why = _load_cached(repo_id, config)
        text = _text(loaded) if loaded is not None else None
        if text is None or not is_rope_tag(result.position_encoding):
            continue
        if text.model_type not in NOT_COMPARABLE:
            compared_rope += 1
            if text.model_type not in DIMS_NOT_COMPARABLE:
                compared_dims += 1
    assert compared_rope >= 230, compared_rope
    assert compared_dims >= 220, compared_dims
