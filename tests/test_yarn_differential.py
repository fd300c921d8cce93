"""Differential test: yarn_core against transformers on every corpus config it can build.

For each config, transformers builds its own config object and the model's own text rotary
embedding class (no weights); yarn_core computes from the tagger's RopeParams. Inverse
frequencies must agree within 1e-6 relative and attention scaling within 1e-9, per layer type.

Run as a script to print the Markdown list of configs transformers cannot build (the source of
the table in docs/yarn_core.md):

    .venv/bin/python -m tests.test_yarn_differential
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import corpus_configs

REL_TOL = 1e-6
SCALING_TOL = 1e-9
_SKIP_CLASS_WORDS = ("Vision", "Audio", "Visual", "Speech", "Image", "Video")


@dataclass
class Reference:
    """What transformers computes for one config: per layer type, (inv_freq, attention scaling)."""

    layers: dict[str, tuple[list[float], float]] = field(default_factory=dict)
    reason: str | None = None  # why transformers could not build it
    rotary_class: str | None = None


def _quiet() -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")


def _rotary_classes(model_type: str) -> list[Any]:
    from transformers.models.auto.configuration_auto import model_type_to_module_name

    name = model_type_to_module_name(model_type)
    module = importlib.import_module(f"transformers.models.{name}.modeling_{name}")
    found = [
        obj
        for attr, obj in vars(module).items()
        if attr.endswith("RotaryEmbedding")
        and inspect.isclass(obj)
        and obj.__module__ == module.__name__
        and not any(word in attr for word in _SKIP_CLASS_WORDS)
    ]
    return sorted(found, key=lambda cls: ("Text" not in cls.__name__, cls.__name__))


def _buffers(module: Any) -> dict[str, tuple[list[float], float]]:
    """Per-layer-type buffers (`{lt}_inv_freq`) or the single `inv_freq` (key "default")."""
    out: dict[str, tuple[list[float], float]] = {}
    for name, buf in module.named_buffers():
        if name.endswith("original_inv_freq"):
            continue
        if name == "inv_freq":
            out["default"] = (buf.double().tolist(), float(module.attention_scaling))
        elif name.endswith("_inv_freq"):
            lt = name[: -len("_inv_freq")]
            out[lt] = (buf.double().tolist(), float(getattr(module, f"{lt}_attention_scaling")))
    return out


def hf_reference(config: dict[str, Any]) -> Reference:
    """Build transformers' config and its text rotary embedding for one config.json dict."""
    _quiet()
    from transformers import AutoConfig

    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        return Reference(reason="no model_type")
    try:
        kwargs = {k: v for k, v in config.items() if k != "model_type"}
        hf_config = AutoConfig.for_model(model_type, **kwargs)
    except Exception as exc:  # transformers' own failure is the finding
        return Reference(reason=f"config: {_short(exc)}")
    text = hf_config.get_text_config(decoder=True)
    pe_type = getattr(text, "position_embedding_type", None)
    if pe_type == "nope":
        return Reference(
            reason=f"model uses no rotary embedding (position_embedding_type={pe_type})"
        )
    classes: list[Any] = []
    missing = None
    for owner in dict.fromkeys((getattr(text, "model_type", None), model_type)):
        if not isinstance(owner, str) or not owner:
            continue
        try:
            classes += _rotary_classes(owner)
        except Exception as exc:
            missing = f"no modelling module: {_short(exc)}"
    if not classes and missing:
        return Reference(reason=missing)
    if not classes:
        return Reference(reason="no text rotary embedding class (not a RoPE model in transformers)")
    errors = []
    for cls in classes:
        try:
            module = cls(text)
        except Exception as exc:
            errors.append(f"{cls.__name__}: {_short(exc)}")
            continue
        layers = _buffers(module)
        if layers:
            return Reference(layers=layers, rotary_class=cls.__name__)
    return Reference(
        reason="; ".join(errors) or "rotary class keeps a position table, no inv_freq to compare"
    )


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if "Should contain one of" in text:  # the list of every known type adds nothing
        text = text.split(". Should contain one of")[0] + " (not in transformers; remote code)"
    return f"{type(exc).__name__}: {text[:140]}"


