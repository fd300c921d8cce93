"""A GGUF's rope metadata against its source config: what llama.cpp's converter would write.

The expected keys come from `yarn_core.gguf_keys.gguf_rope_keys` on the source config (the
llama.cpp runtime convention, checked against the real converter); the actual keys from the GGUF
header. Each difference is named, with its severity:

- fail: the rotation differs from the source (`rope.freq_base`, the scaling type, factor or
  original context), so llama.cpp computes other angles than the model was trained with;
- warn: the length or a YaRN knob differs, the architecture is not the source's, or the GGUF
  matches a source that lacks its family's published long-context block.

Fixes are the llama.cpp flags that restore the source's rotation at run time, and the
reconversion that writes it into the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from yarn_core.gguf_keys import ROPE_KEYS, gguf_arch, gguf_rope_keys

REL_TOL = 1e-6  # GGUF stores float32; ropedex computes in float64
FAIL_KEYS = frozenset(
    {
        "rope.freq_base",
        "rope.scaling.type",
        "rope.scaling.factor",
        "rope.scaling.original_context_length",
    }
)
_HUB_URL = re.compile(r"^https?://(?:www\.)?huggingface\.co/([\w.\-]+/[\w.\-]+?)/?$")

# Families whose configs ship without the YaRN block their model cards tell users to add
# ("Processing Long Texts" in the Qwen2.5-7B+-Instruct and Qwen3 model cards; llama.cpp's own
# advice in ggml-org/llama.cpp#10698): model_type -> (factor, original context).
FAMILY_YARN: dict[str, tuple[float, int]] = {
    "qwen2": (4.0, 32768),
    "qwen3": (4.0, 32768),
    "qwen3_moe": (4.0, 32768),
}


@dataclass(frozen=True)
class Source:
    """The config a GGUF was converted from, and how it was found."""

    name: str  # repo id or path
    how: str  # "same repo", "general.base_model", "card base_model", "given"
    config: dict[str, Any] | None
    error: str | None = None  # why it could not be read


@dataclass(frozen=True)
class Difference:
    key: str
    status: str  # warn | fail
    expected: Any
    actual: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
        }


@dataclass
class GGUFVerdict:
    verdict: str  # pass | warn | fail | n/a
    reason: str
    source: str | None = None
    source_how: str | None = None
    expected: dict[str, Any] = field(default_factory=dict)
    actual: dict[str, Any] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    runtimes: dict[str, Any] = field(default_factory=dict)  # the matrix, llama.cpp from the GGUF

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "source": self.source,
            "source_how": self.source_how,
            "expected": self.expected,
            "actual": self.actual,
            "differences": [d.to_dict() for d in self.differences],
            "fixes": self.fixes,
            "runtimes": self.runtimes,
        }


def lineage_repo(header: Any) -> str | None:
    """The Hub repo id the GGUF's first `general.base_model` names (by its repo_url)."""
    for base in header.lineage():
        match = _HUB_URL.match(str(base.get("repo_url", "")))
        if match:
            return match.group(1)
    return None


def card_base_model(card_data: dict[str, Any]) -> str | None:
    value = card_data.get("base_model")
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value.count("/") == 1 else None


def source_for(header: Any, repo: Any, options: Any) -> Source | None:
    """The source config: the same repo's config.json, then the GGUF's lineage, then the
    card's base_model (`repo` is a `scrapers.gguf.RemoteRepo`, None for a local file)."""
    candidates: list[tuple[str, str]] = []
    if repo is not None and "config.json" in repo.files:
        candidates.append((repo.repo_id, "same repo"))
    lineage = lineage_repo(header)
    if lineage is not None:
        candidates.append((lineage, "general.base_model"))
    card = card_base_model(repo.card_data) if repo is not None else None
    if card is not None:
        candidates.append((card, "card base_model"))
    error: Source | None = None
    for repo_id, how in candidates:
        found = _fetch_config(repo_id, how, options)
        if found.config is not None:
            return found
        error = error or found
    return error


