"""api/: the catalog as a small read-only JSON API with a stable, documented schema (docs/api.md).

`api/models.json` lists every model (one object per catalog row, plus the paths of its page and
its own document); `api/models/ORG/NAME.json` holds one model's lead, recipes, judged keys,
verdict and links. Fields are only ever added within a schema version; a rename or removal bumps
`API_VERSION`.
"""

from __future__ import annotations

import json
from typing import Any

from registry.sitegen.read import COLUMNS
from registry.sitegen.writer import Site, SiteWriter

API_VERSION = 1


def _dump(value: Any) -> str:
    """Compact, sorted JSON: without `indent` the C encoder does the work (measured: the
    indented form made the API a fifth of a 1,000-model render's CPU)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return text + "\n"


def judged_keys(evidence: dict[str, Any]) -> dict[str, Any]:
    """Evidence keys ('text_config.rope_theta') nested as config.json writes them."""
    nested: dict[str, Any] = {}
    for key, value in evidence.items():
        *parents, leaf = str(key).split(".")
        node = nested
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a dotted key that is also a leaf: keep it flat
                node, leaf = nested, str(key)
                break
            node = child
        node[leaf] = value
    return nested


def _evidence(facts: dict[str, Any] | None) -> dict[str, Any]:
    evidence = (facts or {}).get("evidence")
    return evidence if isinstance(evidence, dict) else {}


def model_document(
    repo_id: str,
    row: dict[str, Any],
    context: dict[str, Any],
) -> dict[str, Any]:
    """One model's API document from its catalog row and its page's context (no catalog time:
    a document changes only when its model does; `api/models.json` carries the time)."""

    verification = context.get("verification") or {}
    lead = context.get("lead")
    if lead is not None:
        lead = {k: v for k, v in lead.items() if k != "cause_labels"}
    snapshot = context.get("snapshot") or {}
    return {
        "api_version": API_VERSION,
        "repo_id": repo_id,
        "row": {k: row[k] for k in COLUMNS},
        "lead": lead,
        "recipes": context.get("recipes") or [],
        "judged": judged_keys(_evidence(context.get("facts"))),
        "verification": {
            "verdict": verification.get("verdict"),
            "core_version": verification.get("core_version"),
            "checks": [
                {"id": c.get("id"), "status": c.get("status"), "message": c.get("message")}
                for c in verification.get("checks") or []
                if isinstance(c, dict)
            ],
        }
        if verification
        else None,
        "commit": snapshot.get("commit_sha") or context["model"].get("sha"),
        "links": dict(
            zip(("hub", "config"), (href for _, href in context.get("links") or []), strict=False)
        ),
        "page": f"models/{repo_id}.html",
    }


def model_document_path(repo_id: str) -> str:
    return f"api/models/{repo_id}.json"


def write_model_document(site: Site, document: dict[str, Any]) -> int:
    """Write one model's document (recorded in the manifest with its page); its size."""
    return site.writer.write(model_document_path(document["repo_id"]), _dump(document), track=False)


def write_index(writer: SiteWriter, rows: list[dict[str, Any]], stamp: str | None) -> None:
    """api/models.json: every catalog row in repo id order, with its page and document paths
    (null for a repo id unsafe as a path, which has neither)."""
    # Keys already in sorted order, so the encoder need not sort a million small objects;
    # the bytes are those of `_dump` (sorted keys).
    keys = sorted([k for k in COLUMNS if k != "page"] + ["page", "document"])
    models = []
    for r in sorted(rows, key=lambda r: r["repo_id"]):
        paths = {
            "page": f"models/{r['repo_id']}.html" if r["page"] else None,
            "document": f"api/models/{r['repo_id']}.json" if r["page"] else None,
        }
        models.append({k: paths[k] if k in paths else r[k] for k in keys})
    document = {
        "api_version": API_VERSION,
        "catalog_as_of": stamp,
        "count": len(models),
        "models": models,
    }  # keys in sorted order too
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
    writer.write("api/models.json", text + "\n")
