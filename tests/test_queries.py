"""Queries over the catalog: filters, sorting, one model in full, counts, read-only SQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from registry.db import open_engine, session_factory
from registry.errors import BadFilter, BadQuery, ModelNotFound
from registry.models import Verification
from registry.queries import (
    ROW_KEYS,
    ModelFilter,
    compiled_sql,
    get_model,
    parse_context,
    query_models,
    run_sql,
    stats,
)
from registry.store import store_config
from registry.sync import ingest_tree
from scrapers.records import HubMeta
from scrapers.tagger.result import TagResult

# name -> (tag, effective context, scaling type, downloads)
MODELS: dict[str, tuple[str, int | None, str | None, int | None]] = {
    "meta/llama-8b": ("rope-llama3", 131072, "llama3", 900),
    "meta/llama-scout": ("rope-llama3+nope", 10485760, "llama3", 800),
    "ds/v3": ("rope-yarn", 163840, "yarn", 700),
    "openai/oss": ("rope-yarn", 131072, "yarn", 600),
    "old/gpt2": ("learned-absolute", 1024, None, 500),
    "mosaic/mpt": ("alibi", 2048, None, None),
    "odd/100%_name": ("rope", 4096, None, 10),
}


def _tagger(config: dict[str, Any]) -> TagResult:
    tag, context, scaling, _ = MODELS[config["name"]]
    return TagResult(
        position_encoding=tag,
        model_type=config["model_type"],
        effective_context=context,
        scaling_type=scaling,
        rope_theta=500000.0 if tag.startswith("rope") else None,
        evidence={"name": config["name"]},
    )


@pytest.fixture(name="engine")
def engine_fixture(catalog_url: str) -> Iterator[Any]:
    """The small catalog on each backend (SQLite file, PostgreSQL database)."""
    engine = open_engine(catalog_url)
    with session_factory(engine)() as session:
        for name, (_tag, _ctx, _scaling, downloads) in MODELS.items():
            config = {"name": name, "model_type": name.split("/")[1].split("-")[0]}
            store_config(
                session,
                repo_id=name,
                raw=json.dumps(config).encode(),
                hub=HubMeta(downloads=downloads, sha=f"sha-{name}"),
                run_id=None,
                tagger=_tagger,
            )
        session.commit()
    yield engine
    engine.dispose()


def _ids(session: Session, **kwargs: Any) -> list[str]:
    return [r["repo_id"] for r in query_models(session, ModelFilter(**kwargs))]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("32768", 32768), ("128k", 131072), ("128K", 131072), ("1M", 1048576), ("1.5k", 1536),
     ("10m", 10485760), ("4_096", 4096), (2048, 2048)],
)  # fmt: skip
def test_parse_context(text: str | int, tokens: int) -> None:
    assert parse_context(text) == tokens


@pytest.mark.parametrize("text", ["", "abc", "12q", "-5", "0", "1e9", "k"])
def test_parse_context_rejects(text: str) -> None:
    with pytest.raises(BadFilter, match="128k"):
        parse_context(text)


def test_rows_are_flat_with_stable_keys(session: Session) -> None:
    rows = query_models(session, ModelFilter())
    assert rows and all(tuple(r) == ROW_KEYS for r in rows)
    assert len(rows) == len(MODELS)


def test_default_sort_is_downloads_descending_with_unknown_last(session: Session) -> None:
    assert _ids(session) == [
        "meta/llama-8b",
        "meta/llama-scout",
        "ds/v3",
        "openai/oss",
        "old/gpt2",
        "odd/100%_name",
        "mosaic/mpt",
    ]


def test_pe_filter_includes_the_nope_variant(session: Session) -> None:
    assert _ids(session, pe=("rope-llama3",)) == ["meta/llama-8b", "meta/llama-scout"]
    assert _ids(session, pe=("rope-llama3+nope",)) == ["meta/llama-scout"]
    assert _ids(session, pe=("rope-yarn", "alibi")) == ["ds/v3", "openai/oss", "mosaic/mpt"]


def test_min_context_and_scaling_filters(session: Session) -> None:
    assert _ids(session, min_context=parse_context("160k")) == ["meta/llama-scout", "ds/v3"]
    assert _ids(session, scaling="none") == ["old/gpt2", "odd/100%_name", "mosaic/mpt"]
    assert _ids(session, scaling="yarn", min_context=131072) == ["ds/v3", "openai/oss"]


def test_search_treats_like_wildcards_literally(session: Session) -> None:
    assert _ids(session, search="100%") == ["odd/100%_name"]
    assert _ids(session, search="%") == ["odd/100%_name"]
    assert _ids(session, search="LLAMA") == ["meta/llama-8b", "meta/llama-scout"]
    assert _ids(session, search="'; DROP TABLE models; --") == []
    assert len(_ids(session)) == len(MODELS)


def test_author_family_and_model_type(session: Session) -> None:
    assert _ids(session, author="META") == ["meta/llama-8b", "meta/llama-scout"]
    assert _ids(session, model_type="oss") == ["openai/oss"]
    assert _ids(session, family="llama") == ["meta/llama-8b", "meta/llama-scout"]


def test_sort_variants_limit_and_offset(session: Session) -> None:
    assert _ids(session, sort="context", limit=2) == ["meta/llama-scout", "ds/v3"]
    assert _ids(session, sort="context:asc", limit=2) == ["old/gpt2", "mosaic/mpt"]
    assert _ids(session, sort="repo_id", limit=2, offset=1) == ["meta/llama-8b", "meta/llama-scout"]
    assert _ids(session, sort="downloads:asc")[-1] == "mosaic/mpt"  # unknown stays last


def _listed_without_config(engine: Any, names: list[str]) -> None:
    """Models the Hub listed whose config never arrived (gated): no snapshot, no facts."""
    from registry.models import Model

    with session_factory(engine)() as session:
        for name in names:
            session.add(Model(repo_id=name, author=name.split("/")[0], family="llama"))
            session.add(Model(repo_id=f"{name}-2", status="gated", downloads=5))
        session.commit()


@pytest.mark.parametrize("sort", ["context", "context:asc", "theta", "theta:asc", "factor"])
def test_facts_sorts_page_through_models_without_facts(engine: Any, sort: str) -> None:
    """A sort on a facts column picks its page among the models with facts (over the facts
    index), then fills it with the models without facts, which come last by model id. Every
    page, wherever it starts and ends, is the same slice of the whole list, on both backends,
    with or without a models-only filter."""
    from sqlmodel import select

    from registry.models import Model, PositionFacts

    _listed_without_config(engine, ["gated/a", "gated/b", "gated/c"])
    direction = sort.partition(":")[2] or "desc"
    column = {"context": "effective_context", "theta": "rope_theta", "factor": "scaling_factor"}
    with session_factory(engine)() as session:
        joined = session.exec(
            select(Model.repo_id, Model.id, PositionFacts).join(
                PositionFacts, PositionFacts.snapshot_id == Model.snapshot_id, isouter=True
            )
        ).all()
        sign = -1 if direction == "desc" else 1

        def expected(key: tuple[Any, ...]) -> tuple[Any, ...]:
            repo_id, model_id, facts = key
            if facts is None:
                return (2, 0, sign * model_id)
            value = getattr(facts, column[sort.partition(":")[0]])
            if value is None:
                return (1, 0, sign * facts.snapshot_id)
            return (0, sign * value, sign * facts.snapshot_id)

        whole = _ids(session, sort=sort)
        assert whole == [r[0] for r in sorted(joined, key=expected)]
        assert whole[-6:] == sorted(whole[-6:], key=lambda n: n.startswith("gated/"))
        for f in ({}, {"search": "gated/"}, {"search": "a"}, {"family": "llama"}):
            listed = _ids(session, sort=sort, **f)
            assert listed == [n for n in whole if n in set(listed)]
            for limit in range(1, len(listed) + 2):
                for offset in range(len(listed) + 2):
                    page = _ids(session, sort=sort, limit=limit, offset=offset, **f)
                    assert page == listed[offset : offset + limit], (f, limit, offset)


def test_one_compiled_shape_serves_every_value(session: Session) -> None:
    """The SQL text is compiled once per filter shape; each call binds its own values."""
    from registry import queries

    queries._COMPILED.clear()
    assert _ids(session, family="llama", limit=5) == ["meta/llama-8b", "meta/llama-scout"]
    assert _ids(session, family="GPT2", limit=5) == ["old/gpt2"]
    assert _ids(session, family="none-such", limit=5) == []
    assert _ids(session, pe=("rope-yarn", "alibi"), limit=1, offset=1) == ["openai/oss"]
    assert _ids(session, pe=("alibi", "rope"), limit=1, offset=1) == ["mosaic/mpt"]
    assert _ids(session, search="LLAMA", scaling="none") == []
    assert _ids(session, search="%", scaling="none") == ["odd/100%_name"]
    assert len(queries._COMPILED) == 3  # family; three tag values; search + no scaling


def test_verdict_joins_by_verify_fingerprint(session: Session) -> None:
    from sqlmodel import select

    from registry.models import PositionFacts

    facts = session.exec(select(PositionFacts)).all()
    facts[0].verify_fingerprint = "fp-shared"
    facts[1].verify_fingerprint = "fp-shared"
    session.add_all(facts[:2])
    session.add(
        Verification(
            fingerprint="fp-shared",
            verdict="fail",
            checks=[{"name": "ramp", "ok": False}],
            device="cpu",
            core_version="1",
            verified_at="2026-01-01",
        )
    )
    session.commit()
    failed = query_models(session, ModelFilter(verdict="fail"))
    assert len(failed) == 2 and {r["verdict"] for r in failed} == {"fail"}
    assert len(_ids(session, verdict="unverified")) == len(MODELS) - 2
    assert _ids(session, verdict="pass") == []
    shown = get_model(session, failed[0]["repo_id"])
    assert shown["verification"]["verdict"] == "fail"
    assert shown["verification"]["checks"] == [{"name": "ramp", "ok": False}]
    assert stats(session)["verdict"] == {"unverified": len(MODELS) - 2, "fail": 2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pe": ("rope-yarnn",)}, "known tags"),
        ({"pe": ("alibi+nope",)}, "known tags"),
        ({"scaling": "warp"}, "scaling type"),
        ({"verdict": "maybe"}, "verdict"),
        ({"sort": "popularity"}, "sort"),
        ({"sort": "downloads:sideways"}, "sort"),
        ({"limit": -1}, "limit"),
    ],
)
def test_bad_filters_are_clear_errors(
    session: Session, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadFilter, match=message):
        query_models(session, ModelFilter(**kwargs))


def test_get_model_has_everything(session: Session) -> None:
    data = get_model(session, "ds/v3")
    assert set(data) == {
        "model",
        "facts",
        "verification",
        "snapshots",
        "changes",
        "errors",
        "config",
    }
    assert data["model"]["repo_id"] == "ds/v3" and data["model"]["downloads"] == 700
    assert data["facts"]["position_encoding"] == "rope-yarn"
    assert data["facts"]["evidence"] == {"name": "ds/v3"}
    assert data["config"] == {"name": "ds/v3", "model_type": "v3"}
    assert [s["current"] for s in data["snapshots"]] == [True]
    assert data["verification"] is None and data["errors"] == []
    assert [(c["field_path"], c["old_value"]) for c in data["changes"]] == [("added", None)]
    json.dumps(data)  # JSON-ready


def test_unknown_repo_id_suggests_close_ids(session: Session) -> None:
    with pytest.raises(ModelNotFound, match="Did you mean ds/v3"):
        get_model(session, "deepseek/v3")
    with pytest.raises(ModelNotFound, match="ropedex query --search"):
        get_model(session, "nobody/nothing")


def test_stats_counts(session: Session) -> None:
    data = stats(session)
    assert data["models"] == len(MODELS) and data["not_ok"] == 0
    assert data["position_encoding"]["rope-yarn"] == 2
    assert data["scaling_type"] == {"none": 3, "llama3": 2, "yarn": 2}
    assert sum(data["family"].values()) == len(MODELS)


def test_query_plan_uses_indexes() -> None:
    """The benchmark's query shape reads through indexes, never a bare table scan."""
    import sqlite3

    engine = open_engine("sqlite://")
    conn = engine.raw_connection()
    f = ModelFilter(pe=("rope-yarn",), min_context=131072, sort="downloads", limit=50)
    sql, params = compiled_sql(f)
    driver = conn.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    plan = [r[3] for r in driver.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    conn.close()
    scans = [line for line in plan if line.startswith("SCAN")]
    assert all("USING" in line for line in scans), plan
    assert any("position_facts" in line and "INDEX" in line for line in plan), plan
    assert any(line.startswith("SEARCH models USING") for line in plan), plan


def test_run_sql_reads_and_refuses_writes(
    engine: Any, catalog_url: str, backend: str, tmp_path: Path
) -> None:
    ro = open_engine(catalog_url, readonly=True)
    names, rows = run_sql(ro, "SELECT repo_id FROM models ORDER BY repo_id LIMIT 2")
    assert names == ["repo_id"] and rows == [("ds/v3",), ("meta/llama-8b",)]
    for statement in (
        "DELETE FROM models",
        "UPDATE models SET downloads = 0",
        "CREATE TABLE x (a int)",
        "DROP TABLE models",
    ):
        with pytest.raises(BadQuery, match="read-only"):
            run_sql(ro, statement)
    if backend == "sqlite":
        with pytest.raises(BadQuery, match="read-only"):
            run_sql(ro, f"ATTACH DATABASE '{tmp_path / 'new.db'}' AS other")
        assert not (tmp_path / "new.db").exists()
    else:  # no second statement rides along, and nothing set outlives the statement
        with pytest.raises(BadQuery, match="one statement"):
            run_sql(ro, "COMMIT; DELETE FROM models")
        with pytest.raises(BadQuery, match="read-write mode"):
            run_sql(ro, "SET transaction_read_only = off")
        assert run_sql(ro, "SET default_transaction_read_only = off") == ([], [])
        with pytest.raises(BadQuery, match="read-only"):
            run_sql(ro, "DELETE FROM models")
    with pytest.raises(BadQuery, match="SQL error"):
        run_sql(ro, "SELEC 1")
    assert run_sql(ro, "SELECT count(*) FROM models")[1] == [(len(MODELS),)]
    ro.dispose()


def test_run_sql_on_postgresql_stops_at_the_statement_timeout(pg_cluster: Any) -> None:
    from registry.postgres import run_sql_postgresql

    url = pg_cluster.create_database()
    engine = open_engine(url)
    try:
        started = time.monotonic()
        with pytest.raises(BadQuery, match="stopped the statement after 0.2 s"):
            run_sql_postgresql(engine, "SELECT pg_sleep(5)", timeout_s=0.2)
        assert time.monotonic() - started < 3
        assert run_sql_postgresql(engine, "SHOW statement_timeout")[1] != [("200ms",)]
    finally:
        engine.dispose()
        pg_cluster.drop_database(url)


def test_corpus_yarn_query_lists_deepseek_and_gpt_oss(catalog_url: str, hub_tree: Path) -> None:
    engine = open_engine(catalog_url)
    ingest_tree(engine, hub_tree)
    with session_factory(engine)() as session:
        ids = set(_ids(session, pe=("rope-yarn",)))
        llama3 = set(_ids(session, pe=("rope-llama3",)))
    assert {
        "deepseek-ai/DeepSeek-V3",
        "deepseek-ai/DeepSeek-R1",
        "openai/gpt-oss-20b",
        "openai/gpt-oss-120b",
    } <= ids
    assert not ids & llama3
