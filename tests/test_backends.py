"""The same corpus catalog on SQLite and on a real PostgreSQL server answers every query the
same way: same rows, same order (ties included), NULLs last, case-insensitive author and
search; the CLI reads both; `publish-db` and the rendered site hand out the same SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from registry.cli import cli
from registry.db import open_engine, session_factory
from registry.queries import SORTS, ModelFilter, get_model, query_models, stats
from registry.sync import ingest_tree
from tests.conftest import corpus_configs


@pytest.fixture(name="both", scope="module")
def both_fixture(
    hub_tree: Path, pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The whole corpus ingested into a SQLite file and into a PostgreSQL database."""
    sqlite_db = str(tmp_path_factory.mktemp("backends") / "catalog.db")
    pg_db = pg_cluster.create_database()
    engines = {}
    for name, url in (("sqlite", sqlite_db), ("postgresql", pg_db)):
        engine = open_engine(url)
        summary = ingest_tree(engine, hub_tree)
        assert summary.total == len(corpus_configs()), summary.counts
        engines[name] = engine
    yield {"engines": engines, "urls": {"sqlite": sqlite_db, "postgresql": pg_db}}
    for engine in engines.values():
        engine.dispose()
    pg_cluster.drop_database(pg_db)


def _rows(engine: Any, **kwargs: Any) -> list[dict[str, Any]]:
    with session_factory(engine)() as session:
        return query_models(session, ModelFilter(**kwargs))


FILTERS: list[dict[str, Any]] = [
    {},
    {"pe": ("rope-yarn",)},
    {"pe": ("rope-llama3", "alibi")},
    {"min_context": 131072},
    {"scaling": "none"},
    {"scaling": "yarn", "min_context": 32768},
    {"verdict": "unverified"},
    {"family": "qwen"},
    {"author": "deepseek-ai"},
    {"search": "instruct"},
    {"search": "100%_"},
]


@pytest.mark.parametrize("sort", [f"{name}{d}" for name in SORTS for d in ("", ":asc", ":desc")])
def test_every_sort_answers_the_same_on_both_backends(both: dict[str, Any], sort: str) -> None:
    lite, pg = both["engines"]["sqlite"], both["engines"]["postgresql"]
    for f in FILTERS:
        whole = _rows(lite, sort=sort, **f)
        assert whole == _rows(pg, sort=sort, **f), (sort, f)
        pages = _rows(pg, sort=sort, limit=25, offset=10, **f)
        assert pages == _rows(lite, sort=sort, limit=25, offset=10, **f) == whole[10:35]
    assert len(_rows(lite, sort=sort)) == len(corpus_configs())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("sort", list(SORTS))
def test_nulls_are_last_in_both_directions(both: dict[str, Any], backend: str, sort: str) -> None:
    table, column, _natural = SORTS[sort]
    key = {"last_modified": "last_modified", "repo_id": "repo_id"}.get(column, column)
    for direction in ("asc", "desc"):
        values = [r[key] for r in _rows(both["engines"][backend], sort=f"{sort}:{direction}")]
        known = [v for v in values if v is not None]
        assert values[: len(known)] == known, f"{sort}:{direction} puts a NULL before a value"
        assert known == sorted(known, reverse=direction == "desc")


def test_ties_keep_one_order_on_both_backends(both: dict[str, Any]) -> None:
    """Many corpus models share a theta: their order comes from the id tiebreak, the same on
    both backends, in the sort's direction."""
    rows = _rows(both["engines"]["postgresql"], sort="theta")
    thetas = [r["rope_theta"] for r in rows if r["rope_theta"] is not None]
    assert len(thetas) > len(set(thetas)) + 50, "the corpus must have ties for this to mean much"
    assert rows == _rows(both["engines"]["sqlite"], sort="theta")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_author_and_search_ignore_case(both: dict[str, Any], backend: str) -> None:
    engine = both["engines"][backend]
    expected = {name for name, _ in corpus_configs() if name.lower().startswith("deepseek-ai/")}
    assert expected, "the corpus has deepseek-ai models"
    for author in ("deepseek-ai", "DeepSeek-AI", "DEEPSEEK-AI"):
        assert {r["repo_id"] for r in _rows(engine, author=author)} == expected
    found = {name for name, _ in corpus_configs() if "deepseek" in name.lower()}
    for search in ("deepseek", "DeepSeek", "DEEPSEEK"):
        assert {r["repo_id"] for r in _rows(engine, search=search)} == found


