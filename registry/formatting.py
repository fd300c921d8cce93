"""Numbers as people read them, shared by the CLI tables and the static site.

Each formatter takes any stored value and returns text; a missing value reads as `missing`
('—' on the site, '' in CLI tables). Context lengths, rope bases and verifier numbers each have
one rule, written here once.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "—"


def fmt_num(value: Any, missing: str = MISSING) -> str:
    """Numbers as people compare them: 131072 -> '131,072', 0.1 -> '0.1'; None -> `missing`."""
    if value is None or value == "":
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if 1e6 <= abs(value) < 1e15:  # '3,108,225', never '3.10822e+06'
            return f"{round(value):,}"
        return f"{value:,.6g}"
    return str(value)


def _integral(value: Any) -> int | None:
    """`value` as an int when it is a whole number (bool excluded), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value)


def fmt_tokens(value: Any, missing: str = MISSING) -> str:
    """A context length as people say it: 131072 -> '128k', 1048576 -> '1M', 32768 -> '32k'.

    Only multiples of 1024 are shortened, so '128k' always means 131,072 and '1M' 1,048,576.
    Round decimal lengths stay exact with separators ('128,000' and '512,000', never '125k' or
    '500k'), as does anything else ('131,073'). Pages put the exact value in a `title` beside it.
    """
    n = _integral(value)
    if n is None or n < 1024 or n % 1024 or n % 1000 == 0:
        return fmt_num(value, missing)
    k = n // 1024
    return f"{k // 1024:,}M" if k % 1024 == 0 else f"{k:,}k"


def fmt_theta(value: Any, missing: str = MISSING) -> str:
    """A rope base as people write it: 10000 -> '1e4', 500000 -> '5e5', 1.6e5 -> '1.6e5'.

    Bases from 10,000 up with at most three significant digits; anything else as `fmt_num`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return fmt_num(value, missing)
    v = float(value)
    if not math.isfinite(v) or v < 1e4:
        return fmt_num(value, missing)
    exponent = math.floor(math.log10(v))
    mantissa = float(f"{v / 10**exponent:.3g}")
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    if abs(mantissa * 10**exponent - v) > 1e-9 * v:
        return fmt_num(value, missing)
    return f"{mantissa:g}e{exponent}"


def fmt_value(value: Any, digits: int = 4) -> str:
    """A verifier number or list for people: floats to `digits` significant figures, whole
    numbers with separators, lists comma-separated, dicts as 'key: value' pairs."""
    if isinstance(value, float) and math.isfinite(value):
        if not (value.is_integer() and abs(value) < 1e15):
            return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v, digits) for v in value) if value else "none"
    if isinstance(value, dict):
        if not value:
            return "none"
        return "; ".join(f"{k}: {fmt_value(v, digits)}" for k, v in sorted(value.items()))
    if value == "":
        return ""
    return fmt_num(value)  # None, booleans, whole numbers, non-finite floats, text
