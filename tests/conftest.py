"""Shared fixtures. Tests needing the corpus fail, never skip, when ../shared/corpus is missing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"


def corpus_dir() -> Path:
    if not (CORPUS_DIR / "manifest.tsv").is_file():
        pytest.fail(f"the shared corpus is missing: expected {CORPUS_DIR}/manifest.tsv")
    return CORPUS_DIR


def corpus_configs() -> list[tuple[str, Path]]:
    """(repo id, path) of every corpus config, in manifest order."""
    from scrapers.hubtree import read_manifest

    return read_manifest(corpus_dir())


def load_corpus_config(name: str) -> dict[str, Any]:
    """A corpus config by repo id (first manifest entry with that id)."""
    for repo_id, path in corpus_configs():
        if repo_id == name:
            return json.loads(path.read_text(encoding="utf-8"))
    raise KeyError(name)


@pytest.fixture(name="corpus")
def corpus_fixture() -> Path:
    return corpus_dir()


@pytest.fixture(name="hub_tree", scope="session")
def hub_tree_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hub-like tree (ORG/NAME/config.json) of the whole corpus, built once per session."""
    from scrapers.hubtree import build_hub_tree

    out = tmp_path_factory.mktemp("hub")
    build_hub_tree(corpus_dir(), out)
    return out


@pytest.fixture(name="session")
def session_fixture(engine: Any) -> Iterator[Any]:
    """A session on the test module's own `engine` fixture."""
    from registry.db import session_factory

    with session_factory(engine)() as session:
        yield session


@pytest.fixture(autouse=True)
def _isolate_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach the committed catalog.db or the real Hub."""
    monkeypatch.setenv("ROPEDEX_DB", str(tmp_path / "test-catalog.db"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # a Hub that refuses at once
