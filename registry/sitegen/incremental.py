"""Incremental render: reuse a model page from the previous site when its inputs are unchanged.

A model page (and its API document) is a pure function of its model record (model, facts,
verification, snapshot), its change rows, its drift from its base model, and the renderer itself
(templates, glossary, static files, site config and the Python code that renders). `page_key`
hashes exactly those; the manifest written next to the site (`MANIFEST`) maps each model page to
its key. On the next render a page whose key is the same is hard-linked (or copied) from the
previous site instead of rendered, so the output is byte-identical to a full render, which
`tests/test_render_incremental.py` checks file by file. Every other page (catalog, tag, family,
feeds, home) lists many models and is rendered again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from registry.sitegen.read import MODEL_SKIP

MANIFEST = ".ropedex-pages.json"
_CODE_DIRS = ("registry", "scrapers", "yarn_core")


def renderer_fingerprint(site_dir: Path, config: Any) -> str:
    """A hash of everything besides the model's own rows that a model page depends on."""
    digest = hashlib.sha256()
    package_root = Path(__file__).resolve().parents[2]
    roots = [site_dir, *(package_root / d for d in _CODE_DIRS)]
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file() and _counts(p)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(repr(config).encode())
    return digest.hexdigest()


def _counts(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")


def page_key(
    fingerprint: str, record: dict[str, Any], changes: list[dict[str, Any]], drift: Any = None
) -> str:
    """The hash of what the model page shows: the record without the page tables cached on its
    shared verification row, and without the model fields the page skips (MODEL_SKIP)."""
    verification, model = record.get("verification"), record.get("model")
    shown = dict(record)
    if isinstance(verification, dict):
        shown["verification"] = {k: v for k, v in verification.items() if k != "_tables"}
    if isinstance(model, dict):
        shown["model"] = {k: v for k, v in model.items() if k not in MODEL_SKIP}
    payload = json.dumps(
        [shown, changes, drift], sort_keys=True, default=str, separators=(",", ":")
    )
    return hashlib.sha256(f"{fingerprint}\0{payload}".encode()).hexdigest()


class PageReuse:
    """The previous site's manifest, and the manifest of the render in progress."""

    def __init__(self, previous_site: Path | None, fingerprint: str) -> None:
        self.previous = previous_site
        self.fingerprint = fingerprint
        self.old: dict[str, str] = {}
        self.new: dict[str, str] = {}
        self.old_errors: dict[str, list[str]] = {}  # page -> the plot errors it was rendered with
        self.errors: dict[str, list[str]] = {}
        self.reused = 0
        if previous_site is not None:
            try:
                loaded = json.loads((previous_site / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}
            if isinstance(loaded, dict) and loaded.get("fingerprint") == fingerprint:
                pages, errors = loaded.get("pages"), loaded.get("plot_errors")
                self.old = pages if isinstance(pages, dict) else {}
                self.old_errors = errors if isinstance(errors, dict) else {}

    def key(self, record: dict[str, Any], changes: list[dict[str, Any]], drift: Any = None) -> str:
        return page_key(self.fingerprint, record, changes, drift)

    def take(self, rel: str, key: str, target: Path) -> int | None:
        """Put the previous site's `rel` at `target` when its key matches; its size, or None."""
        self.new[rel] = key
        if self.previous is None or self.old.get(rel) != key:
            return None
        source = self.previous / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
            size = target.stat().st_size
        except OSError:
            return None
        return size

    def carry_errors(self, rel: str) -> list[str]:
        """The plot errors a reused page was rendered with (kept for the next render too)."""
        errors = [str(e) for e in self.old_errors.get(rel, [])]
        if errors:
            self.errors[rel] = errors
        return errors

    def manifest(self) -> str:
        pages = dict(sorted(self.new.items()))
        errors = dict(sorted(self.errors.items()))
        document = {"fingerprint": self.fingerprint, "pages": pages, "plot_errors": errors}
        return json.dumps(document, indent=0) + "\n"
