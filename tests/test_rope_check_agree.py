"""`ropedex rope` and `ropedex check` report the same number for every quantity both show.

Over every corpus config and every convention: inverse frequencies, cos/sin factor, softmax
multiplier, logit multiplier, served context and whether scaling applies, for the layer type the
runtime matrix judges (the primary one). Both commands take these from one function
(`yarn_core.report.runtime_numbers`); this test keeps it that way.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from registry.verify.inputs import input_from_tag
from registry.verify.keys import primary_layer
from registry.verify.matrix import ROW_KEYS, runtime_matrix
from registry.verify.static import rope_layers
from scrapers.tagger import tag_config
from tests.conftest import corpus_configs
from tests.oracles.ropedex_side import load
from yarn_core.conventions import CONVENTIONS
from yarn_core.report import rope_rows

SHARED = ("attention_scaling", "softmax_multiplier", "logit_multiplier", "served_context")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _compare(config: dict[str, Any]) -> tuple[int, list[str]]:
    tag = tag_config(config)
    inp = input_from_tag(tag)
    layers = rope_layers(inp)
    if not layers:
        return 0, []
    primary = primary_layer(layers)
    matrix, _x1 = runtime_matrix(inp, layers)
    compared, problems = 0, []
    for conv in CONVENTIONS:
        rows = rope_rows(
            "c",
            tag.rope,
            layer_type=primary,
            convention=conv,
            model_type=tag.model_type,
            rope_block=tag.raw_rope or {},
            declared=tag.declared_context,
        )
        row, mat = rows[0], matrix[conv]
        if row["inv_freq"] is None:  # rope reports no numbers for it, only the reason
            assert row["reason"], f"{conv}: a row without frequencies must say why"
            continue
        compared += 1
        for key in SHARED:
            if not _same(row[key], mat[key]):
                problems.append(f"{conv}.{key}: rope {row[key]!r}, check {mat[key]!r}")
        if row["applies_scaling"] != mat["applies_scaling"]:
            problems.append(f"{conv}.applies_scaling differs")
        if row["factor"] != mat["factor"]:
            problems.append(f"{conv}.factor: rope {row['factor']!r}, check {mat['factor']!r}")
        if row["frequency_length"] != mat["frequency_length"]:
            problems.append(f"{conv}.frequency_length differs")
    return compared, problems


@pytest.mark.slow
def test_rope_and_check_agree_on_every_corpus_config() -> None:
    total, bad = 0, {}
    for repo_id, path in corpus_configs():
        compared, problems = _compare(load(path))
        total += compared
        if problems:
            bad[repo_id] = problems
    assert not bad, "\n".join(f"{r}: {'; '.join(p[:3])}" for r, p in list(bad.items())[:20])
    # 300+ corpus configs with RoPE x 7 conventions
    assert total >= 300 * len(CONVENTIONS) * 0.9, total


def test_deepseek_v3_softmax_multiplier_is_the_same_in_both() -> None:
    from tests.conftest import load_corpus_config

    config = load_corpus_config("deepseek-ai/DeepSeek-V3")
    compared, problems = _compare(config)
    assert compared == len(CONVENTIONS) and not problems
    tag = tag_config(config)
    row = rope_rows("c", tag.rope, convention="vllm", model_type=tag.model_type)[0]
    # m(40, 1)^2 = (0.1 ln 40 + 1)^2, DeepSeek-V3's factor 40 and mscale_all_dim 1.
    assert row["softmax_multiplier"] == pytest.approx((0.1 * math.log(40) + 1) ** 2)


def test_row_keys_are_in_rope_rows() -> None:
    tag = tag_config({"model_type": "llama", "rope_theta": 10000.0, "hidden_size": 64})
    row = rope_rows("c", tag.rope)[0]
    missing = [k for k in ROW_KEYS if k not in row]
    assert not missing
