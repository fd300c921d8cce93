"""A config no runtime can run never passes: invalid values are kept as written and fail.

Each case is a real llama config with one value made unusable, as the ones users and broken
conversions write; the verdict must be `fail` with a check naming the key, and the tagger must
not put a default in the bad value's place. A hypothesis test then generates configs around
these edges and holds ropedex to transformers' own rotary embedding.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.verify.verdict import verify_tag
from scrapers.tagger import tag_config

BASE = {
    "model_type": "llama",
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "max_position_embeddings": 8192,
    "rope_theta": 500000.0,
}
LLAMA3 = {
    "rope_type": "llama3",
    "factor": 1e308,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
}
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "theta zero": ({"rope_theta": 0}, "rope_theta"),
    "theta negative": ({"rope_theta": -5}, "rope_theta"),
    "theta NaN": ({"rope_theta": math.nan}, "rope_theta"),
    "theta infinite": ({"rope_theta": math.inf}, "rope_theta"),
    "theta true": ({"rope_theta": True}, "rope_theta"),
    "theta 400 digits": ({"rope_theta": 10**400}, "rope_theta"),
    "theta a string": ({"rope_theta": "500000"}, "rope_theta"),
    "no heads": ({"num_attention_heads": 0}, "num_attention_heads"),
    "width not divisible": ({"hidden_size": 4097}, "hidden_size"),
    "head_dim zero": ({"head_dim": 0}, "head_dim"),
    "partial rotary 0": ({"partial_rotary_factor": 0}, "partial_rotary_factor"),
    "partial rotary 1.5": ({"partial_rotary_factor": 1.5}, "partial_rotary_factor"),
    "partial rotary -1": ({"partial_rotary_factor": -1}, "partial_rotary_factor"),
    "rope_scaling a list": ({"rope_scaling": [1, 2]}, "rope_scaling"),
    "rope_scaling a string": ({"rope_scaling": "yarn"}, "rope_scaling"),
    "rope_scaling a number": ({"rope_scaling": 4}, "rope_scaling"),
    "context zero": ({"max_position_embeddings": 0}, "max_position_embeddings"),
    "context negative": ({"max_position_embeddings": -1}, "max_position_embeddings"),
    "context 2^62": ({"max_position_embeddings": 2**62}, "max_position_embeddings"),
    "unknown rope type": ({"rope_scaling": {"rope_type": "banana", "factor": 2}}, "rope_type"),
    "llama3 factor 1e308": (
        {"rope_scaling": LLAMA3, "max_position_embeddings": 131072},
        "float32",
    ),
    "yarn factor 1e308": (
        {
            "rope_scaling": {
                "rope_type": "yarn",
                "factor": 1e308,
                "original_max_position_embeddings": 8,
            }
        },
        "float32",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_invalid_values_fail_and_name_the_key(name: str) -> None:
    edit, key = CASES[name]
    tag = tag_config({**BASE, **edit})
    assert tag.position_encoding != "unknown", tag.reason
    verdict = verify_tag(tag, device="cpu")
    assert verdict.verdict == "fail", [c.to_dict() for c in verdict.checks]
    failing = [c for c in verdict.checks if c.status == "fail"]
    assert any(key in c.message for c in failing), [c.message for c in failing]


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("theta")])
def test_a_bad_theta_is_never_replaced_by_a_default(name: str) -> None:
    edit, _key = CASES[name]
    tag = tag_config({**BASE, **edit})
    assert tag.rope_theta is None
    assert "rope_theta" in tag.invalid
    assert all(p is None or not math.isfinite(p.theta) for p in tag.rope.values())
    check = verify_tag(tag, device="cpu").check("C0")
    assert check is not None and check.status == "fail"


def test_valid_configs_carry_no_invalid_values() -> None:
    tag = tag_config(BASE)
    assert tag.invalid == {} and tag.rope_theta == 500000.0
    assert verify_tag(tag, device="cpu").check("C0").status == "pass"  # type: ignore[union-attr]


# --- against transformers' own rotary embedding -------------------------------------------------

THETAS = st.one_of(
    st.floats(min_value=2.0, max_value=1e7),
    st.sampled_from([0, -1, 1e400, math.nan, True, "10000", 10**30]),
)
SCALINGS = st.one_of(
    st.none(),
    st.builds(lambda f: {"rope_type": "linear", "factor": f}, st.sampled_from([2.0, 4.0, 0.5])),
    st.builds(
        lambda f, o: {"rope_type": "yarn", "factor": f, "original_max_position_embeddings": o},
        st.sampled_from([2.0, 4.0, 1e308]),
        st.sampled_from([2048, 4096]),
    ),
    st.sampled_from([[1, 2], "yarn", {"rope_type": "banana", "factor": 2.0}]),
)


def _transformers_inv_freq(config: dict[str, Any]) -> list[float] | None:
    """transformers' inverse frequencies for `config`, None when it refuses or they are bad."""
    import torch
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    try:
        built = LlamaConfig.from_dict(dict(config))
        rotary = LlamaRotaryEmbedding(built)
        x = torch.zeros(1, 4, 8)
        cos, sin = rotary(x, torch.arange(4)[None, :])
    except Exception:  # any refusal: the config cannot run there
        return None
    inv = rotary.inv_freq.to(torch.float64)
    ok = inv.numel() > 0 and bool(torch.isfinite(inv).all()) and bool((inv > 0).all())
    ok = ok and bool(torch.isfinite(cos).all() and torch.isfinite(sin).all())
    return [float(v) for v in inv] if ok else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    theta=THETAS,
    heads=st.sampled_from([32, 0, 7]),
    prf=st.sampled_from([None, 0.5, 1.0, 0.0, 1.5]),
    scaling=SCALINGS,
)
def test_ropedex_never_passes_what_transformers_cannot_run(
    theta: Any, heads: int, prf: float | None, scaling: Any
) -> None:
    config: dict[str, Any] = {**BASE, "rope_theta": theta, "num_attention_heads": heads}
    if prf is not None:
        config["partial_rotary_factor"] = prf
    if scaling is not None:
        config["rope_scaling"] = scaling
    theirs = _transformers_inv_freq(config)
    tag = tag_config(config)
    verdict = verify_tag(tag, device="cpu").verdict
    if theirs is None:
        assert verdict == "fail", (config, verdict)
    if verdict == "pass":
        assert theirs is not None
        ours = next(p for p in tag.rope.values() if p is not None)
        from yarn_core.frequencies import inverse_frequencies

        mine = inverse_frequencies(ours, "transformers", ours.max_position_embeddings)
        assert len(mine) == len(theirs)
        assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(mine, theirs, strict=True))


