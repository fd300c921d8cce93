"""What the verifier reads about one config, built from a tagger result or from stored facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from yarn_core.params import RopeParams

if TYPE_CHECKING:
    from registry.models import PositionFacts
    from scrapers.tagger.result import TagResult


DTYPES = {
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
}


@dataclass(frozen=True)
class VerifyInput:
    """Everything the verifier reads about one config (built from a tagger result)."""

    rope: dict[str, RopeParams | None]  # resolved parameters per layer type; None = NoPE
    raw_rope: dict[str, Any] | None = None  # the rope block exactly as the config wrote it
    raw_rope_path: str | None = None  # its key path, e.g. "text_config.rope_scaling"
    model_type: str | None = None
    torch_dtype: str | None = None
    declared_context: int | None = None  # max_position_embeddings (or alias)
    original_context: int | None = None  # trained, pre-extension context
    # Config facts outside the rope block, by key, e.g. a top-level
    # original_max_position_embeddings (Phi-3).
    extra_keys: dict[str, Any] = field(default_factory=dict)
    # Present values no runtime can use, as the config wrote them (key path -> value).
    invalid: dict[str, Any] = field(default_factory=dict)


def declared_dtype(torch_dtype: str | None) -> str:
    """The activation dtype the config declares (float32 when absent or unknown)."""
    return DTYPES.get(str(torch_dtype).lower(), "float32") if torch_dtype else "float32"


_EXTRA_KEYS = ("original_max_position_embeddings", "partial_rotary_factor")


def _extra_keys(evidence: dict[str, Any] | None) -> dict[str, Any]:
    """Config facts outside the rope block that the checks read, from the tagger's evidence."""
    out: dict[str, Any] = {}
    for path, value in (evidence or {}).items():
        key = str(path).rsplit(".", 1)[-1]
        if key in _EXTRA_KEYS:
            out[key] = value
    return out


def input_from_tag(tag: TagResult) -> VerifyInput:
    """The verifier's input for a fresh tagger result."""
    from registry.verify.inputs import VerifyInput

    return VerifyInput(
        rope=dict(tag.rope),
        raw_rope=tag.raw_rope,
        raw_rope_path=tag.raw_rope_path,
        model_type=tag.model_type,
        torch_dtype=tag.torch_dtype,
        declared_context=tag.declared_context,
        original_context=tag.original_context,
        extra_keys=_extra_keys(tag.evidence),
        invalid=dict(tag.invalid),
    )


def _rope_from_json(data: Any) -> dict[str, RopeParams | None]:
    from yarn_core.params import RopeParams

    if not isinstance(data, dict):
        return {}
    return {
        str(k): (RopeParams.from_dict(v) if isinstance(v, dict) else None) for k, v in data.items()
    }


def input_from_facts(facts: PositionFacts) -> VerifyInput:
    """The verifier's input rebuilt from stored facts (no config text needed)."""
    from registry.verify.inputs import VerifyInput

    details = facts.details or {}
    raw = details.get("raw_rope")
    return VerifyInput(
        rope=_rope_from_json(facts.rope_parameters),
        raw_rope=raw if isinstance(raw, dict) else None,
        raw_rope_path=_str_or_none(details.get("raw_rope_path")),
        model_type=_str_or_none(details.get("model_type")),
        torch_dtype=facts.torch_dtype,
        declared_context=facts.declared_context,
        original_context=facts.original_context,
        extra_keys=_extra_keys(facts.evidence),
        invalid=dict(details.get("invalid") or {}),
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