@functools.cache
def corpus_cases() -> list[tuple[str, str]]:
    """(repo id, path) of every corpus config, as strings for stable test ids."""
    return [(repo, str(path)) for repo, path in corpus_configs()]


@functools.cache
def _reference_for(path: str) -> Reference:
    return hf_reference(json.loads(Path(path).read_text(encoding="utf-8")))


def compare(path: str) -> list[str]:
    """Mismatches between yarn_core and transformers for one config (empty when they agree)."""
    from scrapers.tagger import tag_config
    from yarn_core.conventions import resolve
    from yarn_core.frequencies import inverse_frequencies

    ref = _reference_for(path)
    if ref.reason is not None:
        return []
    tagged = tag_config(json.loads(Path(path).read_text(encoding="utf-8")))
    ours = {lt: p for lt, p in tagged.rope.items() if p is not None}
    problems = []
    if not ours:
        return [f"transformers builds {ref.rotary_class} but the tagger found no RoPE"]
    for lt, (hf_freq, hf_scaling) in ref.layers.items():
        params = ours.get(lt) or (next(iter(ours.values())) if len(ours) == 1 else None)
        if params is None:
            problems.append(f"{lt}: no tagged parameters (have {sorted(ours)})")
            continue
        mine = inverse_frequencies(params)
        if params.rope_type == "proportional":  # transformers pads the non-rotating pairs
            hf_freq, tail = hf_freq[: len(mine)], hf_freq[len(mine) :]
            if any(v != 0.0 for v in tail):
                problems.append(f"{lt}: transformers rotates pairs beyond rotary_dim/2")
        if len(mine) != len(hf_freq):
            problems.append(f"{lt}: {len(mine)} pairs vs transformers {len(hf_freq)}")
            continue
        worst = max(abs(a - b) / abs(b) for a, b in zip(mine, hf_freq, strict=True) if b)
        if worst > REL_TOL:
            problems.append(f"{lt}: inv_freq off by {worst:.3g} relative ({params.rope_type})")
        scaling = resolve(params).attention_scaling
        if abs(scaling - hf_scaling) > SCALING_TOL * max(1.0, abs(hf_scaling)):
            problems.append(f"{lt}: attention scaling {scaling!r} vs transformers {hf_scaling!r}")
    return problems


# Configs where transformers and the tagged parameters are known to differ on one layer type,
# with the reason; every other layer type of these configs must still agree.
KNOWN_DIVERGENCES: dict[str, tuple[str, str]] = {
    "adept/fuyu-8b": (
        "default",
        "transformers builds Fuyu's text model from the nested text_config (Persimmon defaults, "
        "theta 10000) and ignores the wrapper's rope_theta 25000",
    ),
    "MiniMaxAI/MiniMax-Text-01-hf": (
        "default",
        "transformers' MiniMax port ignores rotary_dim (64) and rotates all 128 dims",
    ),
}


def test_corpus_against_transformers() -> None:
    """Every buildable corpus config agrees; at least the common families must be buildable."""
    failures, built = {}, 0
    for repo, path in corpus_cases():
        if _reference_for(path).reason is None:
            built += 1
        problems = compare(path)
        if repo in KNOWN_DIVERGENCES:
            layer = KNOWN_DIVERGENCES[repo][0]
            problems = [p for p in problems if not p.startswith(f"{layer}:")]
        if problems:
            failures[repo] = problems
    assert not failures, json.dumps(failures, indent=1)
    assert built >= 250, f"only {built} corpus configs were buildable by transformers"


