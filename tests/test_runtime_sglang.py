"""Differential test: ropedex's SGLang convention against SGLang's own code.

For every corpus config (and the hand-written cases in tests/data/sglang), SGLang 0.5.23's
`ModelConfig` derives the served context and the MLA softmax scaling, and the model class its
registry picks is built on the meta device while every `get_rope` call is recorded with the
real rotary object's cos/sin cache (`tests/oracles/sglang_oracle.py`). ropedex's side is
`ropedex rope --convention sglang` and the sglang row of `ropedex check`'s runtime matrix
(`tests/oracles/ropedex_side.py`). Compared per config: every rotary object SGLang builds
against ropedex's rows (inverse frequencies at 1e-6 relative, widened to float32 rounding of
SGLang's cache, and the cos/sin multiplier), the softmax multiplier, the served context and the
key it came from.

Every remaining difference is in `ALLOWED` with its reason (docs/verifier.md, "SGLang"). The
first run downloads the wheel (~39 MB) and runs SGLang on the corpus (minutes); later runs read
the cached result.

    .venv/bin/python -m tests.test_runtime_sglang     # print the agreement counts
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import corpus_configs
from tests.oracles import allowed, ropedex_side
from tests.oracles.sglang_oracle import sglang_results

REL_TOL = 1e-6
F32_EPS = 2.0**-24
MAGNITUDE_TOL = 1e-6  # the magnitude is a float32 cos/sin pair's norm: ~1e-7
MIN_COMPARED = 190  # configs SGLang builds with RoPE and ropedex computes (194 now)
PRIMARY_ORDER = ("full_attention", "default", "compress", "global", "main", "attention")

# Differences kept on purpose: corpus name -> (fields that differ, reason). Each is cited in
# docs/verifier.md ("SGLang").
_CLASS_DEFAULT = (
    "the text config writes none of SGLang's length keys; SGLang reads the default of "
    "transformers' config class (Qwen2Config 32768, BambaConfig 262144, ...), which ropedex "
    "does not model: it reports no served context rather than a guessed one"
)
_NO_KEY = frozenset({"served_context", "matrix_served_context"})
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    **{
        name: (_NO_KEY | {"served_context_key"}, _CLASS_DEFAULT)
        for name in (
            "mlx-community/aya-vision-8b-4bit",
            "ibm-ai-platform/Bamba-9B-1.8T",
            "tiiuae/falcon-180B-chat",
            "stepfun-ai/GOT-OCR-2.0-hf",
            "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
            "llava-hf/llava-onevision-qwen2-72b-ov-hf",
            "llava-hf/llava-onevision-qwen2-7b-ov-hf",
        )
    },
    # SGLang's own fallback 2048 (get_context_length), the config class having no length key.
    **dict.fromkeys(
        ("vidore/colpali-v1.3-hf", "facebook/wav2vec2-conformer-rope-large"),
        (_NO_KEY, _CLASS_DEFAULT),
    ),
}


@dataclass
class Outcome:
    name: str
    result: dict[str, Any]
    compared: bool = False
    diffs: dict[str, str] = field(default_factory=dict)
    why_not: str | None = None


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _freq_tol(theta: float) -> float:
    """SGLang builds inv_freq in float32: base ** (2j/d) is off by ~ln(base) float32 ulps."""
    return max(REL_TOL, 4 * F32_EPS * (1 + math.log(max(theta, math.e))))


def _primary(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    by_type = {r["layer_type"]: r for r in rows if r.get("inv_freq")}
    for name in PRIMARY_ORDER:
        if name in by_type:
            return by_type[name]
    return next(iter(by_type.values()), None)


def _cache_used(rope: dict[str, Any], context: int) -> dict[str, Any] | None:
    """The cache SGLang reads at its served context (LongRoPE: long beyond the original)."""
    caches = rope["caches"]
    if "long_cos_sin_cache" in caches:
        scaling = rope.get("rope_scaling") or {}
        original = (
            scaling.get("original_max_position_embeddings") if isinstance(scaling, dict) else None
        )
        key = "long_cos_sin_cache" if original and context > original else "short_cos_sin_cache"
        return caches.get(key)  # type: ignore[no-any-return]
    return caches.get("cos_sin_cache")  # type: ignore[no-any-return]


def _match(row: dict[str, Any], theirs: list[float]) -> float:
    """Worst relative frequency error over the tolerance (<= 1 matches)."""
    ours = row["inv_freq"]
    if len(ours) != len(theirs):
        return math.inf
    tol = _freq_tol(row["theta"])
    return max(_rel(a, b) for a, b in zip(ours, theirs, strict=True)) / tol


def compare(name: str, config: dict[str, Any], res: dict[str, Any]) -> Outcome:
    out = Outcome(name, res)
    if "error" in res:
        out.why_not = f"SGLang: {res['error']}"
        return out
    rows = [r for r in ropedex_side.rope_rows_for(config, "sglang") if r.get("inv_freq")]
    if not res.get("built"):
        # No model class: SGLang would run transformers' own modelling code (its Transformers
        # backend) or refuse the model; only what ModelConfig derives is SGLang's.
        out.why_not = f"model class not built: {res.get('build_error')}"
        if rows:
            out.diffs.update(_context_diffs(config, res, rows))
        return out
    ropes = [r for r in res.get("ropes", []) if _cache_used(r, res["context_len"])]
    if not ropes:
        if rows:
            out.diffs["rope"] = f"ropedex computes RoPE ({rows[0]['rope_type']}); SGLang's "
            out.diffs["rope"] += f"{res.get('arch')} makes no get_rope call"
        else:
            out.why_not = f"no RoPE in SGLang's {res.get('arch')} nor in ropedex"
        return out
    if not rows:
        reason = ropedex_side.rope_rows_for(config, "sglang")[0].get("reason")
        out.diffs["rope"] = f"SGLang builds {ropes[0]['class']}; ropedex: {reason}"
        return out
    out.compared = True
    used = [(rope, _cache_used(rope, res["context_len"]) or {}) for rope in ropes]
    for row in rows:
        scored = [(_match(row, _rotating(row, cache)), rope, cache) for rope, cache in used]
        score, rope, cache = min(scored, key=lambda t: t[0])
        where = row["layer_type"]
        if score > 1:
            theirs = _rotating(row, cache)
            if len(theirs) != len(row["inv_freq"]):
                out.diffs[f"rotary_dim:{where}"] = (
                    f"ropedex {2 * len(row['inv_freq'])}, SGLang {2 * len(theirs)} "
                    f"({rope['class']})"
                )
            else:
                j = max(range(len(theirs)), key=lambda i: _rel(row["inv_freq"][i], theirs[i]))
                out.diffs[f"inv_freq:{where}"] = (
                    f"pair {j}: ropedex {row['inv_freq'][j]:.9g}, SGLang {theirs[j]:.9g} "
                    f"({rope['class']})"
                )
            continue
        if _rel(row["attention_scaling"], cache["magnitude"]) > MAGNITUDE_TOL:
            out.diffs[f"attention_scaling:{where}"] = (
                f"ropedex {row['attention_scaling']:.7g}, SGLang {cache['magnitude']:.7g}"
            )
    out.diffs.update(_context_diffs(config, res, rows))
    return out


def _rotating(row: dict[str, Any], cache: dict[str, Any]) -> list[float]:
    """SGLang's angles, less trailing pairs that do not rotate (Gemma 4's proportional RoPE
    keeps them at frequency 0; ropedex lists only the rotating pairs)."""
    theirs: list[float] = cache["inv_freq"]
    n = len(row["inv_freq"])
    if len(theirs) > n and all(abs(t) < 1e-20 for t in theirs[n:]):
        return theirs[:n]
    return theirs


def _context_diffs(
    config: dict[str, Any], res: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, str]:
    """Softmax multiplier, served context and its key: what ModelConfig derives."""
    diffs: dict[str, str] = {}
    primary = _primary(rows) or rows[0]
    # Without the model class only an MLA ModelConfig's softmax scaling is SGLang's own.
    if (res.get("built") or res.get("mla")) and _rel(
        primary["softmax_multiplier"], res["softmax_multiplier"]
    ) > REL_TOL:
        diffs["softmax_multiplier"] = (
            f"ropedex {primary['softmax_multiplier']:.7g}, SGLang {res['softmax_multiplier']:.7g}"
        )
    if primary["served_context"] != res["context_len"]:
        diffs["served_context"] = (
            f"ropedex {primary['served_context']}, SGLang context_len {res['context_len']}"
        )
    matrix = ropedex_side.runtimes_for(config).get("sglang", {})
    if matrix.get("served_context") != res["context_len"]:
        diffs["matrix_served_context"] = (
            f"matrix {matrix.get('served_context')}, SGLang context_len {res['context_len']}"
        )
    key = str(matrix.get("served_context_key") or "").split(" x ")[0]
    if res.get("context_key") is not None and key != res["context_key"]:
        diffs["served_context_key"] = (
            f"matrix {matrix.get('served_context_key')!r}, SGLang read {res['context_key']!r}"
        )
    return diffs


HANDWRITTEN = Path(__file__).parent / "data" / "sglang"


def handwritten_configs() -> dict[str, dict[str, Any]]:
    """Configs written for this test: cases the corpus lacks (YaRN attn_factor and
    extrapolation_factor, YaRN with mRoPE, a max_sequence_length beside max_position_embeddings)."""
    return {
        f"handwritten/{path.stem}": ropedex_side.load(path)
        for path in sorted(HANDWRITTEN.glob("*.json"))
    }


@functools.cache
def outcomes() -> dict[str, Outcome]:
    configs = {name: ropedex_side.load(path) for name, path in corpus_configs()}
    configs.update(handwritten_configs())
    results = sglang_results(configs)
    return {n: compare(n, configs[n], results[n]) for n in configs}


@pytest.fixture(name="results", scope="module")
def results_fixture() -> dict[str, Outcome]:
    return outcomes()


def test_sglang_runs_on_the_corpus(results: dict[str, Outcome]) -> None:
    configured = [o for o in results.values() if "error" not in o.result]
    assert len(configured) >= 250
    built = [o for o in configured if o.result.get("built")]
    assert len(built) >= 200
    # A config SGLang cannot read is listed with SGLang's own error, a model class SGLang
    # cannot build with the error its construction raised.
    for o in results.values():
        if "error" in o.result:
            assert o.why_not and o.why_not.startswith("SGLang: "), o.name
        elif not o.result.get("built"):
            assert o.result.get("build_error"), o.name
            assert o.why_not == f"model class not built: {o.result['build_error']}", o.name


def test_enough_configs_compared(results: dict[str, Outcome]) -> None:
    compared = [o for o in results.values() if o.compared]
    assert len(compared) >= MIN_COMPARED, len(compared)


def test_every_difference_is_allowed(results: dict[str, Outcome]) -> None:
    lines = allowed.unexpected(results.values(), ALLOWED, lambda o: o.result.get("arch"))
    assert not lines, "\n".join(lines)


def test_allow_list_is_not_stale(results: dict[str, Outcome]) -> None:
    stale = allowed.stale(results, ALLOWED)
    assert not stale, stale


def test_handwritten_cases_are_compared(results: dict[str, Outcome]) -> None:
    hand = {n: o for n, o in results.items() if n.startswith("handwritten/")}
    assert len(hand) == 3
    for name, o in hand.items():
        assert o.compared and o.result.get("built"), (name, o.why_not)
        assert not o.diffs, (name, o.diffs)


def _rope(results: dict[str, Outcome], name: str) -> dict[str, Any]:
    (rope,) = results[name].result["ropes"]
    return rope  # type: ignore[no-any-return]


def test_sglang_facts_from_its_code(results: dict[str, Outcome]) -> None:
    """What SGLang's own code does on the cases issue 12 names (the oracle's reading)."""
    medgemma = results["google/medgemma-27b-it"].result
    assert medgemma["context_len"] == 131072
    command_r = results["CohereForAI/c4ai-command-r-v01"].result
    assert (command_r["context_len"], command_r["context_key"]) == (131072, "model_max_length")
    longer = results["handwritten/llama-max-sequence-length"].result
    assert (longer["context_len"], longer["context_key"]) == (16384, "max_sequence_length")
    v3 = results["deepseek-ai/DeepSeek-V3"].result
    assert abs(v3["softmax_multiplier"] - (0.1 * math.log(40) + 1) ** 2) < 1e-9
    knobs = _rope(results, "handwritten/qwen2-yarn-attn-extrapolation")
    magnitude = knobs["caches"]["cos_sin_cache"]["magnitude"]
    assert abs(magnitude - 0.8 * (0.1 * math.log(4) + 1)) < MAGNITUDE_TOL
    mrope = _rope(results, "handwritten/qwen2-5-vl-yarn-mrope")
    assert mrope["class"] == "YaRNScalingMRotaryEmbedding"


def test_gemma3_global_layers_drop_the_factor(results: dict[str, Outcome]) -> None:
    o = results["google/medgemma-27b-it"]
    if not o.result.get("built"):
        pytest.fail(f"SGLang's Gemma-3 class was not built: {o.result.get('build_error')}")
    bases = {rope["base"]: rope for rope in o.result["ropes"]}
    plain = 1.0 / 1e6 ** (2 / 128)
    assert abs(bases[1e6]["caches"]["cos_sin_cache"]["inv_freq"][1] / plain - 1) < 1e-6


def summary(results: dict[str, Outcome]) -> dict[str, int]:
    compared = [o for o in results.values() if o.compared]
    return {
        "configs": len(results),
        "configured": sum("error" not in o.result for o in results.values()),
        "built": sum(bool(o.result.get("built")) for o in results.values()),
        "compared": len(compared),
        "agree": sum(not o.diffs for o in compared),
        "differ": sum(bool(o.diffs) for o in results.values()),
    }


def _main() -> None:
    import collections

    results = outcomes()
    print(summary(results))
    by_field: collections.Counter[str] = collections.Counter()
    for o in results.values():
        by_field.update(k.split(":")[0] for k in o.diffs)
        if o.diffs:
            print(f"{o.name} [{o.result.get('arch')}]")
            for k, v in o.diffs.items():
                print(f"    {k}: {v}")
    print(dict(by_field))
    errors: collections.Counter[str] = collections.Counter(
        (o.why_not or "")[:90] for o in results.values() if o.why_not
    )
    for why, n in errors.most_common():
        print(f"{n:4d}  {why}")


if __name__ == "__main__":
    _main()
