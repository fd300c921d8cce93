"""Recipes: the exact change that gets a model its long context, per runtime.

Three cases get a recipe, each from data the catalog already holds:
- family: the family documents an extension its published configs leave off (Qwen3's YaRN x4
  over 32,768), from `family_extensions.toml`, with the source of each row;
- declared: the config's own factor covers more than the length it declares (AFM-4.5B: factor
  20 over 4,096 reaches 81,920, declared 65,536), so raising the declared length serves it;
- runtimes: the runtimes serve different lengths by default, so each gets the flag that pins it
  to the reference (transformers) length.

`recipes(...)` returns plain dicts (see `Recipe`); the CLI (`ropedex recipe`) and the model pages
print them. Shell text quotes every value with `shlex.quote`: repo ids come from outside.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from registry.errors import BadExtensionsFile
from registry.lead import LEAD_RUNTIMES, build_lead

EXTENSIONS_FILE = Path(__file__).with_name("family_extensions.toml")
RUNTIMES = ("transformers", "vllm", "sglang", "llama.cpp")
# llama.cpp's --rope-scaling takes these; other types are baked into the GGUF at conversion.
LLAMACPP_SCALING = {"yarn": "yarn", "linear": "linear"}


@dataclass(frozen=True)
class Extension:
    """One row of family_extensions.toml."""

    family: str
    name: re.Pattern[str]
    when_declared: int
    rope: dict[str, Any]
    context: int
    source: str
    note: str | None = None


@dataclass
class Recipe:
    """One way to get the long context: what changes in config.json and each runtime's command."""

    kind: str  # family | declared | runtimes
    summary: str
    origin: str  # who says so: the family's documentation, the config's own factor, the runtimes
    target_context: int
    config_change: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    note: str | None = None
    commands: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "origin": self.origin,
            "target_context": self.target_context,
            "config_change": self.config_change,
            "config_text": json.dumps(self.config_change, indent=2) if self.config_change else None,
            "source": self.source,
            "note": self.note,
            "commands": self.commands,
        }


def load_extensions(path: Path = EXTENSIONS_FILE) -> list[Extension]:
    """The family extensions file, checked row by row.

    Raises:
        BadExtensionsFile: unreadable TOML, or a row with a missing or bad key (named)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadExtensionsFile(f"{path}: {exc}") from None
    rows = data.get("extension")
    if not isinstance(rows, list):
        raise BadExtensionsFile(f"{path}: no [[extension]] rows")
    out = []
    for number, row in enumerate(rows, 1):
        where = f"{path}: extension {number}"
        if not isinstance(row, dict):
            raise BadExtensionsFile(f"{where} is not a table")
        for key, kind in (
            ("family", str),
            ("name", str),
            ("when_declared", int),
            ("rope", dict),
            ("context", int),
            ("source", str),
        ):
            if not isinstance(row.get(key), kind) or isinstance(row.get(key), bool):
                raise BadExtensionsFile(f"{where}: {key} must be a {kind.__name__}")
        if not re.match(r"^https://\S+$", row["source"]):
            raise BadExtensionsFile(f"{where}: source must be an https URL, not {row['source']!r}")
        try:
            name = re.compile(row["name"])
        except re.error as exc:
            raise BadExtensionsFile(f"{where}: name is not a regex ({exc})") from None
        out.append(
            Extension(
                family=row["family"],
                name=name,
                when_declared=row["when_declared"],
                rope=dict(row["rope"]),
                context=row["context"],
                source=row["source"],
                note=row.get("note") if isinstance(row.get("note"), str) else None,
            )
        )
    return out


@cache
def _default_extensions() -> tuple[Extension, ...]:
    return tuple(load_extensions())


def recipes(
    model: str,
    facts: dict[str, Any] | None,
    verification: dict[str, Any] | None,
    *,
    model_type: str | None = None,
    family: str | None = None,
    extensions: list[Extension] | None = None,
) -> list[Recipe]:
    """Every recipe for one model (`model`: the repo id or path the commands name)."""
    if not facts or facts.get("per_layer"):
        return []  # per-layer rope blocks have no single block to change
    lead = build_lead(facts, verification, model_type)
    if lead is None:
        return []
    rows = list(_default_extensions()) if extensions is None else extensions
    found = []
    family_recipe = _family(model, facts, family, rows)
    if family_recipe is not None:
        found.append(family_recipe)
    declared = _declared(facts, lead)
    if declared is not None:
        found.append(declared)
    differ = _runtimes(lead)
    if differ is not None:
        found.append(differ)
    for recipe in found:
        recipe.commands = commands(model, recipe, facts)
    return found


def _family(
    model: str, facts: dict[str, Any], family: str | None, rows: list[Extension]
) -> Recipe | None:
    if (
        facts.get("scaling_type")
        or facts.get("position_encoding", "rope").startswith("rope") is False
    ):
        return None
    name = model.rstrip("/").rsplit("/", 1)[-1]
    for row in rows:
        if row.family != family or not row.name.match(name):
            continue
        if facts.get("declared_context") != row.when_declared:
            return None
        change = _rope_change(facts, row.rope)
        change.update(_context_change(facts, row.context))
        return Recipe(
            kind="family",
            summary=(
                f"The family documents {row.rope.get('rope_type', 'a')} scaling x"
                f"{_num(row.rope.get('factor'))} to {row.context:,} tokens; this config leaves it "
                f"off and declares {row.when_declared:,}."
            ),
            origin="documented by the family",
            target_context=row.context,
            config_change=change,
            source=row.source,
            note=row.note,
        )
    return None


def _declared(facts: dict[str, Any], lead: dict[str, Any]) -> Recipe | None:
    scaled, served = lead["scaled_range"], lead["served_context"]
    if not scaled or not served or scaled <= served or lead["served_differs"]:
        return None
    if facts.get("scaling_type") not in ("yarn", "linear"):
        return None  # only where factor x original is the range the frequencies cover
    return Recipe(
        kind="declared",
        summary=(
            f"The config's own factor x{_num(facts.get('scaling_factor'))} over "
            f"{lead['trained_context']:,} covers {scaled:,} tokens, but it declares "
            f"{facts.get('declared_context'):,}, so runtimes serve {served:,}."
        ),
        origin="the config's own factor",
        target_context=scaled,
        config_change=_context_change(facts, scaled),
        note=(
            f"The authors published {facts.get('declared_context'):,}: serving more is beyond "
            "what the config claims and untested by this catalog."
        ),
    )


def _runtimes(lead: dict[str, Any]) -> Recipe | None:
    if not lead["served_differs"]:
        return None
    served = {r["name"]: r["served_context"] for r in lead["runtimes"]}
    target = served.get("transformers")
    if not isinstance(target, int):
        return None
    text = ", ".join(f"{r['label']} {_num(r['served_context'])}" for r in lead["runtimes"][:4])
    return Recipe(
        kind="runtimes",
        summary=f"The runtimes serve different lengths by default ({text}).",
        origin="the runtimes' own defaults",
        target_context=target,
        note=f"Pins every runtime to transformers' {target:,} so they agree.",
    )


def _rope_change(facts: dict[str, Any], rope: dict[str, Any]) -> dict[str, Any]:
    """The rope block to write: the config's own path (rope_parameters keeps its rope_theta)."""
    details = facts.get("details") or facts  # the catalog nests them; a tag result does not
    path = details.get("raw_rope_path") or "rope_scaling"
    raw: Any = details.get("raw_rope")
    block: dict[str, Any] = {}
    if isinstance(raw, dict) and path.endswith("rope_parameters"):
        block = {k: v for k, v in raw.items() if k != "type"}
    block.update(rope)
    return _nest(path, block)


