"""Differential test: ropedex's llama.cpp convention against llama.cpp's own code.

For every corpus config, llama.cpp's converter (vendored in llama-cpp-python 0.3.36) writes its
GGUF metadata with no weights, the metadata is read the way llama.cpp's loader and context read
it, and ggml's own rope functions, compiled into a tiny harness, give the angles and the cos/sin
magnitude (`tests/oracles/llamacpp_oracle.py`). ropedex's side is `ropedex rope --convention
llama.cpp` and the llama.cpp row of `ropedex check`'s runtime matrix
(`tests/oracles/ropedex_side.py`), plus `yarn_core.gguf_keys`, what ropedex says the converter
writes. Compared per config: the inverse frequencies (1e-6 relative, widened to ggml's float32
accumulation where that is the cause), the cos/sin multiplier and the softmax (kq) multiplier
(float32 tolerance: llama.cpp computes them in float32), the served context (the GGUF
`context_length`) and the rope keys of the GGUF, key by key.

Every remaining difference is in `ALLOWED` with its reason (docs/verifier.md, "llama.cpp").
The first run downloads the sdist (~77 MB) and compiles the harness; later runs reuse the cache.

    .venv/bin/python -m tests.test_runtime_llamacpp     # print the agreement counts
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
from tests.oracles.llamacpp_oracle import (
    Conversion,
    LlamaCppSide,
    converter_metadata,
    run_sides,
)

REL_TOL = 1e-6
F32_EPS = 2.0**-24  # one float32 rounding
MAGNITUDE_TOL = 1e-5  # ggml and llama-context compute magnitudes in float32
MIN_COMPARED = 150  # configs llama.cpp converts with RoPE and ropedex computes
PRIMARY_ORDER = ("full_attention", "default", "compress", "global", "main", "attention")

# Differences kept on purpose: corpus name -> (fields that differ, reason). Each is cited in
# docs/verifier.md ("llama.cpp").
_AUTOCONFIG_DEFAULT = (
    "the config writes no max_position_embeddings; the converter reads it through "
    "transformers' AutoConfig, whose Qwen2Config default 32768 becomes context_length"
)
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    **{
        name: (
            frozenset({"served_context", "matrix_served_context", "gguf:context_length"}),
            _AUTOCONFIG_DEFAULT,
        )
        for name in (
            "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
            "llava-hf/llava-onevision-qwen2-72b-ov-hf",
            "llava-hf/llava-onevision-qwen2-7b-ov-hf",
        )
    },
    "AIDC-AI/Ovis2-16B": (frozenset({"gguf:context_length"}), _AUTOCONFIG_DEFAULT),
}


@dataclass
class Outcome:
    name: str
    conversion: Conversion
    side: LlamaCppSide | None = None
    compared: bool = False
    diffs: dict[str, str] = field(default_factory=dict)
    why_not: str | None = None


def _primary(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    by_type = {r["layer_type"]: r for r in rows if r.get("inv_freq")}
    for name in PRIMARY_ORDER:
        if name in by_type:
            return by_type[name]
    return next(iter(by_type.values()), None)


def _freq_tol(pair: int) -> float:
    """ggml builds theta_j by j float32 multiplications by powf(base, -2/n_dims)."""
    return max(REL_TOL, (2 * pair + 4) * F32_EPS)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def compare(
    name: str, config: dict[str, Any], conv: Conversion, side: LlamaCppSide | None
) -> Outcome:
    out = Outcome(name, conv, side)
    if conv.error is not None:
        out.why_not = f"converter: {conv.error}"
        return out
    rows = ropedex_side.rope_rows_for(config, "llama.cpp")
    row = _primary(rows)
    if side is None:
        out.why_not = f"converter wrote no context/head metadata for {conv.arch}"
        return out
    if side.no_rope is not None:
        if row is not None:
            out.diffs["rope"] = f"ropedex computes RoPE ({row['rope_type']}); {side.no_rope}"
        else:
            out.why_not = side.no_rope
        return out
    if row is None:
        reason = rows[0].get("reason") if rows else None
        out.diffs["rope"] = f"llama.cpp runs RoPE ({side.arch}); ropedex: {reason}"
        return out
    out.compared = True
    ours = row["inv_freq"]
    theirs = side.inv_freq
    # Pairs a freq factor stops (Gemma 4's proportional RoPE: rope_freqs 1e30) do not rotate;
    # ropedex lists only the rotating pairs.
    if len(theirs) > len(ours) and all(t < 1e-20 for t in theirs[len(ours) :]):
        theirs = theirs[: len(ours)]
    if len(ours) != len(theirs):
        out.diffs["rotary_dim"] = f"ropedex {2 * len(ours)}, llama.cpp {side.n_dims}"
    else:
        worst = max(range(len(ours)), key=lambda j: _rel(ours[j], theirs[j]) / _freq_tol(j))
        if _rel(ours[worst], theirs[worst]) > _freq_tol(worst):
            out.diffs["inv_freq"] = (
                f"pair {worst}: ropedex {ours[worst]:.9g}, ggml {theirs[worst]:.9g}"
            )
    if _rel(row["attention_scaling"], side.attention_scaling) > MAGNITUDE_TOL:
        out.diffs["attention_scaling"] = (
            f"ropedex {row['attention_scaling']:.7g}, ggml {side.attention_scaling:.7g}"
        )
    if _rel(row["softmax_multiplier"], side.softmax_multiplier) > MAGNITUDE_TOL:
        out.diffs["softmax_multiplier"] = (
            f"ropedex {row['softmax_multiplier']:.7g}, llama.cpp kq {side.softmax_multiplier:.7g}"
        )
    if row["served_context"] != side.served_context:
        out.diffs["served_context"] = (
            f"ropedex {row['served_context']}, GGUF context_length {side.served_context}"
        )
    out.diffs.update(_gguf_key_diffs(config, conv))
    matrix = ropedex_side.runtimes_for(config).get("llama.cpp", {})
    if matrix.get("served_context") != side.served_context:
        out.diffs["matrix_served_context"] = (
            f"matrix {matrix.get('served_context')}, GGUF context_length {side.served_context}"
        )
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return _rel(float(a), float(b)) <= REL_TOL
    return bool(a == b)


def _gguf_key_diffs(config: dict[str, Any], conv: Conversion) -> dict[str, str]:
    """`yarn_core.gguf_keys` against the keys the real converter wrote, key by key."""
    from yarn_core.gguf_keys import ROPE_KEYS, gguf_rope_keys

    result = ropedex_side.tag(config)
    layers = {k: v for k, v in result.rope.items() if v is not None}
    if not layers:
        return {}
    primary = next((layers[n] for n in PRIMARY_ORDER if n in layers), next(iter(layers.values())))
    diffs: dict[str, str] = {}
    ours = gguf_rope_keys(
        primary,
        model_type=result.model_type,
        config=config,
        rope_block=result.raw_rope or {},
        arch=conv.arch,
    )
    theirs = {key: conv.get(key) for key in ROPE_KEYS if conv.get(key) is not None}
    for key in ROPE_KEYS:
        if key in ours or key in theirs:
            if not (key in ours and key in theirs and _same(ours[key], theirs[key])):
                diffs[f"gguf:{key}"] = f"ropedex {ours.get(key)!r}, converter {theirs.get(key)!r}"
    return diffs


HANDWRITTEN = Path(__file__).parent / "data" / "llamacpp"


def handwritten_configs() -> dict[str, dict[str, Any]]:
    """Configs written for this test: cases the corpus lacks (LongRoPE 128k, stable-code's
    1e6 base, YaRN with betas and attention_factor, linear, Command-R without model_max_length)."""
    return {
        f"handwritten/{path.stem}": ropedex_side.load(path)
        for path in sorted(HANDWRITTEN.glob("*.json"))
    }


@functools.cache
def outcomes() -> dict[str, Outcome]:
    configs = {name: ropedex_side.load(path) for name, path in corpus_configs()}
    configs.update(handwritten_configs())
    convs = converter_metadata(configs)
    sides = run_sides(convs)
    return {n: compare(n, configs[n], convs[n], sides.get(n)) for n in configs}


@pytest.fixture(name="results", scope="module")
def results_fixture() -> dict[str, Outcome]:
    return outcomes()


def test_converter_runs_on_the_corpus(results: dict[str, Outcome]) -> None:
    converted = [o for o in results.values() if o.conversion.error is None]
    assert len(converted) >= 300
    for o in converted:
        assert o.conversion.arch, o.name
        has_ctx = f"{o.conversion.arch}.context_length" in o.conversion.kv
        assert o.side is None or has_ctx, o.name
    # A config llama.cpp cannot convert is listed with the converter's own error.
    for o in results.values():
        if o.conversion.error is not None:
            assert o.why_not and o.why_not.startswith("converter: "), o.name


def test_enough_configs_compared(results: dict[str, Outcome]) -> None:
    compared = [o for o in results.values() if o.compared]
    assert len(compared) >= MIN_COMPARED, len(compared)


def test_every_difference_is_allowed(results: dict[str, Outcome]) -> None:
    lines = allowed.unexpected(results.values(), ALLOWED, lambda o: o.conversion.arch)
    assert not lines, "\n".join(lines)


def test_allow_list_is_not_stale(results: dict[str, Outcome]) -> None:
    stale = allowed.stale(results, ALLOWED)
    assert not stale, stale


def test_handwritten_cases_are_compared(results: dict[str, Outcome]) -> None:
    hand = {n: o for n, o in results.items() if n.startswith("handwritten/")}
    assert len(hand) == 5
    for name, o in hand.items():
        assert o.compared and o.side is not None, (name, o.why_not)


def test_llamacpp_facts_from_its_code(results: dict[str, Outcome]) -> None:
    """What the real converter + loader do on the hand-written cases (the oracle's reading)."""
    side = {n.removeprefix("handwritten/"): o.side for n, o in results.items() if o.side}
    phi3 = side["phi3-longrope-128k"]
    assert phi3.factor_set == "long" and phi3.served_context == 131072
    stable = side["stablelm-theta-1e6"]
    assert stable.freq_base == 10000.0  # conversion/stablelm.py writes no rope.freq_base
    qwen = side["qwen2-yarn-betas-attention-factor"]
    assert (qwen.request.beta_fast, qwen.request.beta_slow) == (32.0, 1.0)
    assert abs(qwen.attention_scaling - (0.1 * math.log(4.0) + 1)) < MAGNITUDE_TOL
    assert side["cohere-no-model-max-length"].served_context == 8192


def test_notes_say_what_llamacpp_does() -> None:
    configs = handwritten_configs()
    stable = ropedex_side.rope_rows_for(configs["handwritten/stablelm-theta-1e6"], "llama.cpp")
    assert any("runs base 10000, not 1e+06" in n for n in stable[0]["notes"])
    qwen = ropedex_side.rope_rows_for(
        configs["handwritten/qwen2-yarn-betas-attention-factor"], "llama.cpp"
    )
    assert any("it ramps with 32/1" in n for n in qwen[0]["notes"])
    rows = ropedex_side.runtimes_for(configs["handwritten/cohere-no-model-max-length"])
    assert rows["llama.cpp"]["served_context_key"] == "max_position_embeddings"


def summary(results: dict[str, Outcome]) -> dict[str, int]:
    compared = [o for o in results.values() if o.compared]
    return {
        "configs": len(results),
        "converted": sum(o.conversion.error is None for o in results.values()),
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
        by_field.update(list(o.diffs))
        if o.diffs:
            print(f"{o.name} [{o.conversion.arch}]")
            for k, v in o.diffs.items():
                print(f"    {k}: {v}")
    print(dict(by_field))


if __name__ == "__main__":
    _main()
