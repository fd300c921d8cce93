"""Facts rows from tagger results, and the field-by-field difference between two of them.

In the derived facts a non-finite number becomes NULL in a numeric column and the text "NaN" /
"Infinity" inside JSON columns (which must stay valid JSON for sqlite3 and Datasette), and the
facts carry a warning saying so."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from registry.models import PositionFacts

if TYPE_CHECKING:
    from scrapers.tagger.result import TagResult

    Tagger = Callable[[dict[str, Any]], TagResult]


NONFINITE_WARNING = "config contains NaN/Infinity literals; stored as NULL or text in the facts"


# TagResult fields that are never written as Change rows (hashes, provenance, prose).
_NOT_DIFFED = {
    "tagger_version",
    "evidence",
    "warnings",
    "reason",
    "rope_fingerprint",
    "verify_fingerprint",
    "raw_rope",
    "raw_rope_path",
    "source_of_truth",
}


_FACT_COLUMNS = set(PositionFacts.model_fields) - {"id", "snapshot_id", "details"}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def facts_from_tag(tag: TagResult, *, nonfinite: bool = False) -> dict[str, Any]:
    """PositionFacts column values for a tag result: columns where they exist, `details` for
    every other field, so nothing the tagger says is lost."""
    from scrapers.tagger.result import TAGGER_VERSION

    data = tag.to_dict()
    values: dict[str, Any] = {"tagger_version": TAGGER_VERSION, "details": {}}
    for key, value in data.items():
        if key in _FACT_COLUMNS:
            is_json = isinstance(value, dict | list | tuple)
            values[key] = _json_safe(value) if is_json else _scalar(value)
        else:
            values["details"][key] = _json_safe(value)
    if nonfinite:
        values["warnings"] = [*(values.get("warnings") or []), NONFINITE_WARNING]
    return values


def fact_paths(values: dict[str, Any]) -> dict[str, str]:
    """Flatten facts into field path -> JSON text (`rope_parameters.default.factor`); nulls left
    out, so a missing key and a null compare equal."""
    out: dict[str, str] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                walk(f"{path}.{key}", value[key])
        elif value is not None and value != {}:
            out[path] = json.dumps(value, sort_keys=True)

    for key, value in values.items():
        if key in ("id", "snapshot_id") or key in _NOT_DIFFED:
            continue
        if key == "details":
            for sub, sub_value in (value or {}).items():
                if sub not in _NOT_DIFFED:
                    walk(sub, sub_value)
        else:
            walk(key, value)
    return out


def diff_facts(
    old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[str, str | None, str | None]]:
    """(field path, old JSON, new JSON) for every fact that differs, sorted by path."""
    before, after = fact_paths(old), fact_paths(new)
    paths = sorted(set(before) | set(after))
    return [(p, before.get(p), after.get(p)) for p in paths if before.get(p) != after.get(p)]
