"""The lead box, the links out and the judged block on rendered model pages.

The catalog is the render tests' real one (corpus configs through ingest); its verifier rows are
the synthetic ones of tests/test_render.py, whose runtimes serve different lengths, so a lead box
that reads the wrong runtime or invents a value shows here.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from registry.lead import build_lead
from tests.test_render import build_catalog, section

HUB = "http://127.0.0.1:8123/mirror"


@pytest.fixture(name="catalog", scope="module")
def catalog_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_catalog(tmp_path_factory.mktemp("catalog"))


def _render(catalog: Path, out: Path, hub_url: str | None = None) -> Path:
    from registry.db import open_engine
    from registry.sitegen import render_site

    engine = open_engine(str(catalog), create=False, readonly=True)
    render_site(engine, out, hub_url=hub_url)
    engine.dispose()
    return out


@pytest.fixture(name="site", scope="module")
def site_fixture(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(catalog, tmp_path_factory.mktemp("site") / "out", HUB)


def _show(catalog: Path, repo_id: str) -> dict:  # type: ignore[type-arg]
    from click.testing import CliRunner

    from registry.cli import cli

    out = CliRunner().invoke(cli, ["--db", str(catalog), "show", repo_id, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)  # type: ignore[no-any-return]


def test_lead_box_comes_first_and_matches_show(site: Path, catalog: Path) -> None:
    data = _show(catalog, "deepseek-ai/DeepSeek-V3")
    lead = data["lead"]
    assert lead == build_lead(data["facts"], data["verification"], data["model"]["model_type"])
    html = (site / "models/deepseek-ai/DeepSeek-V3.html").read_text()
    order = [html.index(m) for m in ('id="lead"', "<h2>Runtimes</h2>", "<h2>Numbers</h2>")]
    assert order == sorted(order)
    served = dict(re.findall(r'data-runtime="([^"]+)" data-served="(\d*)"', html))
    assert served == {
        r["name"]: str(r["served_context"]) if r["served_context"] is not None else ""
        for r in lead["runtimes"]
    }
    # the synthetic rows have transformers and vllm only: the others are unknown, not guessed
    assert served["sglang"] == "" and served["llama.cpp"] == ""


def test_non_deepseek_pages_drop_the_deepseek_reference(site: Path) -> None:
    html = (site / "models/openai/gpt-oss-20b.html").read_text()
    assert 'data-runtime="deepseek"' not in html
    assert '<th scope="row">deepseek</th>' not in section(html, "Runtimes")


def test_catalog_served_column_is_the_smallest_served(site: Path, catalog: Path) -> None:
    rows = {r["repo_id"]: r for r in json.loads((site / "downloads/models.json").read_text())}
    for repo_id in ("deepseek-ai/DeepSeek-V3", "openai/gpt-oss-20b"):
        lead = _show(catalog, repo_id)["lead"]
        known = [r["served_context"] for r in lead["runtimes"][:4] if r["served_context"]]
        assert rows[repo_id]["served_context"] == min(known)
    assert "effective_context" not in next(iter(rows.values()))


def test_links_out_follow_the_hub_url_and_pin_the_commit(catalog: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "pinned.db"
    shutil.copy(catalog, copy)
    sha = "0123456789abcdef0123456789abcdef01234567"
    hostile = 'abc"><script>window.__pwned=1</script>'
    with sqlite3.connect(copy) as conn:
        for repo_id, commit in (("openai/gpt-oss-20b", sha), ("Qwen/Qwen3-0.6B", hostile)):
            conn.execute(
                "UPDATE config_snapshots SET commit_sha = ? WHERE id = "
                "(SELECT snapshot_id FROM models WHERE repo_id = ?)",
                (commit, repo_id),
            )
    out = _render(copy, tmp_path / "site", HUB)
    html = (out / "models/openai/gpt-oss-20b.html").read_text()
    assert f'href="{HUB}/openai/gpt-oss-20b"' in html
    assert f'href="{HUB}/openai/gpt-oss-20b/resolve/{sha}/config.json"' in html
    other = (out / "models/Qwen/Qwen3-0.6B.html").read_text()
    assert "<script>window.__pwned" not in other
    assert "/resolve/abc%22%3E%3Cscript%3E" in other  # quoted into the path, never raw


def test_default_hub_url_and_a_bad_one(catalog: Path, tmp_path: Path) -> None:
    from registry.errors import RenderError

    out = _render(catalog, tmp_path / "default")
    html = (out / "models/openai/gpt-oss-20b.html").read_text()
    assert 'href="https://huggingface.co/openai/gpt-oss-20b"' in html
    with pytest.raises(RenderError, match="hub URL"):
        _render(catalog, tmp_path / "bad", "javascript:alert(1)")


def test_published_catalog_still_shows_the_judged_block(catalog: Path, tmp_path: Path) -> None:
    from registry.nightly import publish_copy

    published = tmp_path / "published.db"
    publish_copy(catalog, published)
    with sqlite3.connect(published) as conn:
        assert conn.execute("SELECT COUNT(config_text) FROM config_snapshots").fetchone() == (0,)
    full = _render(catalog, tmp_path / "full")
    bare = _render(published, tmp_path / "bare")
    page = "models/openai/gpt-oss-20b.html"

    def judged(root: Path) -> str:
        html = (root / page).read_text()
        return html.split('<details class="judged">')[1].split("</details>")[0]

    block = judged(bare)
    assert block == judged(full)
    assert "rope_scaling" in block and "original_max_position_embeddings" in block
    assert "config.json</summary>" in (full / page).read_text()  # the raw text, when kept
    assert "config.json</summary>" not in (bare / page).read_text()