def test_stats_and_show_agree(both: dict[str, Any]) -> None:
    lite, pg = both["engines"]["sqlite"], both["engines"]["postgresql"]
    with session_factory(lite)() as a, session_factory(pg)() as b:
        assert stats(a) == stats(b)
        for repo_id in ("deepseek-ai/DeepSeek-V3", "openai/gpt-oss-20b", "bigscience/bloom"):
            one, two = get_model(a, repo_id), get_model(b, repo_id)
            assert one["facts"] == two["facts"] and one["config"] == two["config"]
            assert [c["field_path"] for c in one["changes"]] == [
                c["field_path"] for c in two["changes"]
            ]


def _cli(*args: str, db: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)


@pytest.mark.parametrize(
    "args",
    [
        ("query", "--author", "DeepSeek-AI", "--json"),
        ("query", "--search", "DeepSeek", "--sort", "theta", "--json"),
        ("query", "--sort", "context:asc", "--limit", "20", "--json"),
        ("query", "--sort", "factor", "--csv"),
        ("stats", "--json"),
        ("show", "deepseek-ai/DeepSeek-V3", "--json"),
        ("sql", "SELECT repo_id, downloads FROM models ORDER BY repo_id LIMIT 5", "--json"),
    ],
)
def test_cli_reads_both_backends_alike(both: dict[str, Any], args: tuple[str, ...]) -> None:
    outputs = {}
    for backend, url in both["urls"].items():
        result = _cli(*args, db=url)
        assert result.exit_code == 0, result.output
        outputs[backend] = result.output
    if args[0] == "show":  # fetch times differ between the two ingests
        one, two = (json.loads(o) for o in outputs.values())
        assert one["facts"] == two["facts"] and one["model"]["sha"] == two["model"]["sha"]
    else:
        assert outputs["sqlite"] == outputs["postgresql"]


def test_sql_on_postgresql_is_read_only_from_the_cli(both: dict[str, Any]) -> None:
    url = both["urls"]["postgresql"]
    result = _cli("sql", "DELETE FROM models", db=url)
    assert result.exit_code != 0 and "read-only" in result.output
    assert "Traceback" not in result.output
    count = _cli("sql", "SELECT count(*) AS n FROM models", "--json", db=url)
    assert json.loads(count.output) == [{"n": len(corpus_configs())}]


def _published_rows(path: Path) -> dict[str, Any]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return {
            "configs": conn.execute("SELECT COUNT(config_text) FROM config_snapshots").fetchone(),
            "version": conn.execute("SELECT value FROM meta").fetchall(),
            "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
            "fk": conn.execute("PRAGMA foreign_key_check").fetchall(),
        }


def test_publish_db_from_postgresql_writes_the_same_sqlite_catalog(
    both: dict[str, Any], tmp_path: Path
) -> None:
    from registry.models import SCHEMA_VERSION

    for backend, url in both["urls"].items():
        result = _cli("publish-db", str(tmp_path / f"{backend}.db"), db=url)
        assert result.exit_code == 0, result.output
        assert f"{len(corpus_configs())} models" in result.output
    assert f"{len(corpus_configs())} config texts stripped" in result.output
    from_pg, from_lite = tmp_path / "postgresql.db", tmp_path / "sqlite.db"
    checks = _published_rows(from_pg)
    assert checks == {
        "configs": (0,),
        "version": [(str(SCHEMA_VERSION),)],
        "integrity": [("ok",)],
        "fk": [],
    }
    assert checks == _published_rows(from_lite)
    published = open_engine(str(from_pg), readonly=True)
    try:
        for sort in ("downloads", "theta:asc", "context"):
            assert _rows(published, sort=sort) == _rows(both["engines"]["postgresql"], sort=sort)
    finally:
        published.dispose()
    assert not list(tmp_path.glob("*.tmp")), "no half-written copy is left"


