"""Check messages write numbers the way the rest of the project does: rope bases as `1e6`, large
values with separators, no Python reprs (`None`, `1.0`), no empty ranges ("from 1 to 1")."""

from __future__ import annotations

import json
import re

import pytest

from registry.verify.verdict import verify_tag
from scrapers.tagger import tag_config
from tests.conftest import corpus_configs

# Corpus models whose messages once read "transformers serves None", "ratio falls monotonically
# from 1 to 1", "mscale 1.0 / mscale_all_dim None", "rope_theta 1e+06" or "3.10822e+06 at".
MODELS = (
    "arcee-ai/AFM-4.5B",
    "facebook/wav2vec2-conformer-rope-large",
    "OpenGVLab/InternVL3-8B-hf",
    "Qwen/Qwen-Audio",
    "google/gemma-4-E2B",
    "SmallDoge/Doge-160M",
    "Qwen/Qwen3-8B",
)
BAD = re.compile(r"\d[eE][+]\d|\bNone\b|\bnan\b|\d\.0\b|from (\S+) to \1$|\d\.\d{7,}")


@pytest.mark.parametrize("repo_id", MODELS)
def test_messages_format_numbers_like_the_rest(repo_id: str) -> None:
    path = next(p for r, p in corpus_configs() if r == repo_id)
    config = json.loads(path.read_text(encoding="utf-8"))
    verdict = verify_tag(tag_config(config), device="cpu", config=config)
    assert verdict.checks, repo_id
    bad = [(c.id, c.message) for c in verdict.checks if BAD.search(c.message)]
    assert not bad, bad


def test_large_non_integer_numbers_keep_separators() -> None:
    from registry.formatting import fmt_num, fmt_theta

    assert fmt_num(3108224.7) == "3,108,225"
    assert fmt_theta(1_000_000.0) == "1e6"
    assert fmt_theta(3108224.7) == "3,108,225"
