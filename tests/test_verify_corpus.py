"""The verifier on real configs: consistent ones do not fail, every corpus config gets a verdict,
and the evidence agrees with transformers' own rope code."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.verify.check import STATUSES
from registry.verify.verdict import verify_tag
from scrapers.tagger import tag_config
from tests.conftest import corpus_configs, load_corpus_config

GOOD = Path(__file__).parent / "data" / "verify" / "good"

CONSISTENT = [
    "deepseek-ai/DeepSeek-V3",
    "deepseek-ai/DeepSeek-R1",
    "deepseek-ai/DeepSeek-V2-Lite-Chat",
    "openai/gpt-oss-20b",
    "openai/gpt-oss-120b",
    "meta-llama/Meta-Llama-3.1-8B",
    "meta-llama/Llama-3.2-3B",
    "Qwen/Qwen3-8B",
    "Qwen/Qwen2.5-VL-3B-Instruct",
    "moonshotai/Kimi-K2-Instruct",
    "mistralai/Ministral-3-8B-Instruct-2512",
    "mistralai/Mistral-Small-4-119B-2603",
    "google/gemma-4-31B",
    "google/medgemma-27b-it",
    "openbmb/MiniCPM-V-4",
]


@pytest.mark.parametrize("repo_id", CONSISTENT)
def test_consistent_real_configs_do_not_fail(repo_id: str) -> None:
    verdict = verify_tag(tag_config(load_corpus_config(repo_id)), device="cpu")
    failed = [f"{c.id}: {c.message}" for c in verdict.checks if c.status == "fail"]
    assert verdict.verdict in ("pass", "warn"), failed


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.json")), ids=lambda p: p.stem)
def test_model_card_style_configs_do_not_fail(path: Path) -> None:
    verdict = verify_tag(tag_config(json.loads(path.read_text())), device="cpu")
    assert verdict.verdict in ("pass", "warn")


def test_deepseek_v3_passes_with_the_softmax_correction() -> None:
    verdict = verify_tag(tag_config(load_corpus_config("deepseek-ai/DeepSeek-V3")), device="cpu")
    assert verdict.verdict == "pass"
    row = verdict.runtimes["transformers"]
    # DeepSeek-V3: cos/sin ratio 1, softmax m(40, 1)^2 (rope-scaling.md TV3).
    assert row["attention_scaling"] == 1.0
    assert row["softmax_multiplier"] == pytest.approx((0.1 * math.log(40) + 1) ** 2, rel=1e-12)
    assert verdict.runtimes["deepseek"]["softmax_multiplier"] == pytest.approx(
        row["softmax_multiplier"], rel=1e-12
    )


def test_gpt_oss_flags_llama_cpp_rounding() -> None:
    verdict = verify_tag(tag_config(load_corpus_config("openai/gpt-oss-20b")), device="cpu")
    x1 = verdict.check("X1")
    assert x1 is not None and x1.status == "warn"
    assert "llama.cpp" in x1.numbers["differ"]
    assert "llama.cpp: other frequencies (truncate: false not supported" in x1.message


def test_check_every_corpus_config() -> None:
    """Acceptance: `ropedex check` returns a verdict for every corpus config, without error."""
    pairs = corpus_configs()
    paths = [str(p) for _, p in pairs]
    result = CliRunner().invoke(cli, ["check", "--json", "--device", "cpu", *paths])
    rows = json.loads(result.stdout)
    assert [r["path"] for r in rows] == paths
    # 0 when no verdict is fail, 2 when one is (an unreadable input would give 1)
    failed = any(r["verdict"] == "fail" for r in rows)
    assert result.exit_code == (2 if failed else 0), result.output[-2000:]
    for row in rows:
        assert row["verdict"] in ("pass", "warn", "fail", "n/a")
        ids = [c["id"] for c in row["checks"]]
        assert len(ids) == len(set(ids))
        statuses = {c["status"] for c in row["checks"]}
        assert statuses <= set(STATUSES)
        if row["verdict"] == "fail":
            assert "fail" in statuses
        if row["verdict"] == "n/a":
            assert row["reason"] and not row["checks"]
        else:
            assert set(row["runtimes"]) >= {"transformers", "vllm", "sglang", "llama.cpp"}
    assert sum(r["verdict"] != "n/a" for r in rows) > 200
    # every message writes numbers as the rest of the project does (tests/test_check_messages.py)
    from tests.test_check_messages import BAD

    odd = [(r["path"], c["message"]) for r in rows for c in r["checks"] if BAD.search(c["message"])]
    assert not odd, odd[:5]


def test_check_reports_a_broken_file_and_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text("{not json", encoding="utf-8")
    good = GOOD / "qwen3_yarn_model_card.json"
    result = CliRunner().invoke(cli, ["check", "--device", "cpu", str(bad), str(good)])
    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr
    assert "qwen3_yarn_model_card.json: WARN" in result.stdout


def test_check_text_output_lists_problems() -> None:
    path = Path(__file__).parent / "data" / "verify" / "beta_reversed.json"
    result = CliRunner().invoke(cli, ["check", "--device", "cpu", str(path)])
    assert result.exit_code == 2  # a fail verdict gates CI
    assert "FAIL" in result.stdout and "C8-beta-order" in result.stdout


# ---- differential: the evidence against transformers' rope initialisation --------------------

DIFFERENTIAL = [
    ("deepseek-ai/DeepSeek-V3", None),
    ("deepseek-ai/DeepSeek-V2-Lite-Chat", None),
    ("openai/gpt-oss-20b", None),
    ("meta-llama/Meta-Llama-3.1-8B", None),
    ("arcee-ai/AFM-4.5B", None),
    ("mistralai/Ministral-3-8B-Instruct-2512", "text_config"),
    ("mistralai/Mistral-Small-4-119B-2603", "text_config"),
    ("google/medgemma-27b-it", "text_config"),
    ("OpenGVLab/InternVL3-8B-hf", "text_config"),
]


def _transformers_rope(config: dict[str, Any], sub: str | None) -> tuple[list[float], float, int]:
    """(inv_freq, attention factor, rotary width) from transformers for the long-context layer."""
    from transformers import AutoConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    data = dict(config[sub] if sub else config)
    cfg = AutoConfig.for_model(data.pop("model_type"), **data)
    params = cfg.rope_parameters
    layer = "full_attention" if "full_attention" in params else None
    params = params[layer] if layer else params
    inv, attention = ROPE_INIT_FUNCTIONS[params["rope_type"]](cfg, "cpu", layer_type=layer)
    return [float(x) for x in inv], float(attention), 2 * len(inv)


@pytest.mark.parametrize(("repo_id", "sub"), DIFFERENTIAL, ids=[r for r, _ in DIFFERENTIAL])
def test_evidence_matches_transformers(repo_id: str, sub: str | None) -> None:
    config = load_corpus_config(repo_id)
    inv, attention, dim = _transformers_rope(config, sub)
    tag = tag_config(config)
    verdict = verify_tag(tag, device="cpu")
    assert verdict.runtimes["transformers"]["attention_scaling"] == pytest.approx(attention)
    primary = tag.rope.get("full_attention") or tag.rope.get("default")
    assert primary is not None
    theta, factor = primary.theta, primary.factor or 1.0
    ratio = [f * theta ** (2 * j / dim) for j, f in enumerate(inv)]  # scaled / unscaled
    kept = sum(1 for r in ratio if abs(r - 1) < 1e-5)
    divided = sum(1 for r in ratio if abs(r * factor - 1) < 1e-5)
    p1, p2 = verdict.check("P1"), verdict.check("P2")
    assert p1 is not None and p2 is not None
    if p1.status != "not-applicable":
        assert p1.numbers["pairs"] == kept
        assert p2.numbers["pairs"] == divided
    assert verdict.verdict != "fail"


def test_served_context_of_linear_scaling_per_runtime() -> None:
    """medgemma: linear x8 at 131072; vLLM skips gemma3; SGLang serves 131072 too, and its
    Gemma-3 attention drops the factor (models/gemma3_causal.py; docs/verifier.md "SGLang")."""
    verdict = verify_tag(tag_config(load_corpus_config("google/medgemma-27b-it")), device="cpu")
    served = {conv: row["served_context"] for conv, row in verdict.runtimes.items()}
    assert served["transformers"] == served["vllm"] == served["llama.cpp"] == 131072
    assert served["sglang"] == 131072
    assert verdict.runtimes["sglang"]["applies_scaling"] is False
    x1 = verdict.check("X1")
    assert x1 is not None and x1.status == "warn" and "sglang: scaling off" in x1.message


def test_runtime_matrix_describes_the_layers_that_carry_the_long_context() -> None:
    """DeepSeek-V4: YaRN x16 from 65536 sits on the compressed-attention layers (the tagger's
    primary layer type); the sliding "main" layers use plain RoPE."""
    tag = tag_config(load_corpus_config("deepseek-ai/DeepSeek-V4-Flash"))
    assert tag.rope["main"] is not None and tag.rope["main"].rope_type == "default"
    verdict = verify_tag(tag, device="cpu")
    for conv in ("transformers", "vllm", "sglang", "llama.cpp"):
        row = verdict.runtimes[conv]
        assert row["applies_scaling"] is True and row["factor"] == 16.0
        assert row["served_context"] == 65536 * 16
        assert row["attention_scaling"] == 1.0  # V4's code never rescales cos/sin
    x1 = verdict.check("X1")
    assert x1 is not None
    assert x1.status == "pass", x1.message


def test_warnings_name_their_numbers() -> None:
    """AFM-4.5B: factor 20 from 4096 covers 81920, more than the 65536 it declares (16x).
    MiniCPM-V-4: one short rescale factor below 1 makes that pair turn faster than unscaled."""
    afm = verify_tag(tag_config(load_corpus_config("arcee-ai/AFM-4.5B")), device="cpu")
    c6 = afm.check("C6")
    assert c6 is not None and c6.status == "warn"
    assert "covers 16x of the original, factor is 20 (enough for 81,920)" in c6.message
    mini = verify_tag(tag_config(load_corpus_config("openbmb/MiniCPM-V-4")), device="cpu")
    p3 = mini.check("P3")
    assert p3 is not None and p3.status == "warn"
    assert p3.message.startswith("1 pair turns faster than unscaled")


def test_ministral_mscale_pair_names_the_remaining_correction() -> None:
    """Ministral-3: mscale = mscale_all_dim = 1 gives m(16,1)/m(16,1) = 1 on cos/sin, no MLA
    softmax factor; the block's llama_4_scaling_beta 0.1 is what is left (rope-scaling.md C10)."""
    config = load_corpus_config("mistralai/Ministral-3-8B-Instruct-2512")
    verdict = verify_tag(tag_config(config), device="cpu")
    c10 = verdict.check("C10")
    assert c10 is not None and c10.status == "warn"
    assert c10.numbers["cos_sin_factor"] == 1.0
    assert "llama_4_scaling_beta 0.1 query temperature" in c10.message


