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


# --- both catalog backends ---------------------------------------------------------------------

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(name="pg_cluster", scope="session")
def pg_cluster_fixture() -> Iterator[Any]:
    """A private PostgreSQL cluster for the whole session (see tests/pgcluster.py)."""
    from tests.pgcluster import pg_bin_dir, postgres_disabled, start_cluster

    if postgres_disabled():
        pytest.skip("ROPEDEX_NO_POSTGRES=1: this run covers the SQLite backend only")
    bindir = pg_bin_dir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL binaries not found (initdb, pg_ctl): install postgresql-15 (.ci/run does), "
            "set ROPEDEX_PG_BIN, or set ROPEDEX_NO_POSTGRES=1 to test SQLite only"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg is missing: install the project with its dev extra (.[dev])")
    cluster = start_cluster(bindir)
    yield cluster
    cluster.stop()


@pytest.fixture(name="backend", params=BACKENDS)
def backend_fixture(request: pytest.FixtureRequest) -> str:
    """The catalog backend a test runs on: each catalog-facing test runs once per backend."""
    return str(request.param)


@pytest.fixture(name="catalog_url")
def catalog_url_fixture(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """Where a fresh, empty catalog lives: a SQLite file path, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield str(tmp_path / "catalog.db")
        return
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database()
    yield url
    cluster.drop_database(url)


def new_catalog_url(request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    """A second fresh catalog on the same backend as `catalog_url` (file `name` on SQLite)."""
    backend = request.getfixturevalue("backend")
    if backend == "sqlite":
        return str(tmp_path / name)
    cluster = request.getfixturevalue("pg_cluster")
    url = str(cluster.create_database())
    request.addfinalizer(lambda: cluster.drop_database(url))
    return url
