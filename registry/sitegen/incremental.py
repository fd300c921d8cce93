"""Incremental render: update the previous site in place, rewriting only what changed.

A model page (and its API document) is a pure function of its model's rows (model, snapshot,
position facts, verification), its change rows, its drift from its base model, and the renderer
(templates, glossary, static files, site config and the Python code that renders). `model_keys`
hashes exactly those, straight from the catalog's columns, without building the page's context;
other pages that opt in (`Site.page(..., inputs=...)`) are keyed by what they show. The manifest
(`MANIFEST`, in the site) holds every key and every file's size. The next incremental render
keeps each file whose key is unchanged where it is, replaces each changed file atomically
(`os.replace`), and removes the files it no longer produces, so its output is byte-identical to a
full render (`tests/test_render_incremental.py` compares them file by file).

A full render still builds a fresh folder and swaps it in whole. An incremental render writes
`UPDATING` before its first change and removes it after the new manifest is in place: a killed
one leaves that marker, and the next render ignores the old manifest and renders in full.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from registry.sitegen.read import MODEL_SKIP

MANIFEST = ".ropedex-pages.json"
UPDATING = ".ropedex-updating"  # present while an incremental render changes the site in place
MANIFEST_VERSION = 2
_CODE_DIRS = ("registry", "scrapers", "yarn_core")


def renderer_fingerprint(site_dir: Path, config: Any, glossary_dir: Path | None = None) -> str:
    """A hash of everything besides the catalog that a page depends on."""
    digest = hashlib.sha256()
    package_root = Path(__file__).resolve().parents[2]
    roots = [site_dir, *(package_root / d for d in _CODE_DIRS)]
    if glossary_dir is not None:
        roots.append(glossary_dir)
    for root in roots:
        digest.update(b"\1" + str(root.name).encode())
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file() and _counts(p)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(repr(config).encode())
    return digest.hexdigest()


def _counts(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def inputs_key(fingerprint: str, rel: str, template: str, inputs: Any) -> str:
    """The key of a page other than a model page: its path, template and what it shows."""
    payload = _dumps([rel, template, inputs])
    return hashlib.sha256(f"{fingerprint}\0{payload}".encode()).hexdigest()


def _signature_query(conn: Any) -> Any:
    """Per model: its id and repo id, then every column its page reads (the snapshot's text by
    its content hash, and whether it was stripped), JSON columns as their stored text."""
    from sqlalchemy import JSON, Text, cast, select

    from registry.models import ConfigSnapshot, Model, PositionFacts
    from registry.sitegen.read import present_columns

    m = Model.__table__  # type: ignore[attr-defined]
    s = ConfigSnapshot.__table__  # type: ignore[attr-defined]
    f = PositionFacts.__table__  # type: ignore[attr-defined]

    def raw(column: Any) -> Any:
        return cast(column, Text) if isinstance(column.type, JSON) else column

    shown = [raw(c) for c in present_columns(conn, m) if c.name not in MODEL_SKIP]
    facts = [raw(c) for c in present_columns(conn, f) if c.name not in ("id", "snapshot_id")]
    snap = [s.c.commit_sha, s.c.fetched_at, s.c.content_hash, s.c.config_text.is_(None)]
    return (
        select(m.c.id, m.c.repo_id, *shown, *snap, *facts)
        .select_from(m)
        .outerjoin(s, s.c.id == m.c.snapshot_id)
        .outerjoin(f, f.c.snapshot_id == m.c.snapshot_id)
    )


def model_keys(
    conn: Any,
    fingerprint: str,
    changes: dict[int, list[dict[str, Any]]],
    drift: dict[str, Any],
    shard: tuple[int, int] | None = None,
) -> Iterator[tuple[int, str, str]]:
    """(model id, repo id, page key) for every model (or those whose id is k modulo n, for
    `shard=(k, n)`), from one pass over narrow columns."""
    from registry.models import Model
    from registry.sitegen.read import verifications

    verified = {
        k: hashlib.sha256(_dumps(v).encode()).hexdigest() for k, v in verifications(conn).items()
    }
    query = _signature_query(conn)
    if shard is not None:
        query = query.where(Model.__table__.c.id % shard[1] == shard[0])  # type: ignore[attr-defined]
    columns = list(query.selected_columns.keys())
    fp_index = columns.index("verify_fingerprint") if "verify_fingerprint" in columns else None
    head = fingerprint.encode() + b"\0"
    sha256 = hashlib.sha256
    result = conn.execution_options(yield_per=5000).execute(query)
    for row in result:
        model_id, repo_id = row[0], row[1]
        verification = verified.get(row[fp_index] or "", "") if fp_index is not None else ""
        own = changes.get(model_id)
        shift = drift.get(repo_id)
        tail = ""
        if own or shift:
            tail = _dumps([own or [], shift])
        text = f"{row[1:]!r}\0{verification}\0{tail}"
        yield model_id, repo_id, sha256(head + text.encode()).hexdigest()


class PageReuse:
    """The previous site's manifest, and the manifest of the render in progress.

    `models` maps a repo id to [key, page size, document size] (the writer's `files` map every
    other file to [key or None, size]); `keys` holds this render's key of each model id; `errors`
    keeps the plot errors a model page was rendered with, so a kept page reports them again.
    """

    def __init__(self, previous_site: Path | None, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.old_models: dict[str, list[Any]] = {}
        self.old_files: dict[str, list[Any]] = {}
        self.old_errors: dict[str, list[str]] = {}
        self.models: dict[str, list[Any]] = {}
        self.keys: dict[int, str] = {}  # model id -> its page key in this render
        self.errors: dict[str, list[str]] = {}
        self.reused = 0
        self.valid = False  # the previous site can be updated in place
        if previous_site is None or (previous_site / UPDATING).exists():
            return
        try:
            loaded = json.loads((previous_site / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(loaded, dict) or loaded.get("version") != MANIFEST_VERSION:
            return
        if loaded.get("fingerprint") != fingerprint:
            return
        models, files, errors = loaded.get("models"), loaded.get("files"), loaded.get("errors")
        if isinstance(models, dict) and isinstance(files, dict):
            self.old_models, self.old_files = models, files
            self.old_errors = errors if isinstance(errors, dict) else {}
            self.valid = True

    def kept_model(self, repo_id: str, key: str) -> list[Any] | None:
        """The previous [key, page size, document size] of a model whose key is unchanged."""
        old = self.old_models.get(repo_id) if self.valid else None
        if not isinstance(old, list) or len(old) != 3 or old[0] != key:
            return None
        return old

    def kept_file(self, rel: str, key: str | None) -> int | None:
        """The size of the previous site's `rel` when it was written with this key."""
        old = self.old_files.get(rel) if self.valid and key is not None else None
        if not isinstance(old, list) or len(old) != 2 or old[0] != key:
            return None
        return int(old[1])

    def carry_errors(self, repo_id: str) -> list[str]:
        """The plot errors a kept page was rendered with (kept for the next render too)."""
        errors = [str(e) for e in self.old_errors.get(repo_id, [])]
        if errors:
            self.errors[repo_id] = errors
        return errors

    def stale(self, files: dict[str, list[Any]]) -> tuple[list[str], list[str]]:
        """What the previous site held that this render did not produce: the repo ids of its
        model pages, and its other files."""
        models = [repo_id for repo_id in self.old_models if repo_id not in self.models]
        return models, [rel for rel in self.old_files if rel not in files]

    def manifest(self, files: dict[str, list[Any]]) -> str:
        document = {
            "version": MANIFEST_VERSION,
            "fingerprint": self.fingerprint,
            "models": dict(sorted(self.models.items())),
            "files": dict(sorted(files.items())),
            "errors": dict(sorted(self.errors.items())),
        }
        return json.dumps(document, separators=(",", ":")) + "\n"
