"""Lineage drift: how a derivative's position encoding differs from its base model's.

The tree comes from `models.base_model` (the card's `base_model`, stored by the scraper and
ingest). For each derivative whose base is in the catalog, every rope field that differs from
the base is one `Drift`, classified:

- harmless: the length changed in a way its own scaling accounts for (a longer declared context
  with a scaling block whose factor covers it);
- suspicious: may be intended but loses or invents context (a cut declared context, a longer one
  with no scaling to cover it, a changed original context, a changed factor);
- breaking: the rotation differs from the one the weights were trained with (theta, scaling type
  dropped or swapped, rotary dim, pairing, NoPE layers, position encoding).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("harmless", "suspicious", "breaking")
# Fields compared, in report order (PositionFacts / TagResult attribute names).
FIELDS = (
    "position_encoding",
    "rope_theta",
    "rope_theta_local",
    "scaling_type",
    "scaling_factor",
    "original_context",
    "declared_context",
    "rotary_dim",
    "pairing",
    "nope_layers",
)
SCALING_FIELDS = ("scaling_type", "scaling_factor", "original_context")
REL_TOL = 1e-9


@dataclass(frozen=True)
class Drift:
    field: str
    base: Any
    derived: Any
    level: str  # one of LEVELS
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "base": self.base,
            "derived": self.derived,
            "level": self.level,
            "why": self.why,
        }


@dataclass
class Derivative:
    repo_id: str
    base: str
    depth: int  # 1: a direct derivative of a root model
    drifts: list[Drift] = field(default_factory=list)

    @property
    def level(self) -> str | None:
        """The worst level among the drifts (None: no drift)."""
        found = [LEVELS.index(d.level) for d in self.drifts]
        return LEVELS[max(found)] if found else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "base_model": self.base,
            "depth": self.depth,
            "level": self.level,
            "drifts": [d.to_dict() for d in self.drifts],
        }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1.0)
    return bool(a == b)


def _covered(facts: Mapping[str, Any]) -> int | None:
    """The length the scaling block covers: factor times the original context (None without)."""
    factor = facts.get("scaling_factor")
    base = facts.get("original_context")
    if not isinstance(factor, int | float) or not isinstance(base, int):
        return None
    return int(factor * base)


def compare(base: Mapping[str, Any], derived: Mapping[str, Any]) -> list[Drift]:
    """Every compared field in which `derived` differs from `base`, classified.

    A scaling block added, dropped or swapped is one `scaling` drift (its type, factor and
    original context together); the `rope-SCALING` spelling of the position encoding follows it.
    """
    out: list[Drift] = []
    swapped = base.get("scaling_type") != derived.get("scaling_type")
    for name in FIELDS:
        a, b = base.get(name), derived.get(name)
        if name == "position_encoding" and _rope_kind(a) and _rope_kind(b):
            continue  # rope vs rope-yarn: the scaling drift says it
        if swapped and name in SCALING_FIELDS:
            if name == "scaling_type":
                level, why = _classify(name, a, b, base, derived)
                out.append(Drift("scaling", _block(base), _block(derived), level, why))
            continue
        if _same(a, b):
            continue
        level, why = _classify(name, a, b, base, derived)
        out.append(Drift(name, a, b, level, why))
    return out


def _rope_kind(tag: Any) -> bool:
    return isinstance(tag, str) and (tag == "rope" or tag.startswith("rope-"))


def _block(facts: Mapping[str, Any]) -> dict[str, Any] | None:
    if facts.get("scaling_type") is None:
        return None
    return {key: facts.get(key) for key in SCALING_FIELDS}


def _classify(
    name: str, a: Any, b: Any, base: Mapping[str, Any], derived: Mapping[str, Any]
) -> tuple[str, str]:
    if name == "declared_context":
        if isinstance(a, int) and isinstance(b, int) and b < a:
            return "suspicious", f"declared context cut from {a:,} to {b:,}"
        covered = _covered(derived)
        if isinstance(b, int) and covered is not None and b <= covered:
            return "harmless", f"declared context {b:,} is covered by its scaling ({covered:,})"
        shown = f"{b:,}" if isinstance(b, int) else repr(b)
        return "suspicious", f"declared context {shown} with no scaling that covers it"
    if name == "scaling_factor":
        if derived.get("scaling_type") != base.get("scaling_type"):
            return "breaking", "the scaling changed with its type"
        return "suspicious", f"scaling factor changed from {a} to {b}"
    if name == "original_context":
        return "suspicious", f"original (trained) context changed from {a} to {b}"
    if name == "scaling_type":
        if a is None:
            covered = _covered(derived)
            declared = derived.get("declared_context")
            if covered is not None and isinstance(declared, int) and declared <= covered:
                return "harmless", f"{b} scaling added for a declared {declared:,}"
            return "suspicious", f"{b} scaling added"
        if b is None:
            return "breaking", f"the base's {a} scaling was dropped"
        return "breaking", f"scaling type changed from {a} to {b}"
    if name in ("rope_theta", "rope_theta_local"):
        return "breaking", f"rope theta changed from {a} to {b}"
    if name == "rotary_dim":
        return "breaking", f"rotary dims changed from {a} to {b}"
    if name == "pairing":
        return "breaking", f"rotation pairing changed from {a} to {b}"
    if name == "nope_layers":
        return "breaking", "the layers without position encoding changed"
    return "breaking", f"position encoding changed from {a} to {b}"


def drift_tree(
    facts: Mapping[str, Mapping[str, Any]],
    bases: Mapping[str, str | None],
    root: str | None = None,
) -> list[Derivative]:
    """Every derivative whose base is known (`facts`: repo id -> rope fields; `bases`: repo id ->
    base_model), each compared with its direct base, in tree order. With `root`, only the tree
    under it (and `root` itself when it is a derivative)."""
    known = {k.lower(): k for k in facts}
    children: dict[str, list[str]] = {}
    for repo_id, base in bases.items():
        parent = known.get((base or "").lower())
        if parent is not None and parent != repo_id and repo_id in facts:
            children.setdefault(parent, []).append(repo_id)
    has_parent = {c for kids in children.values() for c in kids}
    if root is not None:
        start = [known.get(root.lower(), root)]
    else:
        start = sorted(r for r in children if r not in has_parent)
    out: list[Derivative] = []
    seen: set[str] = set()
    if root is not None and start[0] in has_parent:
        parent = known[(bases.get(start[0]) or "").lower()]
        node = Derivative(start[0], parent, 1, compare(facts[parent], facts[start[0]]))
        out.append(node)
    for top in start:
        _walk(top, 1, facts, children, out, seen)
    return out


def _walk(
    parent: str,
    depth: int,
    facts: Mapping[str, Mapping[str, Any]],
    children: Mapping[str, list[str]],
    out: list[Derivative],
    seen: set[str],
) -> None:
    if parent in seen:  # a base_model cycle: each model once
        return
    seen.add(parent)
    for child in sorted(children.get(parent, [])):
        if child in seen:
            continue
        out.append(Derivative(child, parent, depth, compare(facts[parent], facts[child])))
        _walk(child, depth + 1, facts, children, out, seen)


def catalog_drift(conn: Any, root: str | None = None) -> list[Derivative]:
    """`drift_tree` over the catalog's current facts (`conn`: a connection or session)."""
    from sqlalchemy import func, or_, select

    from registry.models import Model, PositionFacts

    m = Model.__table__  # type: ignore[attr-defined]
    f = PositionFacts.__table__  # type: ignore[attr-defined]
    b = m.alias("derived")
    # Only models in a lineage: those naming a base, and those named as one (bases match
    # repo ids case-insensitively, as in drift_tree); every other model has no drift.
    named = select(func.lower(b.c.base_model)).where(b.c.base_model.is_not(None))
    query = (
        select(m.c.repo_id, m.c.base_model, *[f.c[name] for name in FIELDS])
        .join(f, f.c.snapshot_id == m.c.snapshot_id)
        .where(or_(m.c.base_model.is_not(None), func.lower(m.c.repo_id).in_(named)))
    )
    facts: dict[str, dict[str, Any]] = {}
    bases: dict[str, str | None] = {}
    for row in conn.execute(query).mappings():
        facts[row["repo_id"]] = {name: row[name] for name in FIELDS}
        bases[row["repo_id"]] = row["base_model"]
    return drift_tree(facts, bases, root)


