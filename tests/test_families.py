"""One family normaliser over the whole corpus: no raw model-type fragments as families, and
repos of a borrowed architecture under their real family."""

from __future__ import annotations

import json
import re

from registry.families import _PREFIXES, family_of
from tests.conftest import corpus_configs

KNOWN = set(_PREFIXES.values())


def _whole_token_stem(family: str, model_type: str) -> bool:
    """`family` is `model_type` cut at a token boundary (`foo` of `foo_bar`, `foo-2`)."""
    name = model_type.strip().lower()
    if not name.startswith(family):
        return False
    rest = name[len(family) :]
    return rest == "" or rest[0] in "_-"


def test_no_corpus_family_is_a_fragment_of_its_model_type() -> None:
    bad = []
    for repo_id, path in corpus_configs():
        model_type = json.loads(path.read_text(encoding="utf-8")).get("model_type")
        if not isinstance(model_type, str) or not model_type:
            continue
        family = family_of(repo_id, model_type)
        assert family is not None
        if family in KNOWN:
            continue
        if not _whole_token_stem(family, model_type) or re.search(r"[_-]$", family):
            bad.append((repo_id, model_type, family))
    assert not bad, bad


def test_most_corpus_families_are_named_families() -> None:
    families = [
        family_of(repo_id, json.loads(path.read_text(encoding="utf-8")).get("model_type"))
        for repo_id, path in corpus_configs()
    ]
    named = sum(1 for f in families if f in KNOWN)
    assert named >= 0.85 * len(families), (named, len(families))


def test_borrowed_architectures_go_to_the_family_in_the_repo_name() -> None:
    assert family_of("nvidia/Kimi-K2-Thinking-NVFP4", "deepseek_v3") == "kimi"
    assert family_of("moonshotai/Moonlight-16B-A3B", "deepseek_v3") == "kimi"
    assert family_of("deepseek-ai/DeepSeek-V3", "deepseek_v3") == "deepseek"
    assert family_of("someone/llama-kimi-merge", "llama") == "llama"  # only borrowed ones
