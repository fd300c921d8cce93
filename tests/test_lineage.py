"""Lineage drift on a fine-tune tree built from corpus configs with planted rope edits, scraped
through the mirror with the real client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.lineage import compare
from scrapers.mirror import serve_in_thread
from tests.conftest import load_corpus_config

QWEN = "Qwen/Qwen2.5-7B"
QWEN3 = "Qwen/Qwen3-8B"
LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
YARN4 = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}


def _llama_scaling(**edits: Any) -> dict[str, Any]:
    return {"rope_scaling": {**load_corpus_config(LLAMA)["rope_scaling"], **edits}}


# derivative -> (its base, config edits, {planted field: level}).
PLANTED: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "tune/qwen-same": (QWEN, {}, {}),
    "tune/qwen-theta": (QWEN, {"rope_theta": 10000.0}, {"rope_theta": "breaking"}),
    "tune/qwen-theta-Q4": ("tune/qwen-theta", {"rope_theta": 10000.0}, {}),
    "tune/qwen-cut": (QWEN, {"max_position_embeddings": 32768}, {"declared_context": "suspicious"}),
    "tune/qwen-yarn": (QWEN, {"rope_scaling": YARN4}, {"scaling": "harmless"}),
    "tune/qwen3-long": (
        QWEN3,
        {"rope_scaling": YARN4, "max_position_embeddings": 131072},
        {"scaling": "harmless", "declared_context": "harmless"},
    ),
    "tune/qwen3-long-uncovered": (
        QWEN3,
        {"max_position_embeddings": 131072},
        {"declared_context": "suspicious"},
    ),
    "tune/llama-noscale": (LLAMA, {"rope_scaling": None}, {"scaling": "breaking"}),
    "tune/llama-factor": (LLAMA, _llama_scaling(factor=16.0), {"scaling_factor": "suspicious"}),
    "tune/llama-orig": (
        LLAMA,
        _llama_scaling(original_max_position_embeddings=4096),
        {"original_context": "suspicious"},
    ),
    "tune/llama-partial": (LLAMA, {"partial_rotary_factor": 0.5}, {"rotary_dim": "breaking"}),
}


def _write(root: Path, repo_id: str, config: dict[str, Any], base: str | None) -> None:
    folder = root / repo_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if base is not None:
        hub = {"cardData": {"base_model": base, "tags": ["finetune"]}}
        (folder / "hub.json").write_text(json.dumps(hub), encoding="utf-8")


def _tree(root: Path) -> None:
    configs = {name: load_corpus_config(name) for name in (QWEN, QWEN3, LLAMA)}
    for name, config in configs.items():
        _write(root, name, config, None)
    for repo_id, (base, edits, _planted) in PLANTED.items():
        root_config = configs.get(base) or {**configs[PLANTED[base][0]], **PLANTED[base][1]}
        _write(root, repo_id, {**root_config, **edits}, base)


@pytest.fixture(name="drift_db", scope="module")
def drift_db_fixture(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("drift")
    root = tmp / "hub"
    _tree(root)
    db = str(tmp / "catalog.db")
    with serve_in_thread(root) as (_server, url):
        args = ["--db", db, "scrape", "--endpoint", url, "--no-cache", "--json"]
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return db


def _drift(db: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--db", db, "drift", *args, "--json", "--all"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_drift_names_every_planted_difference_and_nothing_else(drift_db: str) -> None:
    data = _drift(drift_db)
    found = {
        d["repo_id"]: (d["base_model"], {x["field"]: x["level"] for x in d["drifts"]})
        for d in data["derivatives"]
    }
    assert found == {repo_id: (base, planted) for repo_id, (base, _e, planted) in PLANTED.items()}
    by_id = {d["repo_id"]: d for d in data["derivatives"]}
    assert by_id["tune/qwen-theta-Q4"]["depth"] == 2
    assert by_id["tune/llama-noscale"]["level"] == "breaking"
    assert data["summary"] == {"harmless": 2, "suspicious": 4, "breaking": 3, "none": 2}


def test_drift_of_one_tree_and_of_one_derivative(drift_db: str) -> None:
    llama = _drift(drift_db, LLAMA)
    assert {d["repo_id"] for d in llama["derivatives"]} == {
        r for r, (base, _e, _p) in PLANTED.items() if base == LLAMA
    }
    one = _drift(drift_db, "tune/qwen-theta")
    assert [d["repo_id"] for d in one["derivatives"]] == ["tune/qwen-theta", "tune/qwen-theta-Q4"]
    assert one["derivatives"][0]["drifts"][0]["base"] == 1000000.0


def test_drift_text_output(drift_db: str) -> None:
    result = CliRunner().invoke(cli, ["--db", drift_db, "drift"])
    assert result.exit_code == 0, result.output
    assert "tune/qwen-theta <- Qwen/Qwen2.5-7B: breaking" in result.output
    assert "tune/qwen-same" not in result.output  # no drift: listed with --all only
    assert "11 derivatives with a base in the catalog" in result.output


def test_compare_treats_nan_and_equal_numbers_as_the_same_only_when_equal() -> None:
    same = {"rope_theta": 10000, "declared_context": 4096}
    assert compare(same, {"rope_theta": 10000.0, "declared_context": 4096}) == []
    (drift,) = compare(same, {"rope_theta": float("nan"), "declared_context": 4096})
    assert drift.field == "rope_theta" and drift.level == "breaking"


def test_site_drift_page_model_boxes_filter_and_feed(
    drift_db: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from html import unescape

    out = tmp_path_factory.mktemp("drift-site") / "site"
    result = CliRunner().invoke(cli, ["--db", drift_db, "render", "--out", str(out)])
    assert result.exit_code == 0, result.output
    index = unescape((out / "drift" / "index.html").read_text(encoding="utf-8"))
    qwen = unescape((out / "drift" / "qwen.html").read_text(encoding="utf-8"))
    llama = unescape((out / "drift" / "llama.html").read_text(encoding="utf-8"))
    for repo_id, (base, _edits, planted) in PLANTED.items():
        page = unescape((out / "models" / f"{repo_id}.html").read_text(encoding="utf-8"))
        if not planted:
            assert "Differs from its base" not in page
            assert f">{repo_id}<" not in index
            continue
        box = page[page.index("Differs from its base") : page.index("</aside>")]
        assert base in box
        assert set(planted) == {
            line.split("<code>")[1].split("</code>")[0] for line in box.split("<li>")[1:]
        }
        assert f">{repo_id}</a>" in index
        assert f">{repo_id}</a>" in (qwen if base.startswith(("Qwen", "tune/qwen")) else llama)
    catalog = json.loads((out / "data" / "catalog.json").read_text(encoding="utf-8"))
    assert dict(catalog["facets"]["drift"]) == {"suspicious": 4, "breaking": 3, "harmless": 2}
    assert "drift" in catalog["columns"]
    feed = (out / "feeds" / "drift.atom").read_text(encoding="utf-8")
    assert feed.count("<entry>") == 9
    assert "tune/llama-noscale drifts from meta-llama/Llama-3.3-70B-Instruct" in feed