def _fetch_config(repo_id: str, how: str, options: Any) -> Source:
    import json

    from scrapers.download import FetchFailed, Pacer, get_file, with_retries

    def attempt() -> Any:
        return get_file(
            repo_id,
            "config.json",
            revision="main",
            endpoint=options.endpoint,
            token=options.token,
            timeout=options.timeout,
            max_bytes=options.max_config_bytes,
        )

    try:
        fetched = with_retries(attempt, policy=options.retry, pacer=Pacer(), redact=options.redact)
        config = json.loads(fetched.raw)
    except FetchFailed as exc:
        return Source(repo_id, how, None, f"config.json of {repo_id}: {exc.reason}")
    except (ValueError, UnicodeDecodeError):
        return Source(repo_id, how, None, f"config.json of {repo_id} is not JSON")
    if not isinstance(config, dict):
        return Source(repo_id, how, None, f"config.json of {repo_id} is not an object")
    return Source(repo_id, how, config)


def check_gguf(header: Any, source: Source | None) -> GGUFVerdict:
    """Compare a GGUF header's rope keys with what the converter writes for `source`."""
    actual = {k: v for k, v in header.rope_keys().items() if k in ROPE_KEYS}
    if source is None:
        return GGUFVerdict("n/a", "no source config (no config.json, lineage or card base_model)")
    if source.config is None:
        return GGUFVerdict("n/a", f"source config unreadable: {source.error}", source.name)
    from registry.verify.inputs import input_from_tag
    from registry.verify.keys import primary_layer
    from registry.verify.static import rope_layers
    from scrapers.tagger import tag_config

    tag = tag_config(source.config)
    layers = rope_layers(input_from_tag(tag))
    out = GGUFVerdict("pass", "", source.name, source.how, actual=actual)
    if not layers:
        out.verdict, out.reason = (
            "n/a",
            f"the source has no rotary embedding ({tag.position_encoding})",
        )
        return out
    params = layers[primary_layer(layers)]
    arch = header.arch
    expected_arch = gguf_arch(tag.model_type)
    if expected_arch is not None and arch != expected_arch:
        out.differences.append(
            Difference(
                "general.architecture",
                "warn",
                expected_arch,
                arch,
                f"the converter writes {expected_arch} for model_type {tag.model_type}",
            )
        )
    expected = gguf_rope_keys(
        params,
        model_type=tag.model_type,
        config=source.config,
        rope_block=tag.raw_rope or {},
        arch=arch or expected_arch,
    )
    out.expected = expected
    for key in ROPE_KEYS:
        if key not in expected and key not in actual:
            continue
        want, got = expected.get(key), actual.get(key)
        if key in expected and key in actual and _same(want, got):
            continue
        status = "fail" if key in FAIL_KEYS else "warn"
        out.differences.append(Difference(key, status, want, got, _describe(key, want, got)))
    if params.rope_type == "llama3" and not _has_tensor(header, "rope_freqs"):
        # The converter writes Llama 3 scaling as the rope_freqs tensor, not as keys.
        out.differences.append(
            Difference(
                "rope_freqs.weight",
                "fail",
                "present",
                None,
                "the source's llama3 scaling lives in the rope_freqs tensor; this GGUF has none, "
                "so llama.cpp runs unscaled RoPE",
            )
        )
    wrong_rotation = any(d.status == "fail" for d in out.differences)
    if wrong_rotation:
        out.fixes = _fixes(expected, actual, source.name)
    elif "rope.scaling.type" not in expected:
        _family_advice(out, tag.model_type, expected, source.name)
    factors = _has_tensor(header, "rope_freqs") or _has_tensor(header, "rope_factors")
    keys = {**header.rope_keys(), **actual}
    out.runtimes = runtime_rows(input_from_tag(tag), layers, source.config, keys, factors)
    statuses = {d.status for d in out.differences}
    out.verdict = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    if out.verdict == "pass":
        out.reason = f"every rope key is what the converter writes for {source.name}"
    else:
        named = ", ".join(d.key for d in out.differences)
        out.reason = f"differs from what the converter writes for {source.name}: {named}"
    return out


def _has_tensor(header: Any, prefix: str) -> bool:
    return any(name.startswith(prefix) for name in getattr(header, "factor_tensors", ()))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return False
        return abs(a - b) <= REL_TOL * max(abs(a), abs(b))
    return bool(a == b)


def _describe(key: str, want: Any, got: Any) -> str:
    if got is None:
        return f"missing; the source gives {want!r}"
    if want is None:
        return f"{got!r} in the GGUF; the source gives none"
    return f"{got!r} in the GGUF; the source gives {want!r}"


