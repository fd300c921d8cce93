"""Differential test: ropedex's vLLM convention against vLLM 0.33.0's own code.

vLLM's side (`tests/oracles/vllm_oracle.py`): its config patching, its served `max_model_len`
(`_get_and_verify_max_len` with the base convertor's length keys), its `get_rope` building the
rotary object (inverse frequencies, cos/sin multiplier from the cache, LongRoPE factor set) and,
for the DeepSeek-V2 MLA model file, the attention's own softmax-scale statements. ropedex's side
is `ropedex rope --convention vllm` and the vllm row of `ropedex check`'s runtime matrix
(`tests/oracles/ropedex_side.py`). Compared per rope layer type: inverse frequencies (1e-6
relative), the cos/sin and softmax multipliers (1e-6 relative), the LongRoPE factor set and the
served context with the key that gave it.

Every remaining difference is in `ALLOWED` with its reason (docs/verifier.md, "vLLM"). The first
run downloads the wheel (~340 MB) and runs the oracle; later runs read its cached results.

    .venv/bin/python -m tests.test_runtime_vllm     # print the agreement counts
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import corpus_configs
from tests.oracles import allowed, ropedex_side
from tests.oracles.vllm_oracle import vllm_results

REL_TOL = 1e-6  # inverse frequencies and multipliers (vLLM's float32 values stay within it)
MIN_COMPARED = 150  # configs vLLM builds with RoPE and ropedex computes

# Differences kept on purpose: corpus name -> (fields that differ, reason). Each is cited in
# docs/verifier.md ("vLLM").
_CONFIG_CLASS_DEFAULT = (
    "the config writes no length key; vLLM reads transformers' config-class default "
    "(Gemma 8192, Qwen2 32768) or its own 2048 fallback; ropedex reports no served context "
    "instead of a default the config does not state"
)
_MISTRAL4_MLA = (
    "mistral3.py builds the mistral4 text model with init_vllm_registered_model from "
    "text_config, which names no architecture; the oracle does not follow that resolution and "
    "runs its generic call site (softmax x1) there; ropedex keeps the MLA softmax "
    "multiplier m(s, mscale_all_dim)^2 of the architecture's attention code"
)
_DEFAULT_LENGTH_MODELS = (
    "vidore/colpali-v1.3-hf",
    "tiiuae/falcon-180B-chat",
    "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
    "llava-hf/llava-onevision-qwen2-72b-ov-hf",
    "llava-hf/llava-onevision-qwen2-7b-ov-hf",
)
_SERVED = frozenset({"served_context", "matrix_served_context"})
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    **dict.fromkeys(_DEFAULT_LENGTH_MODELS, (_SERVED, _CONFIG_CLASS_DEFAULT)),
    **{
        name: (frozenset({"softmax_multiplier"}), _MISTRAL4_MLA)
        for name in (
            "darkc0de/Mistral-Small-4-119B-2603-heretic",
            "mistralai/Mistral-Small-4-119B-2603",
        )
    },
}


@dataclass
class Outcome:
    name: str
    vllm: dict[str, Any]
    compared: bool = False
    diffs: dict[str, str] = field(default_factory=dict)
    why_not: str | None = None


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _pair(rows: list[dict[str, Any]], layer: str, n_layers: int) -> dict[str, Any] | None:
    by_type = {r["layer_type"]: r for r in rows if r.get("inv_freq")}
    if layer in by_type:
        return by_type[layer]
    if n_layers == 1 and len(by_type) >= 1:
        return next(iter(by_type.values()))
    return None


def compare(name: str, config: dict[str, Any], theirs: dict[str, Any]) -> Outcome:
    out = Outcome(name, theirs)
    if "error" in theirs:
        out.why_not = f"vLLM: {theirs['error']}"
        return out
    if "backend" in theirs:
        out.why_not = f"vLLM: {theirs['backend']}"
        return out
    rows = ropedex_side.rope_rows_for(config, "vllm")
    ours_rope = [r for r in rows if r.get("inv_freq")]
    if "no_rope" in theirs:
        if ours_rope:
            out.diffs["rope"] = f"ropedex computes RoPE; vLLM: {theirs['no_rope']}"
        else:
            out.why_not = theirs["no_rope"]
        return out
    layers = theirs["layers"]
    built = {k: v for k, v in layers.items() if "error" not in v}
    if not built:
        first = next(iter(layers.values()))
        out.why_not = f"vLLM get_rope: {first['error']}"
        return out
    if not ours_rope:
        reason = rows[0].get("reason") if rows else None
        out.diffs["rope"] = f"vLLM builds {sorted(built)}; ropedex: {reason}"
        return out
    for layer, side in built.items():
        row = _pair(rows, layer, len(layers))
        tag = "" if len(layers) == 1 else f"[{layer}]"
        if row is None:
            out.diffs[f"layer{tag}"] = f"ropedex has no {layer} row"
            continue
        out.compared = True
        _compare_row(out, tag, row, side)
    served = theirs["served_context"]
    if rows[0].get("served_context") != served and ours_rope:
        out.diffs["served_context"] = (
            f"ropedex {ours_rope[0]['served_context']}, vLLM max_model_len {served}"
        )
    matrix = ropedex_side.runtimes_for(config).get("vllm", {})
    if matrix.get("served_context") != served:
        out.diffs["matrix_served_context"] = (
            f"matrix {matrix.get('served_context')}, vLLM max_model_len {served}"
        )
    # vLLM keeps the derived key's name when LongRoPE's default max_model_len replaces it.
    longrope = any("factor_set" in side for side in built.values())
    key = "original_max_position_embeddings" if longrope else theirs["written_key"]
    if matrix.get("served_context") == served and not str(
        matrix.get("served_context_key")
    ).startswith(key):
        out.diffs["matrix_served_context_key"] = (
            f"matrix {matrix.get('served_context_key')}, vLLM {key}"
        )
    return out


def _compare_row(out: Outcome, tag: str, row: dict[str, Any], side: dict[str, Any]) -> None:
    ours, theirs = row["inv_freq"], side["inv_freq"]
    if len(ours) != len(theirs):
        out.diffs[f"rotary_dim{tag}"] = f"ropedex {2 * len(ours)}, vLLM {side['rotary_dim']}"
    else:
        worst = max(range(len(ours)), key=lambda j: _rel(ours[j], theirs[j]))
        if _rel(ours[worst], theirs[worst]) > REL_TOL:
            out.diffs[f"inv_freq{tag}"] = (
                f"pair {worst}: ropedex {ours[worst]:.9g}, vLLM {theirs[worst]:.9g}"
            )
    if _rel(row["attention_scaling"], side["attention_scaling"]) > REL_TOL:
        out.diffs[f"attention_scaling{tag}"] = (
            f"ropedex {row['attention_scaling']:.7g}, vLLM {side['attention_scaling']:.7g}"
        )
    if _rel(row["softmax_multiplier"], side["softmax_multiplier"]) > REL_TOL:
        out.diffs[f"softmax_multiplier{tag}"] = (
            f"ropedex {row['softmax_multiplier']:.7g}, vLLM {side['softmax_multiplier']:.7g}"
        )
    if "factor_set" in side and row.get("factor_set") != side["factor_set"]:
        out.diffs[f"factor_set{tag}"] = (
            f"ropedex {row.get('factor_set')}, vLLM {side['factor_set']}"
        )


HANDWRITTEN = Path(__file__).parent / "data" / "vllm"


def handwritten_configs() -> dict[str, dict[str, Any]]:
    """Configs written for this test: vLLM scaling types and keys the corpus lacks (LongRoPE
    128k with and without short/long mscale, static NTK with and without mixed_b, dynamic NTK
    with max_trained_positions, DeepSeek-V3 with attention_factor 1.0, Qwen2 with dual-chunk
    attention, Command-R without model_max_length)."""
    return {
        f"handwritten/{path.stem}": ropedex_side.load(path)
        for path in sorted(HANDWRITTEN.glob("*.json"))
    }


@functools.cache
def outcomes() -> dict[str, Outcome]:
    configs = {name: ropedex_side.load(path) for name, path in corpus_configs()}
    configs.update(handwritten_configs())
    theirs = vllm_results(configs)
    return {n: compare(n, configs[n], theirs[n]) for n in configs}


@pytest.fixture(name="results", scope="module")
def results_fixture() -> dict[str, Outcome]:
    return outcomes()


def test_enough_configs_compared(results: dict[str, Outcome]) -> None:
    compared = [o for o in results.values() if o.compared]
    assert len(compared) >= MIN_COMPARED, len(compared)


def test_unbuilt_configs_carry_vllms_error(results: dict[str, Outcome]) -> None:
    for o in results.values():
        if "error" in o.vllm or "backend" in o.vllm:
            assert o.why_not and o.why_not.startswith("vLLM: "), o.name


def test_every_difference_is_allowed(results: dict[str, Outcome]) -> None:
    lines = allowed.unexpected(results.values(), ALLOWED, lambda o: o.vllm.get("architecture"))
    assert not lines, "\n".join(lines)


def test_allow_list_is_not_stale(results: dict[str, Outcome]) -> None:
    stale = allowed.stale(results, ALLOWED)
    assert not stale, stale


def test_handwritten_cases_are_compared(results: dict[str, Outcome]) -> None:
    hand = {n: o for n, o in results.items() if n.startswith("handwritten/")}
    assert len(hand) == 8
    for name, o in hand.items():
        assert o.compared, (name, o.why_not)


def test_vllm_facts_from_its_code(results: dict[str, Outcome]) -> None:
    """What vLLM's own code does on the cases the issue names (the oracle's reading)."""
    phi3 = results["handwritten/phi3-longrope-128k"].vllm
    assert phi3["served_context"] == 4096  # LongRoPE: max_model_len = original by default
    assert phi3["layers"]["default"]["factor_set"] == "short"
    cohere = results["CohereForAI/c4ai-command-r-v01"].vllm
    assert (cohere["served_context"], cohere["served_context_key"]) == (
        131072,
        "model_max_length",
    )
    v3 = results["deepseek-ai/DeepSeek-V3"].vllm["layers"]["default"]
    assert v3["call_site"] == "deepseek_v2.DeepseekV2MLAAttention"
    assert abs(v3["softmax_multiplier"] - 1.873854) < 1e-5


def test_vllm_scaling_types_are_exercised(results: dict[str, Outcome]) -> None:
    """The hand-written configs reach the vLLM classes and branches ropedex now models."""

    def layer(name: str) -> dict[str, Any]:
        o = results[f"handwritten/{name}"]
        assert o.compared and not o.diffs, (name, o.diffs)
        row: dict[str, Any] = o.vllm["layers"]["default"]
        return row

    assert layer("llama-ntk-x4")["class"] == "NTKScalingRotaryEmbedding"
    assert layer("llama-ntk-mixed-b")["class"] == "NTKScalingRotaryEmbedding"
    assert layer("llama-dynamic-max-trained")["class"] == "DynamicNTKScalingRotaryEmbedding"
    mscales = layer("phi3-longrope-mscales")
    assert (mscales["factor_set"], mscales["attention_scaling"]) == ("short", 1.1)
    assert layer("qwen2-dual-chunk")["class"] == "DualChunkRotaryEmbedding"
    dual = ropedex_side.rope_rows_for(handwritten_configs()["handwritten/qwen2-dual-chunk"], "vllm")
    assert any("dual-chunk" in note for note in dual[0]["notes"])
    llama_scaling = layer("deepseek-v3-attention-factor-1")
    assert llama_scaling["rope_type"] == "deepseek_llama_scaling"
    assert llama_scaling["softmax_multiplier"] == 1.0


def test_matrix_names_key_and_factor_set() -> None:
    configs = handwritten_configs()
    phi3 = ropedex_side.runtimes_for(configs["handwritten/phi3-longrope-128k"])["vllm"]
    assert phi3["factor_set"] == "short" and phi3["served_context"] == 4096
    assert phi3["served_context_key"].startswith("original_max_position_embeddings")
    cohere = ropedex_side.runtimes_for(configs["handwritten/cohere-no-model-max-length"])
    assert cohere["vllm"]["served_context_key"] == "max_position_embeddings"


def summary(results: dict[str, Outcome]) -> dict[str, int]:
    compared = [o for o in results.values() if o.compared]
    return {
        "configs": len(results),
        "built": sum("error" not in o.vllm for o in results.values()),
        "compared": len(compared),
        "agree": sum(not o.diffs for o in compared),
        "differ": sum(bool(o.diffs) for o in results.values()),
        "allowed": sum(o.name in ALLOWED for o in results.values()),
    }


def _main() -> None:
    import collections

    results = outcomes()
    print(summary(results))
    errors: collections.Counter[str] = collections.Counter()
    by_field: collections.Counter[str] = collections.Counter()
    for o in results.values():
        if o.why_not:
            errors[o.why_not[:100]] += 1
        by_field.update(k.split("[")[0] for k in o.diffs)
        if o.diffs:
            print(f"{o.name} [{o.vllm.get('architecture')}]")
            for k, v in o.diffs.items():
                print(f"    {k}: {v}")
    print(dict(by_field))
    for why, n in errors.most_common():
        print(f"{n:4d}  {why}")


if __name__ == "__main__":
    _main()
