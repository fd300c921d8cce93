"""The nightly's GGUF stage: `gguf = true` follow blocks, only unseen headers fetched (by file
sha), each stored with its check; scraped through the mirror with the real client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from registry.nightly import gguf_stage, load_follow
from scrapers.mirror import serve_in_thread
from tests.conftest import load_corpus_config
from tests.gguf_files import CASES, qwen_source, write_gguf
from tests.helpers import options

FOLLOW = """
[[select]]
author = "acme"

[[select]]
search = "GGUF"
gguf = true
"""


def _tree(root: Path) -> Path:
    base = root / "acme" / "Qwen2.5-7B-Instruct"
    base.mkdir(parents=True)
    config = qwen_source(load_corpus_config("Qwen/Qwen2.5-7B"))
    (base / "config.json").write_text(json.dumps(config), encoding="utf-8")
    quants = root / "quant" / "Qwen2.5-7B-Instruct-GGUF"
    quants.mkdir(parents=True)
    card = {"cardData": {"base_model": "acme/Qwen2.5-7B-Instruct"}}
    (quants / "hub.json").write_text(json.dumps(card), encoding="utf-8")
    write_gguf(quants / "q4.gguf", CASES["correct"], vocab=3000)
    write_gguf(quants / "q8.gguf", CASES["missing-yarn"], vocab=3000)
    return quants


def _gguf_gets(server: Any) -> list[str]:
    return [r.path for r in server.requests if r.kind == "get" and r.path.endswith(".gguf")]


def _rows(engine: Any) -> dict[str, Any]:
    from sqlmodel import Session, select

    from registry.models import GGUFHeader

    with Session(engine) as session:
        return {r.filename: r for r in session.exec(select(GGUFHeader))}


def test_gguf_stage_reads_only_unseen_headers(tmp_path: Path) -> None:
    from registry.db import open_engine

    quants = _tree(tmp_path / "hub")
    follow_file = tmp_path / "follow.toml"
    follow_file.write_text(FOLLOW, encoding="utf-8")
    follow = load_follow(follow_file)
    engine = open_engine(str(tmp_path / "catalog.db"), create=True)
    with serve_in_thread(tmp_path / "hub") as (server, url):
        stage = gguf_stage(engine, options(url), follow)
        assert stage is not None
        status, first = stage(0)
        first_gets = _gguf_gets(server)
        rows = _rows(engine)
        server.reset_counts()
        _status, second = stage(0)
        second_requests = [r.kind for r in server.requests]
        server.reset_counts()
        write_gguf(quants / "q8.gguf", CASES["correct"], vocab=3000)  # a new file sha
        _status, third = stage(0)
        third_gets = _gguf_gets(server)
        after = _rows(engine)
    assert status == "ok"
    assert first["fetched"] == 2 and first["failed"] == 0
    assert len(first_gets) == 2  # each header fits in the first range span
    assert {rows["q4.gguf"].verdict, rows["q8.gguf"].verdict} == {"pass", "fail"}
    assert rows["q8.gguf"].check["fixes"][0].endswith("-c 131072")
    assert second["repos_unchanged"] == 1 and second["fetched"] == 0
    assert second_requests.count("get") == 0  # the listing and model_info only
    assert third["fetched"] == 1 and third["unchanged"] == 1
    assert all(path.endswith("q8.gguf") for path in third_gets)
    assert after["q8.gguf"].verdict == "pass"
    assert after["q8.gguf"].file_sha != rows["q8.gguf"].file_sha
    assert after["q4.gguf"].file_sha == rows["q4.gguf"].file_sha


def test_follow_file_rejects_a_non_boolean_gguf(tmp_path: Path) -> None:
    import pytest

    from registry.errors import BadFollowFile

    path = tmp_path / "follow.toml"
    path.write_text('[[select]]\nsearch = "GGUF"\ngguf = "yes"\n', encoding="utf-8")
    with pytest.raises(BadFollowFile, match="gguf must be true or false"):
        load_follow(path)
    path.write_text('[[select]]\nauthor = "acme"\n', encoding="utf-8")
    engine: Any = None  # never used: without a gguf block there is no stage
    assert gguf_stage(engine, options("http://127.0.0.1:9"), load_follow(path)) is None


def test_stored_gguf_checks_show_in_drift_and_on_the_drift_page(tmp_path: Path) -> None:
    from html import unescape

    from click.testing import CliRunner

    from registry.cli import cli
    from registry.db import open_engine

    _tree(tmp_path / "hub")
    follow_file = tmp_path / "follow.toml"
    follow_file.write_text(FOLLOW, encoding="utf-8")
    db = str(tmp_path / "catalog.db")
    engine = open_engine(db, create=True)
    with serve_in_thread(tmp_path / "hub") as (_server, url):
        stage = gguf_stage(engine, options(url), load_follow(follow_file))
        assert stage is not None
        stage(0)
    engine.dispose()
    result = CliRunner().invoke(cli, ["--db", db, "drift", "--json"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)["gguf"]
    assert entry["filename"] == "q8.gguf" and entry["level"] == "breaking"
    assert {d["field"] for d in entry["drifts"]} == {
        "rope.scaling.type",
        "rope.scaling.factor",
        "rope.scaling.original_context_length",
    }
    flags = "--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32768 -c 131072"
    text = CliRunner().invoke(cli, ["--db", db, "drift"]).output
    assert "quant/Qwen2.5-7B-Instruct-GGUF:q8.gguf <- acme/Qwen2.5-7B-Instruct" in text
    assert flags in text
    out = tmp_path / "site"
    rendered = CliRunner().invoke(cli, ["--db", db, "render", "--out", str(out)])
    assert rendered.exit_code == 0, rendered.output
    page = unescape((out / "drift" / "index.html").read_text(encoding="utf-8"))
    assert "q8.gguf" in page and "q4.gguf" not in page and flags in page
