"""Incremental render: after a change set, the site equals a full render file by file.

A real catalog (SQLite and PostgreSQL) from 40 corpus configs is ingested, verified and
rendered; then three configs are edited (new snapshots and change rows), a model is added, two
get new like counts, one is removed, and the catalog is verified again. The site is updated
incrementally in place and, separately, rendered in full; every file of the two must be the
same, and the incremental render must have kept every model page whose model did not change.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import registry.sitegen.driver
from registry.db import open_engine, session_factory
from registry.sitegen import render_site
from registry.sitegen.incremental import MANIFEST, UPDATING
from registry.sitegen.pages.catalog import pager_links
from registry.sync import ingest_tree
from registry.verify.catalog import verify_catalog
from tests.helpers import small_tree


def digest(folder: Path) -> dict[str, str]:
    """Each file's sha256; the SQLite download by its rows (an export from PostgreSQL is not
    byte-stable, a SQLite backup is)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(
            _dump(p) if p.suffix == ".db" else p.read_bytes()
        ).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _dump(path: Path) -> bytes:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return "\n".join(conn.iterdump()).encode()


def verify(engine: object) -> None:
    with session_factory(engine)() as session:  # type: ignore[arg-type]
        verify_catalog(session, device="cpu")
        session.commit()


def remove_model(engine: Any, repo_id: str) -> None:
    """Delete one model and everything that hangs off it (as an operator pruning would)."""
    from sqlalchemy import text

    with engine.begin() as conn:
        (model_id,) = conn.execute(
            text("SELECT id FROM models WHERE repo_id = :r"), {"r": repo_id}
        ).one()
        snaps = "SELECT id FROM config_snapshots WHERE model_id = :m"
        conn.execute(text("UPDATE models SET snapshot_id = NULL WHERE id = :m"), {"m": model_id})
        conn.execute(text(f"DELETE FROM position_facts WHERE snapshot_id IN ({snaps})"),
                     {"m": model_id})  # fmt: skip
        for table in ("changes", "config_snapshots"):
            conn.execute(text(f"DELETE FROM {table} WHERE model_id = :m"), {"m": model_id})
        conn.execute(text("DELETE FROM models WHERE id = :m"), {"m": model_id})


def add_likes(engine: Any, repo_ids: list[str]) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        for repo_id in repo_ids:
            conn.execute(
                text("UPDATE models SET likes = COALESCE(likes, 0) + 7 WHERE repo_id = :r"),
                {"r": repo_id},
            )


def rendered_catalog(tmp_path: Path, models: int) -> tuple[Any, Path, list[str]]:
    """A SQLite catalog of `models` small models, rendered in full once: (engine, site, ids)."""
    tree = tmp_path / "hub"
    ids = small_tree(tree, models)
    engine = open_engine(str(tmp_path / "catalog.db"))
    ingest_tree(engine, tree)
    site = tmp_path / "site"
    render_site(engine, site)
    return engine, site, ids