def drift_by_repo(conn: Any) -> dict[str, dict[str, Any]]:
    """Repo id -> its drift from its base (`Derivative.to_dict`), for derivatives with drift."""
    return {d.repo_id: d.to_dict() for d in catalog_drift(conn) if d.drifts}


def summary(derivatives: Iterable[Derivative]) -> dict[str, int]:
    """Derivatives per worst level ("none" for those without drift)."""
    counts = dict.fromkeys((*LEVELS, "none"), 0)
    for d in derivatives:
        counts[d.level or "none"] += 1
    return counts


GGUF_LEVEL = {"fail": "breaking", "warn": "suspicious"}


def gguf_drift(conn: Any, root: str | None = None) -> list[dict[str, Any]]:
    """GGUF files whose stored check found differences from their source config, worst first
    (`root`: only files of that repo or converted from it). Empty when the catalog has no
    `gguf_headers` table yet."""
    from sqlalchemy import inspect, select
    from sqlalchemy.orm import Session

    from registry.models import GGUFHeader

    table = GGUFHeader.__table__  # type: ignore[attr-defined]
    bind = conn.connection() if isinstance(conn, Session) else conn
    if not inspect(bind).has_table(table.name):
        return []
    query = select(table).where(table.c.verdict.in_(tuple(GGUF_LEVEL)))
    out = []
    for row in conn.execute(query.order_by(table.c.repo_id, table.c.filename)).mappings():
        check = row["check"] or {}
        source = check.get("source")
        if root is not None and root.lower() not in (row["repo_id"].lower(), str(source).lower()):
            continue
        drifts = [
            {
                "field": d.get("key"),
                "level": GGUF_LEVEL.get(str(d.get("status")), "suspicious"),
                "why": d.get("message"),
            }
            for d in check.get("differences") or []
        ]
        out.append(
            {
                "repo_id": row["repo_id"],
                "filename": row["filename"],
                "source": source,
                "level": GGUF_LEVEL[row["verdict"]],
                "drifts": drifts,
                "fixes": check.get("fixes") or [],
            }
        )
    out.sort(key=lambda e: -LEVELS.index(e["level"]))
    return out
