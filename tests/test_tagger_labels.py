"""Labelled corpus configs: expected tag and key numbers, decided from architecture semantics."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from scrapers.tagger import tag_config
from scrapers.tagger.vocabulary import TAGS
from tests.conftest import corpus_configs

LABELS = Path(__file__).parent / "data" / "tagger" / "labels.tsv"
FIELDS = (
    "position_encoding",
    "rope_theta",
    "rotary_dim",
    "scaling_type",
    "scaling_factor",
    "original_context",
    "declared_context",
    "effective_context",
)


def read_labels() -> list[dict[str, str]]:
    rows = []
    header: list[str] | None = None
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            continue
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


@cache
def corpus_by_id() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for repo_id, path in corpus_configs():
        out.setdefault(repo_id, path)
    return out


def model_type_of(repo_id: str) -> str:
    config = json.loads(corpus_by_id()[repo_id].read_text(encoding="utf-8"))
    return str(config.get("model_type"))


def matches(expected: str, actual: Any) -> bool:
    if expected == ".":
        return True
    if expected == "-":
        return actual is None
    if isinstance(actual, str) or actual is None:
        return expected == actual
    return math.isclose(float(expected), float(actual), rel_tol=1e-9)


LABEL_ROWS = read_labels()


@pytest.mark.parametrize("row", LABEL_ROWS, ids=[r["repo_id"] for r in LABEL_ROWS])
def test_labelled_config(row: dict[str, str]) -> None:
    path = corpus_by_id()[row["repo_id"]]
    result = tag_config(json.loads(path.read_text(encoding="utf-8")))
    got = result.to_dict()
    expected = dict(zip(FIELDS, [row[k] for k in list(row)[1:]], strict=True))
    wrong = {k: (v, got[k]) for k, v in expected.items() if not matches(v, got[k])}
    assert not wrong, f"{row['repo_id']}: field -> (expected, got): {wrong}"
    assert result.evidence, "a tag must come with the keys that decided it"


def test_label_set_is_broad() -> None:
    ids = [r["repo_id"] for r in LABEL_ROWS]
    assert len(ids) == len(set(ids)), "a repo is labelled twice"
    assert len(ids) >= 200
    types = {model_type_of(i) for i in ids}
    assert len(types) >= 120, f"only {len(types)} model types labelled"


def test_labels_cover_every_corpus_tag() -> None:
    labelled = {r["tag"] for r in LABEL_ROWS}
    assert labelled <= set(TAGS)
    seen = {
        tag_config(json.loads(p.read_text(encoding="utf-8"))).position_encoding
        for _, p in corpus_configs()
    }
    assert seen - labelled == set(), "a tag the corpus produces has no labelled example"


def resolve(config: Any, path: str) -> Any:
    node = config
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, (
            f"evidence path {path!r} is not in the config"
        )
        node = node[part]
    return node


def test_evidence_quotes_the_config_exactly() -> None:
    """Every evidence entry names a real key path and carries the value found there."""
    for repo_id, path in corpus_configs():
        config = json.loads(path.read_text(encoding="utf-8"))
        result = tag_config(config)
        for key, value in result.evidence.items():
            assert resolve(config, key) == value, f"{repo_id}: evidence {key} = {value!r}"
