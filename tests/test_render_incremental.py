"""Incremental render: after a change set, the site equals a full render file by file.

A real SQLite catalog from 40 corpus configs is ingested, verified and rendered; then three
configs are edited (new snapshots and change rows), a model is added, and the catalog is verified
again. The site is rendered incrementally over the old one and, separately, in full; every file of
the two must be byte-identical, and the incremental render must have taken every model page whose
model did not change from the old site.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from registry.db import open_engine, session_factory
from registry.sitegen import render_site
from registry.sitegen.incremental import MANIFEST
from registry.sync import ingest_tree
from registry.verify.catalog import verify_catalog
from tests.helpers import small_tree


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def verify(engine: object) -> None:
    with session_factory(engine)() as session:  # type: ignore[arg-type]
        verify_catalog(session, device="cpu")
        session.commit()


def test_incremental_render_equals_a_full_render_after_a_change_set(tmp_path: Path) -> None:
    tree = tmp_path / "hub"
    ids = small_tree(tree, 40)
    engine = open_engine(str(tmp_path / "catalog.db"))
    ingest_tree(engine, tree)
    verify(engine)
    site = tmp_path / "site"
    first = render_site(engine, site)
    assert first.reused == 0 and (site / MANIFEST).is_file()
    before = digest(site)

    edited = ids[:3]
    for repo_id in edited:
        path = tree / repo_id / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        config["max_position_embeddings"] = 2 * int(config.get("max_position_embeddings") or 2048)
        path.write_text(json.dumps(config), encoding="utf-8")
    (tree / "new-org" / "new-model").mkdir(parents=True)
    (tree / "new-org" / "new-model" / "config.json").write_text(
        json.dumps({"model_type": "llama", "rope_theta": 10000.0, "hidden_size": 512,
                    "num_attention_heads": 8, "max_position_embeddings": 4096}),
        encoding="utf-8",
    )  # fmt: skip
    ingest_tree(engine, tree)
    verify(engine)

    again = render_site(engine, site, incremental=True)
    full = render_site(engine, tmp_path / "full")
    assert digest(site) == digest(tmp_path / "full")
    assert full.reused == 0
    assert again.model_pages == 41 and again.reused == 41 - len(edited) - 1
    after = digest(site)
    for repo_id in edited:
        assert after[f"models/{repo_id}.html"] != before[f"models/{repo_id}.html"]
    untouched = ids[-1]
    assert after[f"models/{untouched}.html"] == before[f"models/{untouched}.html"]


def test_a_changed_renderer_renders_every_page_again(tmp_path: Path) -> None:
    tree = tmp_path / "hub"
    small_tree(tree, 5)
    engine = open_engine(str(tmp_path / "catalog.db"))
    ingest_tree(engine, tree)
    site = tmp_path / "site"
    render_site(engine, site)
    assert render_site(engine, site, incremental=True).reused == 5
    manifest = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    manifest["fingerprint"] = "an older renderer"
    (site / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert render_site(engine, site, incremental=True).reused == 0
    assert render_site(engine, site, incremental=True, base_url="https://x.test/").reused == 0
