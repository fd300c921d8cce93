"""The one set of number formatters shared by the CLI tables and the site (registry.formatting)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from registry.formatting import fmt_num, fmt_theta, fmt_tokens
from registry.queries import parse_context


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (131072, "128k"),
        (163840, "160k"),
        (32768, "32k"),
        (4096, "4k"),
        (1048576, "1M"),
        (3145728, "3M"),
        (1572864, "1,536k"),  # 1.5M is not a whole number of M: said in k, still exact
        (32768.0, "32k"),
        (100000, "100,000"),  # not a multiple of 1024: never rounded to "98k"
        (131073, "131,073"),
        (128000, "128,000"),  # a multiple of 1024 too, but people call it 128k: stays exact
        (512000, "512,000"),  # 500 x 1024, never "500k"
        (1024000, "1,024,000"),  # 1000 x 1024, never "1,000k"
        (1000, "1,000"),
        (512, "512"),
        (1024.5, "1,024.5"),
        (True, "yes"),
        (None, "—"),
    ],
)
def test_context_lengths_read_as_people_write_them(value: Any, text: str) -> None:
    assert fmt_tokens(value) == text


def test_missing_values_read_as_the_caller_asks() -> None:
    assert fmt_tokens(None, missing="") == fmt_num(None, missing="") == ""
    assert fmt_theta(None) == fmt_num("") == "—"


def test_every_context_text_reads_back_as_the_exact_length() -> None:
    """What the formatter prints, `parse_context` (the CLI's --min-context) reads as the same
    number: a short form never rounds."""
    rng = random.Random(11)
    values = [k * 1024 for k in range(1, 4097)] + [rng.randrange(1, 1 << 24) for _ in range(2000)]
    values += [m * 1000 for m in range(1, 2049)]
    for value in values:
        assert parse_context(fmt_tokens(value)) == value, (value, fmt_tokens(value))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10000.0, "1e4"),
        (500000, "5e5"),
        (1000000.0, "1e6"),
        (160000, "1.6e5"),
        (75000000, "7.5e7"),
        (1234567, "1,234,567"),  # too many digits to shorten honestly
        (8000, "8,000"),
        (None, "—"),
    ],
)
def test_rope_bases_read_as_people_write_them(value: Any, text: str) -> None:
    assert fmt_theta(value) == text
