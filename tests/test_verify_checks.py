"""Each kind of defect is caught by the right check; the verdict follows the worst check.

The defective configs in tests/data/verify/ were written for these tests (a Llama-shaped base with
one thing wrong each); they go through the real tagger, then the verifier.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from registry.verify.check import Check, merge_layers, worst
from registry.verify.inputs import VerifyInput
from registry.verify.keys import split_blocks
from registry.verify.verdict import Verdict, verify, verify_tag
from scrapers.tagger import tag_config
from yarn_core.frequencies import mrope_pair_axes
from yarn_core.params import RopeParams

DATA = Path(__file__).parent / "data" / "verify"

# file -> (check id that must catch it, its status)
DEFECTS = {
    "type_conflict": ("C1-type-key", "fail"),
    "mrope_no_section": ("C2-legacy-type", "fail"),
    "yarn_no_factor": ("C3-required-keys", "fail"),
    "unknown_key": ("C4-unknown-keys", "warn"),
    "factor_below_one": ("C5-factor", "fail"),
    "factor_string": ("C19-value-types", "fail"),
    "context_beyond_factor": ("C6-factor-vs-context", "fail"),
    "static_yarn": ("C6-factor-vs-context", "warn"),
    "yarn_no_original": ("C7-original-context", "warn"),
    "beta_reversed": ("C8-beta-order", "fail"),
    "truncate_string": ("C9-truncate", "fail"),
    "mscale_pair_llama": ("C10-mscale-pair", "warn"),
    "mscale_negative": ("C10-mscale-pair", "fail"),
    "attention_factor_negative": ("C11-attention-factor", "fail"),
    "llama3_bands_reversed": ("C12-llama3-bands", "fail"),
    "longrope_short_lists": ("C13-longrope-lists", "fail"),
    "mrope_bad_sum": ("C14-mrope-sections", "fail"),
    "partial_rotary_too_big": ("C15-partial-rotary", "fail"),
    "theta_one": ("C20-theta", "fail"),
    "range_rounding": ("P6-range-rounding", "warn"),
    "attention_factor_huge": ("P8-finite-cos-sin", "fail"),
    "context_2e25": ("P9-relative-invariance", "warn"),
}


def _verdict_of(name: str) -> Verdict:
    config = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return verify_tag(tag_config(config), device="cpu")


def test_every_defect_file_is_listed() -> None:
    assert {p.stem for p in DATA.glob("*.json")} == set(DEFECTS)


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_is_caught_by_the_right_check(name: str) -> None:
    check_id, status = DEFECTS[name]
    verdict = _verdict_of(name)
    check = verdict.check(check_id)
    assert check is not None, f"{check_id} did not run"
    assert check.status == status, check.message
    assert check.message and "\n" not in check.message
    assert verdict.verdict in (("fail",) if status == "fail" else ("warn", "fail"))


def test_static_yarn_names_what_each_runtime_does() -> None:
    """Qwen-style static YaRN (x4 at 32768 = original): every current runtime serves 32768 and
    applies m(4) = 0.1 ln 4 + 1 on cos/sin; transformers 4.51-4.55 replaced the factor by 1."""
    verdict = _verdict_of("static_yarn")
    c6 = verdict.check("C6")
    assert c6 is not None and "vLLM before 0.33: 131072" in c6.message
    m4 = 0.1 * math.log(4) + 1
    for conv in ("transformers", "vllm", "sglang", "llama.cpp"):
        row = verdict.runtimes[conv]
        assert row["served_context"] == 32768
        assert row["attention_scaling"] == pytest.approx(m4, rel=1e-12)
    assert verdict.runtimes["transformers-4.55"]["applies_scaling"] is False
    assert verdict.runtimes["deepseek"]["applies_scaling"] is False  # 32768 is not > 32768


def test_declared_context_beyond_the_factor_shows_on_tensors_too() -> None:
    # 131072 declared, 4096 trained, factor 4: the slowest pairs rotate 8x further than trained.
    check = _verdict_of("context_beyond_factor").check("P4")
    assert check is not None and check.status == "fail"
    assert check.numbers["max_angle_ratio"] == pytest.approx(131072 / (4096 * 4), rel=1e-9)


def test_reversed_betas_break_the_monotone_blend() -> None:
    check = _verdict_of("beta_reversed").check("P3")
    assert check is not None and check.status == "fail"


def _yarn(**kw: object) -> RopeParams:
    base: dict[str, object] = {
        "rope_type": "yarn",
        "theta": 10000.0,
        "head_dim": 128,
        "rotary_dim": 128,
        "max_position_embeddings": 65536,
        "original_max_position_embeddings": 4096,
        "factor": 16.0,
    }
    base.update(kw)
    return RopeParams(**base)  # type: ignore[arg-type]


def _inp(params: RopeParams, raw: dict[str, object] | None, **kw: object) -> VerifyInput:
    return VerifyInput(rope={"default": params}, raw_rope=raw, **kw)  # type: ignore[arg-type]


def test_yarn_llama2_64k_bands_match_the_worked_example() -> None:
    # rope-scaling.md TV1: D=128, b=1e4, s=16, L=4096 -> pairs 0-20 kept, 46-63 divided by 16.
    raw = {"rope_type": "yarn", "factor": 16.0, "original_max_position_embeddings": 4096}
    verdict = verify(_inp(_yarn(), raw, declared_context=65536), device="cpu")
    p1, p2 = verdict.check("P1"), verdict.check("P2")
    assert p1 is not None and p1.status == "pass" and p1.numbers["pairs"] == 21
    assert p2 is not None and p2.status == "pass" and p2.numbers["pairs"] == 18
    p5 = verdict.check("P5")
    assert p5 is not None
    assert p5.numbers["logit_multiplier"] == pytest.approx(1.6313902266748685, rel=1e-12)
    assert verdict.verdict == "pass"


def test_equal_betas_warn_and_do_not_fail() -> None:
    raw = {"type": "yarn", "factor": 16.0, "original_max_position_embeddings": 4096}
    params = _yarn(beta_fast=1.0, beta_slow=1.0)
    verdict = verify(_inp(params, {**raw, "beta_fast": 1.0, "beta_slow": 1.0}), device="cpu")
    c8 = verdict.check("C8")
    assert c8 is not None and c8.status == "warn"
    assert verdict.verdict == "warn"


def test_llama3_ratio_exception_passes_c6_and_coverage() -> None:
    # Llama 3.1: factor 8 while 131072 / 8192 = 16, by design.
    params = RopeParams(
        rope_type="llama3",
        theta=500000.0,
        max_position_embeddings=131072,
        original_max_position_embeddings=8192,
        factor=8.0,
        low_freq_factor=1.0,
        high_freq_factor=4.0,
    )
    raw = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    }
    verdict = verify(_inp(params, raw), device="cpu")
    c6, p4 = verdict.check("C6"), verdict.check("P4")
    assert c6 is not None and c6.status == "pass"
    # Slow pairs are divided by 8 and run 16x longer: 16 / 8 = 2x their pre-extension angle,
    # Meta's deliberate recipe (rope-scaling.md 6.1), so reported in the message, not warned.
    assert p4 is not None and p4.status == "pass" and "by design" in p4.message
    assert p4.numbers["max_angle_ratio"] == pytest.approx(2.0, rel=1e-9)
    # Beyond twice the pre-extension angle (Llama 4 Scout style) still warns: 48x the context
    # at factor 8 is 48 / 8 = 6x.
    far = replace(params, max_position_embeddings=8192 * 48)
    p4_far = verify(_inp(far, raw), device="cpu").check("P4")
    assert p4_far is not None and p4_far.status == "warn"
    assert p4_far.numbers["max_angle_ratio"] == pytest.approx(6.0, rel=1e-9)
    # Declared = original: transformers' llama3 validator warns; so does C6.
    short = replace(params, max_position_embeddings=8192)
    c6_short = verify(_inp(short, raw), device="cpu").check("C6")
    assert c6_short is not None and c6_short.status == "warn"
    assert "original 8192 >= declared 8192" in c6_short.message


def test_mla_model_type_makes_the_mscale_pair_pass() -> None:
    raw = {
        "type": "yarn",
        "factor": 40,
        "original_max_position_embeddings": 4096,
        "mscale": 1.0,
        "mscale_all_dim": 1.0,
    }
    params = _yarn(
        factor=40.0, rotary_dim=64, head_dim=192, max_position_embeddings=163840, mscale=1.0
    )
    params = RopeParams(**{**params.to_dict(), "mscale_all_dim": 1.0, "extra": {}})
    for model_type, status in (("deepseek_v3", "pass"), ("llama", "warn")):
        verdict = verify(_inp(params, raw, model_type=model_type), device="cpu")
        c10 = verdict.check("C10")
        assert c10 is not None and c10.status == status


def test_no_rope_gives_na_with_a_reason() -> None:
    verdict = verify(VerifyInput(rope={}), device="cpu")
    assert verdict.verdict == "n/a" and verdict.reason
    nope = verify(VerifyInput(rope={"default": None}), device="cpu")
    assert nope.verdict == "n/a"


def test_flat_block_belongs_to_the_layer_type_it_scales() -> None:
    # Gemma 3: the rope_scaling block scales full attention; sliding layers are plain RoPE.
    full = RopeParams(rope_type="linear", factor=8.0, theta=1e6)
    local = RopeParams(rope_type="default", theta=1e4)
    raw = {"rope_type": "linear", "factor": 8.0}
    blocks = split_blocks(raw, {"sliding_attention": local, "full_attention": full})
    assert blocks == {"full_attention": raw}
    nested = {"full_attention": {"rope_type": "linear"}, "sliding_attention": {"rope_type": "x"}}
    layers = {"full_attention": full, "sliding_attention": local}
    assert split_blocks(nested, layers) == nested


def test_merge_keeps_the_worst_layer() -> None:
    merged = merge_layers(
        {
            "a": Check("P1-x", "pass", "fine", {"n": 1}),
            "b": Check("P1-x", "fail", "broken", {"n": 2}),
        }
    )
    assert merged.status == "fail" and merged.message.startswith("b: ")
    assert merged.numbers == {"a": {"n": 1}, "b": {"n": 2}}
    assert worst(["pass", "not-applicable", "warn"]) == "warn"


def _axis_counts(section: tuple[int, ...], pairs: int) -> list[int]:
    axes = mrope_pair_axes(section, pairs, True)
    return [axes.count(axis) for axis in range(len(section))]


def test_interleaved_mrope_axes() -> None:
    # Qwen3-VL: [24, 20, 20] over 64 pairs realises exactly the declared counts.
    assert _axis_counts((24, 20, 20), 64) == [24, 20, 20]
    assert _axis_counts((10, 30, 24), 64) != [10, 30, 24]


def test_verdict_dict_is_strict_json() -> None:
    verdict = _verdict_of("attention_factor_huge")
    text = json.dumps(verdict.to_dict(), allow_nan=False)
    assert json.loads(text)["verdict"] == "fail"
