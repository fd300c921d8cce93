"""Any JSON value at all yields a TagResult: generated values and mutated real configs."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers.tagger import tag_config
from scrapers.tagger.vocabulary import TAGS
from tests.conftest import corpus_configs

SETTINGS = settings(max_examples=700, deadline=None, suppress_health_check=list(HealthCheck))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["yarn", "su", "dynamic", "mrope", "1e6", "NaN", "llama3", "full_attention"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=20,
)

KEYS = [
    "model_type",
    "rope_scaling",
    "rope_parameters",
    "rope_theta",
    "text_config",
    "max_position_embeddings",
    "partial_rotary_factor",
    "head_dim",
    "hidden_size",
    "num_attention_heads",
    "no_rope_layers",
    "layer_types",
    "sliding_window",
    "qk_rope_head_dim",
    "rotary_dim",
    "factor",
    "type",
    "rope_type",
    "original_max_position_embeddings",
    "mrope_section",
    "short_factor",
    "attn_config",
    "alibi",
    "position_embedding_type",
    "encoder",
    "decoder",
    "full_attention",
    "sliding_attention",
]


def _corpus() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for _, p in corpus_configs()]


CORPUS = _corpus()


def assert_well_formed(result: Any) -> None:
    assert result.position_encoding in TAGS
    if result.position_encoding == "unknown":
        assert result.reason
    assert not (result.reason or "").startswith("tagger rule failed"), result.reason
    # the stable JSON shape must always serialise as strict JSON
    json.dumps(result.to_dict(), allow_nan=False)


@SETTINGS
@given(json_values)
def test_any_json_value(value: Any) -> None:
    assert_well_formed(tag_config(value))


def mutate(config: Any, path: list[str], value: Any) -> Any:
    """Set `value` at a key path, creating dicts on the way (replacing non-dicts)."""
    if not path:
        return value
    base = dict(config) if isinstance(config, dict) else {}
    base[path[0]] = mutate(base.get(path[0]), path[1:], value)
    return base


@SETTINGS
@given(
    st.integers(min_value=0, max_value=len(CORPUS) - 1),
    st.lists(st.sampled_from(KEYS), min_size=1, max_size=3),
    json_values,
)
def test_mutated_real_configs(index: int, path: list[str], value: Any) -> None:
    assert_well_formed(tag_config(mutate(CORPUS[index], path, value)))


@SETTINGS
@given(st.integers(min_value=0, max_value=len(CORPUS) - 1), st.sampled_from(KEYS))
def test_real_configs_with_a_key_in_the_wrong_shape(index: int, key: str) -> None:
    for wrong in ([1, 2], "32768", math.nan, 10**400, {"a": None}, True, -1):
        assert_well_formed(tag_config(mutate(CORPUS[index], [key], wrong)))


def test_deep_nesting_never_raises() -> None:
    deep: Any = {}
    for _ in range(10_000):
        deep = {"text_config": deep, "rope_scaling": deep}
    assert_well_formed(tag_config(deep))
    nested_list: Any = []
    for _ in range(10_000):
        nested_list = [nested_list]
    assert_well_formed(tag_config({"model_type": "llama", "rope_scaling": nested_list}))


def test_every_corpus_config_is_tagged_or_explained() -> None:
    for config in CORPUS:
        assert_well_formed(tag_config(config))