@pytest.mark.parametrize(
    ("model_type", "scaling", "status"),
    [
        ("llama", None, "warn"),  # Llama's default init rotates the whole head
        ("glm", None, "not-applicable"),  # GLM's default init reads the fraction
        ("llama", {"rope_type": "linear", "factor": 2.0}, "not-applicable"),  # scaled: read
    ],
)
def test_partial_rotary_with_default_rope_follows_transformers_per_model_type(
    model_type: str, scaling: dict[str, Any] | None, status: str
) -> None:
    from transformers import AutoConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config: dict[str, Any] = {**BASE, "model_type": model_type, "partial_rotary_factor": 0.5}
    if scaling:
        config["rope_scaling"] = scaling
    check = verify_tag(tag_config(config), device="cpu").check("C21")
    assert check is not None and check.status == status, check
    if model_type == "llama":  # what transformers itself does for this config
        built = AutoConfig.for_model(**config)
        rotated = LlamaRotaryEmbedding(built).inv_freq.numel()
        assert rotated == (64 if status == "warn" else 32)


@pytest.mark.parametrize("theta", [math.nan, "10000", -1, True])
def test_an_invalid_theta_is_null_in_every_layer_of_the_json(theta: Any) -> None:
    import json

    layers = ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]
    # AFMoE (Arcee Trinity): RoPE on sliding layers, none on the global ones.
    config = {**BASE, "model_type": "afmoe", "rope_theta": theta, "layer_types": layers}
    config["sliding_window"] = 4096
    result = tag_config(config)
    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # strict JSON
    assert document["rope_theta"] is None
    assert document["per_layer"]["sliding_attention"]["theta"] is None
    assert document["per_layer"]["full_attention"] is None
    assert "rope_theta" in json.dumps(document["invalid"], allow_nan=False)