def test_render_from_postgresql_ships_the_sqlite_download_and_the_same_site(
    both: dict[str, Any], tmp_path: Path
) -> None:
    """The PostgreSQL catalog, exported to SQLite, renders byte for byte the same site as the
    server does (the two ingests differ in their times, so they cannot be compared)."""
    from registry.export import export_to_sqlite
    from registry.sitegen import render_site

    pg = both["engines"]["postgresql"]
    copied = export_to_sqlite(pg, tmp_path / "copy.db")
    assert copied["models"] == len(corpus_configs())
    copy = open_engine(str(tmp_path / "copy.db"), readonly=True)
    sites = {"postgresql": tmp_path / "pg-site", "sqlite": tmp_path / "lite-site"}
    try:
        render_site(pg, sites["postgresql"])
        render_site(copy, sites["sqlite"])
    finally:
        copy.dispose()
    download = sites["postgresql"] / "downloads" / "catalog.db"
    assert download.is_file()
    assert not list(download.parent.glob("catalog.db-*")), "no WAL or journal beside it"
    with sqlite3.connect(f"file:{download}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT COUNT(*) FROM models").fetchone() == (len(corpus_configs()),)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    files = {p.relative_to(sites["sqlite"]) for p in sites["sqlite"].rglob("*") if p.is_file()}
    assert files == {
        p.relative_to(sites["postgresql"]) for p in sites["postgresql"].rglob("*") if p.is_file()
    }
    assert len(files) > len(corpus_configs())
    differ = [
        str(f)
        for f in sorted(files)
        if f.name != "catalog.db"
        and (sites["sqlite"] / f).read_bytes() != (sites["postgresql"] / f).read_bytes()
    ]
    assert differ == [], "the site is the same page for page on both backends"


def test_an_unreachable_or_driverless_postgresql_url_is_one_clear_line(pg_cluster: Any) -> None:
    missing = pg_cluster.url("no_such_catalog")
    for url, message in (
        (missing, "Cannot connect"),
        ("postgresql+nodriver://u@h/db", "ropedex[postgres]"),
    ):
        result = CliRunner().invoke(cli, ["--db", url, "stats"])
        text = result.output.strip()
        assert result.exit_code != 0 and "Traceback" not in text
        assert len(text.splitlines()) == 1 and text.startswith("Error: ") and message in text
    locked = CliRunner().invoke(cli, ["--db", missing, "nightly", "--offline"])
    assert locked.exit_code != 0 and "Cannot connect" in locked.output


def test_postgresql_has_the_nulls_last_popularity_indexes(both: dict[str, Any]) -> None:
    """The unfiltered most-downloaded page reads an index on PostgreSQL, not a sort of every
    row (the plan is forced off sequential scans: the test catalog is small)."""
    from sqlalchemy import text

    from registry.migrations import POSTGRES_INDEXES
    from registry.queries import ModelFilter, compiled_sql

    pg = both["engines"]["postgresql"]
    with pg.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes"))}
        assert set(POSTGRES_INDEXES) <= names
        conn.execute(text("SET enable_seqscan = off"))
        sql, params = compiled_sql(ModelFilter(sort="downloads", limit=50), dialect="postgresql")
        raw = conn.connection.driver_connection
        plan = "\n".join(r[0] for r in raw.execute(f"EXPLAIN {sql}", params))
        assert "ix_models_downloads_nulls_last" in plan


def test_family_sorted_by_context_joins_through_the_context_index(both: dict[str, Any]) -> None:
    """A models-only filter sorted by context can be answered from an index on both backends.
    SQLite, with statistics (the nightly's verify stage refreshes them), reads each match's
    context from the (snapshot_id, effective_context) index instead of the facts rows.
    PostgreSQL can walk its (effective_context DESC NULLS LAST, snapshot_id DESC) index from
    the top, as it does at 1,000,000 models (docs/benchmarks.md): that index's order is the
    page's ORDER BY, so with sorting and sequential scans priced out the plan reads it and
    sorts nothing but the final 50 rows."""
    import sqlite3

    from sqlalchemy import text

    from registry.db import refresh_statistics
    from registry.queries import ModelFilter, compiled_sql

    f = ModelFilter(family="qwen", sort="context", limit=50)
    for dialect, engine in both["engines"].items():
        refresh_statistics(engine)
        sql, params = compiled_sql(f, dialect=dialect)
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            if dialect == "postgresql":
                conn.execute(text("SET enable_seqscan = off"))
                conn.execute(text("SET enable_sort = off"))
                conn.execute(text("SET enable_hashjoin = off"))
                plan = "\n".join(r[0] for r in raw.execute(f"EXPLAIN {sql}", params))
                assert "ix_facts_context_nulls_last" in plan, plan
                assert plan.count("Sort Key") == 1, plan  # the 50 rows; the page is read in order
                continue
            assert isinstance(raw, sqlite3.Connection)
            plan = [r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            assert any("COVERING INDEX ix_facts_snapshot_context" in p for p in plan), plan
