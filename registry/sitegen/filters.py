"""The site's one Jinja environment and the text filters its templates use.

The number formatters live in `registry.formatting` (shared with the CLI); this module adds the
site-only ones (times, JSON text, dotted keys) and registers them all as filters.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.formatting import fmt_num, fmt_theta, fmt_tokens

if TYPE_CHECKING:
    from jinja2 import Environment

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9+._-]{0,79}$")  # tags and family keys used as file names


def fmt_stamp(value: Any) -> str:
    """An ISO time as '2026-11-29 11:33 UTC' (other text is returned as is)."""
    text = str(value or "")
    match = re.match(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(:\d\d(\.\d+)?)?(\+00:00|Z)$", text)
    return f"{match.group(1)} {match.group(2)} UTC" if match else text


def flatten(value: Any, prefix: str = "", *, keep_empty: bool = False) -> list[tuple[str, Any]]:
    """Nested dicts as (dotted key, leaf value) pairs in their own order; lists stay whole. None
    leaves and empty dicts are left out unless `keep_empty` (evidence: a null key is a fact)."""
    if not isinstance(value, dict) or (keep_empty and prefix and not value):
        return [] if value is None and not keep_empty else [(prefix, value)]
    out: list[tuple[str, Any]] = []
    for key in value:
        name = f"{prefix}.{key}" if prefix else str(key)
        out += flatten(value[key], name, keep_empty=keep_empty)
    return out


def fmt_json(value: Any) -> str:
    """A stored value as compact, stable JSON text (for attribute and evidence tables)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def make_environment(site_dir: Path) -> Environment:
    """The one Jinja environment: autoescape on, undefined names fatal, sorted and trimmed."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(site_dir / "templates")),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_num
    env.filters["tokens"] = fmt_tokens
    env.filters["theta"] = fmt_theta
    env.filters["stamp"] = fmt_stamp
    env.filters["as_json"] = fmt_json
    env.tests["page_key"] = lambda value: isinstance(value, str) and bool(KEY_RE.match(value))
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": True}
    return env