def test_incremental_render_equals_a_full_render_after_a_change_set(
    catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "hub"
    ids = small_tree(tree, 40)
    engine = open_engine(catalog_url)
    ingest_tree(engine, tree)
    verify(engine)
    site = tmp_path / "site"
    first = render_site(engine, site)
    assert first.reused == 0 and (site / MANIFEST).is_file()
    before = digest(site)
    untouched = ids[-1]
    inode = (site / f"models/{untouched}.html").stat().st_ino

    edited, liked, removed = ids[:3], ids[3:5], ids[5]
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
    add_likes(engine, liked)  # likes show on the model page, not in the catalog table
    remove_model(engine, removed)

    with monkeypatch.context() as forced:  # pages to render: two forked workers
        forced.setattr(registry.sitegen.driver, "render_workers", lambda e, c, pages: 2)
        forced.setattr(registry.sitegen.driver, "PARALLEL_MIN_ROWS", 1)  # downloads forked too
        again = render_site(engine, site, incremental=True)
    full = render_site(engine, tmp_path / "full")
    assert digest(site) == digest(tmp_path / "full")
    assert full.reused == 0
    assert again.model_pages == 40
    assert again.reused == 40 - len(edited) - len(liked) - 1
    assert not (site / UPDATING).exists()
    after = digest(site)
    for repo_id in edited + liked:
        assert after[f"models/{repo_id}.html"] != before[f"models/{repo_id}.html"]
    assert f"models/{removed}.html" not in after and f"api/models/{removed}.json" not in after
    assert after[f"models/{untouched}.html"] == before[f"models/{untouched}.html"]
    # Kept where it was: updated in place, not copied or linked into a new folder.
    assert (site / f"models/{untouched}.html").stat().st_ino == inode
    leftovers = [p.name for p in site.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_killed_incremental_render_is_followed_by_a_full_one(tmp_path: Path) -> None:
    """An incremental render that dies leaves its marker; the next one trusts nothing it finds
    and renders in full, swapping in a complete site."""
    engine, site, ids = rendered_catalog(tmp_path, 6)
    (site / UPDATING).write_text("killed mid-way\n", encoding="utf-8")
    (site / f"models/{ids[0]}.html").write_text("half a page", encoding="utf-8")
    again = render_site(engine, site, incremental=True)
    assert again.reused == 0 and not (site / UPDATING).exists()
    render_site(engine, tmp_path / "full")
    assert digest(site) == digest(tmp_path / "full")


def test_unchanged_catalog_pages_and_shards_are_kept(tmp_path: Path) -> None:
    """A change to one model's likes rewrites its page and nothing that does not show likes."""
    engine, site, ids = rendered_catalog(tmp_path, 8)
    kept = ["catalog/index.html", f"models/{ids[1]}.html"]
    rewritten = ["data/catalog-0000.json", f"models/{ids[0]}.html"]  # both show likes
    inodes = {rel: (site / rel).stat().st_ino for rel in kept + rewritten}
    add_likes(engine, [ids[0]])
    render_site(engine, site, incremental=True)
    now = {rel: (site / rel).stat().st_ino for rel in kept + rewritten}
    assert {rel: now[rel] for rel in kept} == {rel: inodes[rel] for rel in kept}
    assert all(now[rel] != inodes[rel] for rel in rewritten)
    manifest = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["files"]["catalog/index.html"][0] is not None


@pytest.mark.parametrize("workers", [1, 2])
def test_unreadable_previous_shards_render_every_model_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Kept pages need their catalog rows from the previous shards: when a shard cannot be
    read, every model page is rendered again (also when forked workers computed the keys),
    and the site still equals a full render."""
    engine, site, _ids = rendered_catalog(tmp_path, 8)
    (site / "data" / "catalog-0000.json").write_text("[[not json", encoding="utf-8")
    monkeypatch.setattr(registry.sitegen.driver, "render_workers", lambda e, c, pages: workers)
    again = render_site(engine, site, incremental=True)
    assert again.reused == 0 and again.model_pages == 8
    assert digest(site) == digest(render_site(engine, tmp_path / "full").out_dir)


def test_pager_links_the_ends_and_the_neighbours() -> None:
    names = ["index.html"] + [f"page-{n}.html" for n in range(2, 101)]
    links = pager_links(50, names)
    numbers = [link[0] if link else None for link in links]
    assert numbers == [1, None, 48, 49, 50, 51, 52, None, 100]
    assert [link[0] for link in pager_links(1, names[:3]) if link] == [1, 2, 3]
    assert pager_links(1, names[:1]) == [(1, "index.html")]


def test_a_changed_renderer_renders_every_page_again(tmp_path: Path) -> None:
    engine, site, _ids = rendered_catalog(tmp_path, 5)
    assert render_site(engine, site, incremental=True).reused == 5
    manifest = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    manifest["fingerprint"] = "an older renderer"
    (site / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert render_site(engine, site, incremental=True).reused == 0
    assert render_site(engine, site, incremental=True, base_url="https://x.test/").reused == 0