def _long_context(keys: dict[str, Any]) -> int | None:
    """The length the scaling is built for: factor times the original (or written) context."""
    factor = keys.get("rope.scaling.factor")
    base = keys.get("rope.scaling.original_context_length") or keys.get("context_length")
    if not isinstance(factor, int | float) or not isinstance(base, int):
        return keys.get("context_length")
    return int(factor * base)


def llamacpp_flags(keys: dict[str, Any], actual: dict[str, Any]) -> str:
    """The llama.cpp run flags that make it use `keys`' rotation over a GGUF holding `actual`."""
    flags: list[str] = []
    theta = keys.get("rope.freq_base")
    if theta is not None and not _same(theta, actual.get("rope.freq_base")):
        flags.append(f"--rope-freq-base {_number(theta)}")
    kind = keys.get("rope.scaling.type")
    if kind in ("yarn", "linear"):
        flags.append(f"--rope-scaling {kind} --rope-scale {_number(keys['rope.scaling.factor'])}")
        original = keys.get("rope.scaling.original_context_length")
        if kind == "yarn" and original is not None:
            flags.append(f"--yarn-orig-ctx {original}")
    elif kind is None and actual.get("rope.scaling.type") not in (None, "none"):
        flags.append("--rope-scaling none")
    length = _long_context(keys)
    if length is not None:
        flags.append(f"-c {length}")
    return " ".join(flags)