def _context_change(facts: dict[str, Any], context: int) -> dict[str, Any]:
    """max_position_embeddings (at the path the config uses) set to `context`."""
    evidence: Any = facts.get("evidence")
    if not isinstance(evidence, dict):
        evidence = {}
    key = next(
        (k for k in evidence if str(k).split(".")[-1] == "max_position_embeddings"),
        "max_position_embeddings",
    )
    return _nest(str(key), context)


def _nest(path: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return out


def _scaling_of(recipe: Recipe, facts: dict[str, Any]) -> tuple[str | None, Any, Any]:
    """(type, factor, original) the long context runs with after the change."""
    block: dict[str, Any] = {}
    node: Any = recipe.config_change
    while isinstance(node, dict):
        hit = next((v for k, v in node.items() if k in ("rope_scaling", "rope_parameters")), None)
        if isinstance(hit, dict):
            block = hit
            break
        node = next((v for v in node.values() if isinstance(v, dict)), None)
    if block:
        return (
            block.get("rope_type"),
            block.get("factor"),
            block.get("original_max_position_embeddings"),
        )
    return facts.get("scaling_type"), facts.get("scaling_factor"), facts.get("original_context")


def commands(model: str, recipe: Recipe, facts: dict[str, Any]) -> dict[str, str]:
    """Each runtime's command line (transformers: the config.json edit) for one recipe."""
    target = recipe.target_context
    q = shlex.quote
    overrides = json.dumps(recipe.config_change, separators=(",", ":"))
    out: dict[str, str] = {}
    if recipe.config_change:
        out["transformers"] = json.dumps(recipe.config_change, indent=2)  # merged into config
        out["vllm"] = (
            f"vllm serve {q(model)} --hf-overrides {q(overrides)} --max-model-len {target}"
        )
        out["sglang"] = (
            f"python -m sglang.launch_server --model-path {q(model)} "
            f"--json-model-override-args {q(overrides)} --context-length {target}"
        )
    else:
        out["transformers"] = f"No change: transformers serves {target:,}."
        out["vllm"] = f"vllm serve {q(model)} --max-model-len {target}"
        out["sglang"] = (
            f"python -m sglang.launch_server --model-path {q(model)} --context-length {target}"
        )
    rope_type, factor, original = _scaling_of(recipe, facts)
    flags = f"-c {target}"
    if recipe.kind == "family" and rope_type in LLAMACPP_SCALING:
        flags = (
            f"--rope-scaling {LLAMACPP_SCALING[rope_type]} --rope-scale {_num(factor)}"
            + (f" --yarn-orig-ctx {original}" if rope_type == "yarn" and original else "")
            + f" -c {target}"
        )
    elif recipe.kind == "family" and rope_type:
        flags += f" (llama.cpp has no flag for {rope_type}: convert from the edited config.json)"
    out["llama.cpp"] = f"llama-server -m MODEL.gguf {flags}"
    return {k: out[k] for k in RUNTIMES if k in out}


def _num(value: Any) -> str:
    from registry.formatting import fmt_value

    return fmt_value(value)


__all__ = ["LEAD_RUNTIMES", "Extension", "Recipe", "commands", "load_extensions", "recipes"]
