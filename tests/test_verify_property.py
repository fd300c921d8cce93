"""Random rope parameters and raw blocks never crash the verifier, and its output is well formed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.verify.check import STATUSES
from registry.verify.inputs import VerifyInput
from registry.verify.verdict import verify
from yarn_core.params import ROPE_TYPES, RopeParams

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.floats(min_value=-4, max_value=64), max_size=4),
)
NUMBER = st.one_of(
    st.none(),
    st.floats(min_value=-10, max_value=1e4, allow_nan=False),
    st.integers(min_value=-4, max_value=4096),
)


@st.composite
def rope_params(draw: st.DrawFn) -> RopeParams:
    head_dim = draw(st.sampled_from([2, 4, 8, 32, 64, 96, 128]))
    rotary_dim = draw(st.sampled_from([head_dim, head_dim // 2, 2, 0, 3]))
    pairs = max(rotary_dim // 2, 0)
    lists = st.one_of(
        st.none(),
        st.lists(st.floats(min_value=0.01, max_value=64), min_size=pairs, max_size=pairs),
        st.lists(st.floats(min_value=-1, max_value=64), max_size=6),
    )
    declared = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=2**26)))
    return RopeParams(
        rope_type=draw(st.sampled_from(ROPE_TYPES)),
        theta=draw(st.one_of(st.floats(min_value=-1, max_value=1e9), st.just(10000.0))),
        head_dim=head_dim,
        rotary_dim=rotary_dim,
        pairing=draw(st.sampled_from(["half", "interleaved"])),
        max_position_embeddings=declared,
        original_max_position_embeddings=draw(
            st.one_of(st.none(), st.integers(min_value=1, max_value=2**20))
        ),
        factor=draw(NUMBER),
        beta_fast=draw(NUMBER),
        beta_slow=draw(NUMBER),
        mscale=draw(NUMBER),
        mscale_all_dim=draw(NUMBER),
        attention_factor=draw(NUMBER),
        truncate=draw(st.one_of(st.none(), st.booleans())),
        low_freq_factor=draw(NUMBER),
        high_freq_factor=draw(NUMBER),
        short_factor=(lambda v: tuple(v) if v is not None else None)(draw(lists)),
        long_factor=(lambda v: tuple(v) if v is not None else None)(draw(lists)),
        alpha=draw(NUMBER),
        mrope_section=draw(
            st.one_of(st.none(), st.lists(st.integers(0, 64), min_size=3, max_size=3).map(tuple))
        ),
        mrope_interleaved=draw(st.booleans()),
    )


@st.composite
def raw_blocks(draw: st.DrawFn) -> dict[str, Any] | None:
    keys = st.sampled_from(
        [
            "type",
            "rope_type",
            "factor",
            "original_max_position_embeddings",
            "beta_fast",
            "beta_slow",
            "mscale",
            "mscale_all_dim",
            "attention_factor",
            "truncate",
            "low_freq_factor",
            "high_freq_factor",
            "short_factor",
            "long_factor",
            "mrope_section",
            "partial_rotary_factor",
            "strange_key",
        ]
    )
    types = st.sampled_from(["yarn", "linear", "llama3", "longrope", "su", "mrope", "???"])
    block = draw(st.one_of(st.none(), st.dictionaries(keys, ODD_VALUES, max_size=8)))
    if block is not None and draw(st.booleans()):
        block["rope_type"] = draw(types)
    if block is not None and draw(st.booleans()):  # per-layer nesting, as Gemma 3/4 write it
        return {"full_attention": block, "sliding_attention": {"rope_type": "default"}}
    return block


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=rope_params(),
    raw=raw_blocks(),
    second=st.one_of(st.none(), rope_params()),
    model_type=st.sampled_from([None, "llama", "deepseek_v3", "phi3"]),
    dtype=st.sampled_from([None, "bfloat16", "float16", "float32", "int8"]),
)
def test_random_parameters_never_crash(
    params: RopeParams,
    raw: dict[str, Any] | None,
    second: RopeParams | None,
    model_type: str | None,
    dtype: str | None,
) -> None:
    rope: dict[str, RopeParams | None] = {"full_attention": params}
    if second is not None:
        rope["sliding_attention"] = second
    inp = VerifyInput(
        rope=rope,
        raw_rope=raw,
        model_type=model_type,
        torch_dtype=dtype,
        declared_context=params.max_position_embeddings,
    )
    verdict = verify(inp, device="cpu")
    assert verdict.verdict in ("pass", "warn", "fail")
    assert all(c.status in STATUSES for c in verdict.checks)
    assert all(c.message and "\n" not in c.message for c in verdict.checks)
    ids = [c.id for c in verdict.checks]
    assert len(ids) == len(set(ids))
    json.dumps(verdict.to_dict(), allow_nan=False)