def _number(value: float) -> str:
    """A flag value as llama.cpp's users write it: 1000000, 4, 0.5."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _fixes(expected: dict[str, Any], actual: dict[str, Any], source: str) -> list[str]:
    return [
        f"run llama.cpp with: {llamacpp_flags(expected, actual)}",
        f"or reconvert with convert_hf_to_gguf.py from the source config ({source})",
    ]


def _family_advice(
    out: GGUFVerdict, model_type: str | None, expected: dict[str, Any], source: str
) -> None:
    """A source without scaling whose family publishes a YaRN block for its long context."""
    advice = FAMILY_YARN.get(model_type or "")
    length = expected.get("context_length")
    if advice is None or not isinstance(length, int):
        return
    factor, original = advice
    if length > original * 1.25:  # the config already declares more than the trained context
        return
    target = {
        **expected,
        "rope.scaling.type": "yarn",
        "rope.scaling.factor": factor,
        "rope.scaling.original_context_length": original,
    }
    total = _long_context(target)
    out.differences.append(
        Difference(
            "rope.scaling.type",
            "warn",
            "yarn",
            None,
            f"{source} ships without the YaRN block its family's model card gives for "
            f"{total:,} tokens; the GGUF serves {length:,}",
        )
    )
    block = (
        f'{{"rope_type": "yarn", "factor": {_number(factor)}, '
        f'"original_max_position_embeddings": {original}}}'
    )
    out.fixes = [
        f"run llama.cpp with: {llamacpp_flags(target, out.actual)}",
        f'or add "rope_scaling": {block} to config.json and reconvert',
    ]


# conversion/deepseek.py (V4): the compressed layers' (ropedex's primary) base; rope.freq_base
# holds the window layers' one.
COMPRESS_BASE_KEY = "attention.compress_rope_freq_base"
# GGUF `rope.scaling.type` -> ropedex rope type (absent or "none": unscaled).
_GGUF_TYPES = {"yarn": "yarn", "linear": "linear", "longrope": "longrope"}


def params_from_gguf(
    params: Any,
    actual: dict[str, Any],
    factor_tensors: bool = False,
    rope_block: dict[str, Any] | None = None,
) -> Any:
    """The rope parameters llama.cpp runs from a GGUF's keys, over the source's layer shape
    (head and rotary dims, pairing, which no rope key of the GGUF overrides).

    Llama 3 and LongRoPE factors live in tensors (`rope_freqs`, `rope_factors_*`) whose data is
    never fetched: with `factor_tensors` the source's factors stand for them. A YaRN magnitude
    the source's `rope_block` does not write comes from the architecture's code (DeepSeek-V4)
    and is kept, as the runtime matrix assumes it."""
    from dataclasses import replace

    from yarn_core.conventions import LLAMACPP_DEFAULT_BASE

    kind = _GGUF_TYPES.get(str(actual.get("rope.scaling.type")), "default")
    if "rope.scaling.type" not in actual and params.rope_type == "longrope":
        kind = "longrope"  # Phi-3: the converter writes LongRoPE without a type
    theta = float(actual.get("rope.freq_base", LLAMACPP_DEFAULT_BASE))
    if isinstance(actual.get(COMPRESS_BASE_KEY), int | float):
        theta = float(actual[COMPRESS_BASE_KEY])  # DeepSeek-V4: the compressed layers' base
    length = actual.get("context_length", params.max_position_embeddings)
    if kind == "linear" and actual.get("rope.scaling.factor") == 1:
        kind = "default"  # BitNet's converter writes linear x1: no scaling
    if kind == "default" and (
        params.rope_type == "proportional"  # a layer shape (rope_freqs stops the pairs)
        or (factor_tensors and params.rope_type in ("llama3", "longrope"))
    ):
        return replace(params, theta=theta, max_position_embeddings=length)
    scaled = kind != "default"
    log_multiplier = actual.get("rope.scaling.yarn_log_multiplier")
    return replace(
        params,
        rope_type=kind,
        theta=theta,
        max_position_embeddings=length,
        factor=actual.get("rope.scaling.factor") if scaled else None,
        original_max_position_embeddings=actual.get("rope.scaling.original_context_length")
        if scaled
        else None,
        attention_factor=_yarn_magnitude(params, actual, rope_block) if kind == "yarn" else None,
        beta_fast=actual.get("rope.scaling.yarn_beta_fast") if kind == "yarn" else None,
        beta_slow=actual.get("rope.scaling.yarn_beta_slow") if kind == "yarn" else None,
        low_freq_factor=None,
        high_freq_factor=None,
        mscale=params.mscale if kind == "yarn" else None,
        mscale_all_dim=params.mscale_all_dim if kind == "yarn" and log_multiplier else None,
    )


def _yarn_magnitude(
    params: Any, actual: dict[str, Any], rope_block: dict[str, Any] | None
) -> float | None:
    written = rope_block or {}
    if "attention_factor" in written or "attn_factor" in written:
        value = actual.get("rope.scaling.yarn_attn_factor")
        return float(value) if isinstance(value, int | float) else None
    value = actual.get("rope.scaling.yarn_attn_factor", params.attention_factor)
    return float(value) if isinstance(value, int | float) else None


def runtime_rows(
    inp: Any,
    layers: dict[str, Any],
    config: dict[str, Any],
    actual: dict[str, Any],
    factor_tensors: bool = False,
) -> dict[str, Any]:
    """The source config's runtime matrix with the llama.cpp row computed from the GGUF's own
    metadata (`llama.cpp`) and the config's llama.cpp row kept as `llama.cpp (config)`."""
    from registry.verify.keys import primary_layer
    from registry.verify.matrix import ROW_KEYS, runtime_matrix
    from yarn_core.frequencies import UnsupportedRope
    from yarn_core.report import runtime_numbers

    rows, _agreement = runtime_matrix(inp, layers, config)
    raw = inp.raw_rope if isinstance(inp.raw_rope, dict) else {}
    params = params_from_gguf(layers[primary_layer(layers)], actual, factor_tensors, raw)
    block = {
        "rope_type": params.rope_type,
        "factor": params.factor,
        "original_max_position_embeddings": params.original_max_position_embeddings,
    }
    try:
        numbers = runtime_numbers(
            params,
            "llama.cpp",
            model_type=inp.model_type,
            rope_block=block,
            declared=params.max_position_embeddings,
        )
        row = {key: numbers.get(key) for key in ROW_KEYS}
        if "context_length" in actual:
            row["served_context_key"] = "context_length (GGUF)"
        row["notes"] = ["from the GGUF's metadata", *(numbers.get("notes") or [])]
    except (UnsupportedRope, ArithmeticError, ValueError, TypeError) as exc:
        row = dict.fromkeys(ROW_KEYS)
        row["notes"] = [f"cannot resolve the GGUF's metadata: {exc}"]
    out: dict[str, Any] = {name: value for name, value in rows.items() if name != "llama.cpp"}
    out["llama.cpp (config)"] = rows.get("llama.cpp")
    out["llama.cpp"] = row
    return out