def test_llama4_rotary_layers_attend_within_chunks() -> None:
    """Llama 4 Scout: llama3 x16 from 8192 declares 10485760, so slow pairs would turn
    10485760 / (8192 * 16) = 80x further, but its RoPE layers use 8192-token chunked attention
    (transformers builds `chunked_attention` for every RoPE layer): offsets never exceed a chunk.
    The equal band factors still warn (C12)."""
    repo = "unsloth/Llama-4-Scout-17B-16E-Instruct"
    verdict = verify_tag(tag_config(load_corpus_config(repo)), device="cpu")
    p4, c12 = verdict.check("P4"), verdict.check("C12")
    assert p4 is not None and p4.status == "pass" and "within chunks" in p4.message
    assert p4.numbers["max_angle_ratio"] == pytest.approx(80.0, rel=1e-9)
    assert c12 is not None and c12.status == "warn"


def _m(s: float, k: float = 1.0) -> float:
    """rope-scaling.md notation: m(s, k) = 0.1 k ln s + 1."""
    return 0.1 * k * math.log(s) + 1


# (repo, served context per runtime, logit multiplier per runtime), worked by hand from
# rope-scaling.md 0.1 and 3.b-3.f: MLA models carry m(s, mscale_all_dim)^2 on the softmax and 1
# on cos/sin; plain YaRN m(s)^2 on the logits; llama3 and dynamic NTK leave the magnitude at 1.
RUNTIMES = ("transformers", "vllm", "sglang", "llama.cpp")
MATRIX = [
    ("deepseek-ai/DeepSeek-V3", (163840,) * 4, (_m(40) ** 2,) * 4),
    ("deepseek-ai/DeepSeek-V2-Lite-Chat", (163840,) * 4, (_m(40, 0.707) ** 2,) * 4),
    ("moonshotai/Kimi-K2.5", (262144,) * 4, (_m(64) ** 2,) * 4),
    ("openai/gpt-oss-20b", (131072,) * 4, (_m(32) ** 2,) * 4),
    ("arcee-ai/AFM-4.5B", (65536,) * 4, (_m(20) ** 2,) * 4),
    ("mistralai/Mistral-Medium-3.5-128B", (262144,) * 4, (_m(64) ** 2,) * 4),
    ("mistralai/Ministral-3-8B-Instruct-2512", (262144,) * 4, (1.0,) * 4),
    ("Qwen/Qwen3-8B", (40960,) * 4, (1.0,) * 4),
    ("meta-llama/Meta-Llama-3.1-8B", (131072,) * 4, (1.0,) * 4),
    ("SmallDoge/Doge-160M", (2048, 2048 * 4, 2048, 2048), (1.0,) * 4),
    ("llava-hf/LLaVA-NeXT-Video-7B-hf", (4096, 10240, 10240, 4096), (1.0,) * 4),
]


@pytest.mark.parametrize("repo_id, served, logits", MATRIX, ids=[row[0] for row in MATRIX])
def test_runtime_matrix_matches_the_hand_derivation(
    repo_id: str, served: tuple[int, ...], logits: tuple[float, ...]
) -> None:
    verdict = verify_tag(tag_config(load_corpus_config(repo_id)), device="cpu")
    for conv, want_served, want_logits in zip(RUNTIMES, served, logits, strict=True):
        row = verdict.runtimes[conv]
        assert row["served_context"] == want_served, conv
        assert row["logit_multiplier"] == pytest.approx(want_logits, rel=1e-12), conv