def _length_dependent_cases() -> list[tuple[str, str, str, int]]:
    """(repo, path, layer type, seq_len) of corpus configs whose frequencies depend on length."""
    from scrapers.tagger import tag_config

    cases = []
    for repo, path in corpus_cases():
        if _reference_for(path).reason is not None:
            continue
        tagged = tag_config(json.loads(Path(path).read_text(encoding="utf-8")))
        for lt, params in tagged.rope.items():
            if params is None or params.max_position_embeddings is None:
                continue
            if params.rope_type == "dynamic":
                cases.append((repo, path, lt, 3 * params.max_position_embeddings + 5))
            elif params.rope_type == "longrope" and params.original_max_position_embeddings:
                cases.append((repo, path, lt, params.original_max_position_embeddings + 1))
    return cases


def test_length_dependent_frequencies_against_transformers() -> None:
    """Dynamic NTK past max_position_embeddings and LongRoPE's long factors past L."""
    from transformers import AutoConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    from scrapers.tagger import tag_config
    from yarn_core.frequencies import inverse_frequencies

    cases = _length_dependent_cases()
    assert len(cases) >= 5, cases
    for repo, path, lt, seq_len in cases:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
        kwargs = {k: v for k, v in config.items() if k != "model_type"}
        text = AutoConfig.for_model(config["model_type"], **kwargs).get_text_config(decoder=True)
        params = tag_config(config).rope[lt]
        assert params is not None
        layer = lt if isinstance(text.rope_parameters.get(lt), dict) else None
        hf, _ = ROPE_INIT_FUNCTIONS[params.rope_type](text, None, seq_len=seq_len, layer_type=layer)
        mine = inverse_frequencies(params, seq_len=seq_len)
        worst = max(abs(a - b) / b for a, b in zip(mine, hf.double().tolist(), strict=True))
        assert worst <= REL_TOL, (repo, lt, seq_len, worst)
        assert mine != inverse_frequencies(params), (repo, "length had no effect")


@pytest.mark.parametrize("name", ["deepseek-ai/DeepSeek-V3", "openai/gpt-oss-120b"])
def test_yarn_models_are_buildable(name: str) -> None:
    paths = [path for repo, path in corpus_cases() if repo == name]
    assert paths, f"{name} is not in the corpus"
    ref = _reference_for(paths[0])
    assert ref.reason is None, ref.reason
    assert compare(paths[0]) == []


def _path_of(repo: str) -> str:
    return next(path for name, path in corpus_cases() if name == repo)


def test_known_divergences_are_in_the_corpus() -> None:
    for repo in KNOWN_DIVERGENCES:
        assert _reference_for(_path_of(repo)).reason is None, repo


def unbuildable_markdown() -> str:
    """Markdown: the corpus configs transformers cannot build (with the reason), grouped."""
    no_rope: dict[str, int] = {}
    rows = []
    for repo, path in corpus_cases():
        ref = _reference_for(path)
        if ref.reason is None:
            continue
        mt = str(json.loads(Path(path).read_text(encoding="utf-8")).get("model_type"))
        if ref.reason.startswith("no text rotary embedding class"):
            no_rope[mt] = no_rope.get(mt, 0) + 1
            continue
        rows.append(f"| {repo} | {mt} | {ref.reason.replace('|', '/')} |")
    built = sum(1 for _, p in corpus_cases() if _reference_for(p).reason is None)
    lines = [
        f"{built} of {len(corpus_cases())} corpus configs built and compared.",
        "",
        f"Not RoPE models in transformers ({sum(no_rope.values())} configs, no text rotary "
        "embedding class in the modelling module), by model_type:",
        "",
        ", ".join(f"{mt} ({n})" if n > 1 else mt for mt, n in sorted(no_rope.items())),
        "",
        f"Not buildable ({len(rows)} configs):",
        "",
        "| config | model_type | reason |",
        "|---|---|---|",
        *rows,
        "",
        "Known divergences (compared; one layer type differs, the others agree):",
        "",
    ]
    for repo, (layer, why) in KNOWN_DIVERGENCES.items():
        state = "differs" if compare(_path_of(repo)) else "now agrees"
        lines.append(f"- {repo} [{layer}] ({state}): {why}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(unbuildable_markdown())
