"""Storing configs: validation, snapshots, change rows, per-model errors, Hub-like trees."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from registry.db import open_engine, session_factory
from registry.errors import BadInputDir
from registry.facts import NONFINITE_WARNING
from registry.models import (
    Change,
    ConfigSnapshot,
    FetchError,
    Model,
    PositionFacts,
    Run,
)
from registry.retag import retag_all
from registry.runs import finish_run, start_run
from registry.store import (
    CatalogShas,
    known_failures,
    known_shas,
    record_error,
    store_config,
    store_configs,
)
from registry.sync import ingest_tree
from scrapers.configfile import MAX_CONFIG_BYTES, ConfigRejected, parse_config
from scrapers.records import HubMeta, RepoItem
from scrapers.tagger.result import TAGGER_VERSION, TagResult
from tests.conftest import corpus_configs, load_corpus_config, new_catalog_url

COUNTED = (Model, ConfigSnapshot, PositionFacts, Change, FetchError)


@pytest.fixture(name="engine")
def engine_fixture(catalog_url: str) -> Any:
    """A fresh catalog on each backend (SQLite file, PostgreSQL database)."""
    engine = open_engine(catalog_url)
    yield engine
    engine.dispose()


def _counts(session: Session) -> dict[str, int]:
    return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in COUNTED}


def _config_bytes(config: dict[str, Any]) -> bytes:
    return json.dumps(config, indent=2).encode()


def _model(session: Session, repo_id: str) -> Model:
    model = session.exec(select(Model).where(Model.repo_id == repo_id)).one()
    return model


# --- Hub metadata -------------------------------------------------------------------------------


def test_hub_meta_from_the_hubs_json_shape() -> None:
    meta = HubMeta.from_api(
        {
            "id": "org/model",
            "sha": "a" * 40,
            "lastModified": "2025-01-02T03:04:05.000Z",
            "downloads": 1234,
            "likes": 56,
            "tags": ["transformers", "license:apache-2.0", "base_model:finetune:meta/base"],
            "pipeline_tag": "text-generation",
            "gated": "manual",
            "private": False,
            "library_name": "transformers",
            "author": "org",
        }
    )
    assert meta.sha == "a" * 40
    assert meta.last_modified == "2025-01-02T03:04:05.000Z"
    assert (meta.downloads, meta.likes) == (1234, 56)
    assert meta.gated == "manual"
    assert meta.license == "apache-2.0"
    assert meta.base_model == "meta/base"
    assert meta.library_name == "transformers"
    assert meta.pipeline_tag == "text-generation"


def test_hub_meta_card_data_wins_over_tags() -> None:
    meta = HubMeta.from_api(
        {
            "cardData": {"license": ["mit"], "base_model": "a/b"},
            "tags": ["license:other", "base_model:c/d"],
            "gated": False,
        }
    )
    assert (meta.license, meta.base_model, meta.gated) == ("mit", "a/b", None)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "text",
        {"downloads": "many", "likes": True, "tags": "x", "gated": 3, "sha": 5, "cardData": []},
    ],
)
def test_hub_meta_tolerates_wrong_types(payload: Any) -> None:
    meta = HubMeta.from_api(payload)
    assert meta.downloads is None and meta.likes is None and meta.sha is None
    assert meta.tags == [] and meta.gated is None and meta.license is None


# --- validating bytes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid-json"),
        (b"", "invalid-json"),
        (b"[1, 2]", "not-object"),
        (b'"a string"', "not-object"),
        (b"42", "not-object"),
        (b'{"model_type": "caf\xe9"}', "not-utf8"),
        (b"[" * 100_000 + b"]" * 100_000, "too-deep"),
        (b'{"a": ' + b"9" * 5000 + b"}", "number-too-long"),
        (b'{"a": [' * 65 + b"1" + b"]}" * 65, "too-deep"),
        (b'{"a": "' + b"x" * MAX_CONFIG_BYTES + b'"}', "too-large"),
    ],
)
def test_parse_config_rejects_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ConfigRejected) as info:
        parse_config(raw)
    assert info.value.reason == reason
    assert info.value.detail


def test_parse_config_accepts_bom_and_nonfinite_literals() -> None:
    parsed = parse_config(b'\xef\xbb\xbf{"rope_theta": NaN, "x": Infinity}')
    assert parsed.nonfinite
    assert parsed.config["x"] == float("inf")


def test_nonfinite_numbers_are_stored_as_valid_json(session: Session) -> None:
    def passthrough(config: dict[str, Any]) -> TagResult:
        # a tagger that copies the numbers as they are, to exercise the storage rules
        return TagResult(
            position_encoding="rope-yarn",
            rope_theta=config["rope_theta"],
            scaling_params={"factor": config["factor"]},
            evidence={"rope_theta": config["rope_theta"]},
        )

    raw = b'{"model_type": "llama", "rope_theta": Infinity, "factor": NaN}'
    out = store_config(session, repo_id="o/inf", raw=raw, hub=None, run_id=None, tagger=passthrough)
    session.commit()
    facts = session.exec(select(PositionFacts)).one()
    assert out.status == "new"
    assert NONFINITE_WARNING in (facts.warnings or [])
    assert facts.rope_theta is None
    snapshot = session.exec(select(ConfigSnapshot)).one()
    assert snapshot.config_text == raw.decode()  # the raw text is kept verbatim
    conn = session.connection()
    row = conn.exec_driver_sql(  # the stored text, on either backend
        "SELECT CAST(scaling_params AS TEXT), CAST(evidence AS TEXT) FROM position_facts"
    ).one()

    def strict(literal: str) -> Any:
        pytest.fail(f"non-standard JSON literal {literal}")

    assert json.loads(row[0], parse_constant=strict) == {"factor": "NaN"}
    assert json.loads(row[1], parse_constant=strict) == {"rope_theta": "Infinity"}


# --- storing configs ----------------------------------------------------------------------------


def test_new_then_unchanged_then_changed_with_change_rows(session: Session) -> None:
    config = load_corpus_config("deepseek-ai/DeepSeek-V3")
    first = store_config(
        session, repo_id="o/m", raw=_config_bytes(config), hub=None, run_id=None, commit_sha="s1"
    )
    session.commit()
    again = store_config(
        session, repo_id="o/m", raw=_config_bytes(config), hub=None, run_id=None, commit_sha="s1"
    )
    session.commit()
    assert (first.status, again.status) == ("new", "unchanged")
    before = _counts(session)

    changed = dict(config, rope_scaling=dict(config["rope_scaling"], factor=80))
    out = store_config(
        session, repo_id="o/m", raw=_config_bytes(changed), hub=None, run_id=None, commit_sha="s2"
    )
    session.commit()
    assert out.status == "changed"
    after = _counts(session)
    assert after["ConfigSnapshot"] == before["ConfigSnapshot"] + 1
    assert after["PositionFacts"] == before["PositionFacts"] + 1
    every = session.exec(select(Change).order_by(Change.field_path)).all()
    added = [c for c in every if c.field_path == "added"]
    assert [(c.commit_sha, c.old_value) for c in added] == [("s1", None)]  # its first sighting
    rows = [c for c in every if c.field_path != "added"]
    by_path = {c.field_path: c for c in rows}
    assert "scaling_factor" in by_path
    assert "rope_parameters.default.factor" in by_path
    assert json.loads(by_path["scaling_factor"].old_value or "null") == 40
    assert json.loads(by_path["scaling_factor"].new_value or "null") == 80
    assert {c.commit_sha for c in rows} == {"s2"}
    assert set(out.changed_fields) == set(by_path)
    model = _model(session, "o/m")
    assert model.snapshot_id == out.snapshot_id and model.sha == "s2"


def test_tag_change_is_recorded_under_position_encoding(session: Session) -> None:
    config = {"model_type": "llama", "max_position_embeddings": 8192, "rope_theta": 500000.0}
    store_config(session, repo_id="o/m", raw=_config_bytes(config), hub=None, run_id=None)
    scaled = dict(config, rope_scaling={"rope_type": "linear", "factor": 4.0})
    store_config(session, repo_id="o/m", raw=_config_bytes(scaled), hub=None, run_id=None)
    session.commit()
    paths = {c.field_path: c for c in session.exec(select(Change)).all()}
    assert json.loads(paths["position_encoding"].old_value or "") == "rope"
    assert json.loads(paths["position_encoding"].new_value or "") == "rope-linear"


def test_popularity_counters_never_make_change_rows(session: Session) -> None:
    raw = _config_bytes(load_corpus_config("openai/gpt-oss-20b"))
    hub1 = HubMeta(sha="s1", downloads=10, likes=1)
    hub2 = HubMeta(sha="s1", downloads=99_999, likes=500)
    store_config(session, repo_id="o/m", raw=raw, hub=hub1, run_id=None)
    out = store_config(session, repo_id="o/m", raw=raw, hub=hub2, run_id=None)
    session.commit()
    assert out.status == "unchanged"
    changes = session.exec(select(Change)).all()
    assert [c.field_path for c in changes] == ["added"]  # the first sighting only
    model = _model(session, "o/m")
    assert (model.downloads, model.likes) == (99_999, 500)


def test_same_bytes_at_a_new_commit_is_a_new_snapshot_without_changes(session: Session) -> None:
    raw = _config_bytes(load_corpus_config("openai/gpt-oss-20b"))
    store_config(session, repo_id="o/m", raw=raw, hub=None, run_id=None, commit_sha="s1")
    out = store_config(session, repo_id="o/m", raw=raw, hub=None, run_id=None, commit_sha="s2")
    session.commit()
    assert out.status == "changed" and out.changed_fields == []
    assert _counts(session)["ConfigSnapshot"] == 2
    assert known_shas(session) == {"o/m": "s2"}


def test_catalog_shas_reads_a_listing_page_at_a_time(engine: Any, session: Session) -> None:
    """The scrape's view of the catalog: one query per prefetched page, misses remembered as
    None, and a repo id no page held read on its own."""
    from sqlalchemy import event

    raw = _config_bytes(load_corpus_config("openai/gpt-oss-20b"))
    for repo_id, sha in (("o/a", "s1"), ("o/b", "s2")):
        store_config(session, repo_id=repo_id, raw=raw, hub=None, run_id=None, commit_sha=sha)
    session.commit()
    shas = CatalogShas(session_factory(engine), keep=1)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    shas.prefetch(["o/a", "o/new"])
    assert len(statements) == 1
    assert (shas.get("o/a"), shas.get("o/new")) == ("s1", None)
    assert len(statements) == 1  # both answered from the page
    assert shas.get("o/b") == "s2" and len(statements) == 2  # not prefetched: read alone
    shas.prefetch(["o/b"])
    assert shas.get("o/a") == "s1" and len(statements) == 4  # keep=1: the first page is gone


def test_reverting_to_an_old_snapshot_reuses_it(session: Session) -> None:
    a = _config_bytes({"model_type": "llama", "max_position_embeddings": 4096})
    b = _config_bytes({"model_type": "llama", "max_position_embeddings": 8192})
    for raw in (a, b, a):
        store_config(session, repo_id="o/m", raw=raw, hub=None, run_id=None, commit_sha="s")
    session.commit()
    assert _counts(session)["ConfigSnapshot"] == 2
    changes = session.exec(select(Change).where(Change.field_path == "declared_context")).all()
    assert [(c.old_value, c.new_value) for c in changes] == [("4096", "8192"), ("8192", "4096")]


def test_bad_bytes_keep_the_previous_good_snapshot(session: Session) -> None:
    good = _config_bytes(load_corpus_config("openai/gpt-oss-20b"))
    first = store_config(session, repo_id="o/m", raw=good, hub=None, run_id=None)
    run = start_run(session, "scrape")
    bad = store_config(session, repo_id="o/m", raw=b"{oops", hub=None, run_id=run.id)
    session.commit()
    assert bad.status == "error" and bad.reason == "invalid-json"
    model = _model(session, "o/m")
    assert model.snapshot_id == first.snapshot_id
    assert model.status == "error" and (model.error or "").startswith("invalid-json")
    error = session.exec(select(FetchError)).one()
    assert (error.repo_id, error.reason, error.run_id) == ("o/m", "invalid-json", run.id)
    # a good fetch afterwards clears the error state
    again = store_config(session, repo_id="o/m", raw=good, hub=None, run_id=None)
    assert again.status == "unchanged" and _model(session, "o/m").status == "ok"


def test_a_failing_tagger_keeps_the_bytes_and_records_an_error(session: Session) -> None:
    def broken(_config: dict[str, Any]) -> TagResult:
        raise RuntimeError("boom")

    raw = _config_bytes({"model_type": "llama"})
    out = store_config(session, repo_id="o/m", raw=raw, hub=None, run_id=None, tagger=broken)
    session.commit()
    assert out.snapshot_id is not None
    assert session.exec(select(FetchError)).one().reason == "tagger-error"
    store_config(session, repo_id="o/n", raw=raw, hub=None, run_id=None, tagger=broken)
    again = store_config(session, repo_id="o/m", raw=raw, hub=None, run_id=None)
    assert again.status == "unchanged"  # same bytes, but the missing facts are filled now
    assert _model(session, "o/m").status == "ok"
    assert retag_all(session) == 1  # o/n: the real tagger fills its missing facts
    session.commit()
    tags = [f.position_encoding for f in session.exec(select(PositionFacts))]
    assert tags == ["rope", "rope"]


@pytest.mark.parametrize(
    ("reason", "status"),
    [("gated", "gated"), ("missing-config", "missing"), ("http-500", "error")],
)
def test_record_error_sets_model_status(session: Session, reason: str, status: str) -> None:
    run = start_run(session, "scrape")
    record_error(session, run_id=run.id, repo_id="o/g", reason=reason, detail="x")
    finish_run(session, run, status="partial", counts={"error": 1})
    session.commit()
    assert _model(session, "o/g").status == status
    stored = session.get(Run, run.id)
    assert stored is not None and stored.status == "partial" and stored.ended_at
    assert stored.counts == {"error": 1}
    assert known_shas(session) == {"o/g": None}


def test_every_tag_result_field_is_stored(session: Session) -> None:
    config = load_corpus_config("deepseek-ai/DeepSeek-V3")
    store_config(session, repo_id="o/m", raw=_config_bytes(config), hub=None, run_id=None)
    session.commit()
    from scrapers.tagger import tag_config

    expected = tag_config(config).to_dict()
    facts = session.exec(select(PositionFacts)).one()
    stored = {**(facts.details or {}), **facts.model_dump()}
    for key, value in expected.items():
        assert key in stored, key
        assert json.dumps(stored[key], sort_keys=True) == json.dumps(value, sort_keys=True), key
    assert facts.verify_fingerprint == expected["verify_fingerprint"]


def test_retag_updates_facts_in_place_when_the_tagger_version_changes(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _config_bytes(load_corpus_config("openai/gpt-oss-20b"))
    store_config(session, repo_id="o/m", raw=raw, hub=None, run_id=None)
    session.commit()
    assert retag_all(session) == 0
    import scrapers.tagger.result

    monkeypatch.setattr(
        scrapers.tagger.result, "TAGGER_VERSION", scrapers.tagger.result.TAGGER_VERSION + 1
    )
    assert retag_all(session) == 1
    session.commit()
    facts = session.exec(select(PositionFacts)).all()
    assert len(facts) == 1 and facts[0].tagger_version == scrapers.tagger.result.TAGGER_VERSION


def test_retag_force_covers_every_snapshot_in_chunks(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry.retag

    monkeypatch.setattr(registry.retag, "_RETAG_CHUNK", 2)
    for n in (1024, 2048, 4096):
        raw = _config_bytes({"model_type": "gpt2", "n_positions": n})
        store_config(session, repo_id=f"o/m{n}", raw=raw, hub=None, run_id=None)
    store_config(
        session, repo_id="o/m1024", raw=_config_bytes({"model_type": "bert"}), hub=None, run_id=None
    )  # a second snapshot of one model is re-tagged too
    session.commit()
    assert retag_all(session, force=True) == 4
    session.commit()
    versions = {f.tagger_version for f in session.exec(select(PositionFacts))}
    assert versions == {TAGGER_VERSION}


# --- batches ------------------------------------------------------------------------------------


def _catalog_content(session: Session) -> list[list[tuple[Any, ...]]]:
    """What two ways of storing the same items must agree on (row ids and times left out)."""
    queries = [
        "SELECT repo_id, author, family, model_type, architectures, status, error, sha, "
        "failed_sha, downloads, likes, tags FROM models",
        "SELECT m.repo_id, s.commit_sha, s.content_hash, s.etag, s.size, s.config_text "
        "FROM models m JOIN config_snapshots s ON s.id = m.snapshot_id",
        "SELECT repo_id, commit_sha, content_hash, size FROM config_snapshots",
        "SELECT s.repo_id, s.content_hash, f.position_encoding, f.tagger_version, f.rope_theta, "
        "f.rope_parameters, f.warnings, f.details FROM position_facts f "
        "JOIN config_snapshots s ON s.id = f.snapshot_id",
        "SELECT repo_id, commit_sha, field_path, old_value, new_value FROM changes",
        "SELECT repo_id, reason, detail FROM fetch_errors",
    ]
    conn = session.connection()
    return [sorted(map(tuple, conn.exec_driver_sql(q).all()), key=repr) for q in queries]


def _batch_items() -> list[RepoItem]:
    """Corpus configs plus every kind of item, with repeats of one repo inside the batch."""
    items = [
        RepoItem(repo_id, raw=path.read_bytes(), hub=HubMeta(sha=f"c{n}", downloads=n))
        for n, (repo_id, path) in enumerate(corpus_configs()[:40])
    ]
    a = _config_bytes({"model_type": "llama", "max_position_embeddings": 4096})
    b = _config_bytes({"model_type": "llama", "max_position_embeddings": 8192})
    items += [
        RepoItem("o/rep", raw=a, commit_sha="s1"),
        RepoItem("o/rep", raw=b, commit_sha="s2", etag="e2"),  # changed inside the batch
        RepoItem("o/rep", raw=a, commit_sha="s1"),  # back to the first snapshot
        RepoItem("o/rep", raw=b"{oops", commit_sha="s3"),  # bad bytes keep s1 current
        RepoItem("o/rep", hub=HubMeta(sha="s3", downloads=7, likes=3)),  # metadata only
        RepoItem("o/gone", hub=HubMeta(sha="g1"), failure=("missing-config", "no file")),
        RepoItem("o/gone", hub=HubMeta(sha="g1"), failure=("http-503", "busy")),
        RepoItem("o/nan", raw=b'{"model_type": "llama", "rope_theta": NaN}'),
        RepoItem(items[0].repo_id, raw=a, hub=HubMeta(sha="c-next")),  # a corpus repo changes
    ]
    return items


def test_a_batch_stores_exactly_what_one_call_per_item_stores(
    catalog_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    items = _batch_items()
    one_by_one = open_engine(catalog_url)
    with session_factory(one_by_one)() as session:
        run = start_run(session, "ingest")
        singles = [store_configs(session, [item], run_id=run.id)[0] for item in items]
        session.commit()
        expected = _catalog_content(session)
    batched = open_engine(new_catalog_url(request, tmp_path, "batch.db"))
    with session_factory(batched)() as session:
        run = start_run(session, "ingest")
        outcomes = store_configs(session, items, run_id=run.id)
        session.commit()
        assert _catalog_content(session) == expected
    assert [(o.repo_id, o.status, o.reason, o.changed_fields) for o in outcomes] == [
        (o.repo_id, o.status, o.reason, o.changed_fields) for o in singles
    ]
    statuses = [o.status for o in outcomes[40:]]
    assert statuses == ["new", "changed", "changed", "error", "unchanged", "error", "error"] + [
        "new",
        "changed",
    ]
    with session_factory(batched)() as session:
        rep = _model(session, "o/rep")
        assert (rep.sha, rep.downloads, rep.likes, rep.status) == ("s3", 7, 3, "error")
        assert rep.snapshot_id == outcomes[42].snapshot_id == outcomes[40].snapshot_id
        stmt = select(Change).where(
            Change.field_path == "declared_context", Change.repo_id == "o/rep"
        )
        flips = [(c.repo_id, c.old_value, c.new_value) for c in session.exec(stmt)]
        assert flips == [("o/rep", "4096", "8192"), ("o/rep", "8192", "4096")]


def test_a_metadata_item_refreshes_the_listing_without_a_snapshot(session: Session) -> None:
    raw = _config_bytes(load_corpus_config("openai/gpt-oss-20b"))
    store_config(session, repo_id="o/m", raw=raw, hub=HubMeta(sha="s1", downloads=1), run_id=None)
    before = _counts(session)
    hub = HubMeta(sha="s1", downloads=9, likes=4, gated="manual", tags=["t"], last_modified="x")
    [out] = store_configs(session, [RepoItem("o/m", hub=hub)], run_id=None)
    session.commit()
    model = _model(session, "o/m")
    assert out.status == "unchanged" and out.snapshot_id == model.snapshot_id
    assert (model.downloads, model.likes, model.gated, model.tags) == (9, 4, "manual", ["t"])
    assert model.last_modified == "x" and model.sha == "s1"
    assert _counts(session) == before  # no snapshot, facts, change or error row


def test_only_failures_of_the_files_themselves_are_remembered(session: Session) -> None:
    good = _config_bytes({"model_type": "gpt2", "n_positions": 1024})
    items = [
        RepoItem("o/bad", raw=b"[1]", hub=HubMeta(sha="b1")),
        RepoItem("o/big", hub=HubMeta(sha="g1"), failure=("too-large", "more than 4 MiB")),
        RepoItem("o/busy", hub=HubMeta(sha="u1"), failure=("http-503", "Service Unavailable")),
        RepoItem("o/slow", hub=HubMeta(sha="w1"), failure=("timeout", "read timed out")),
        RepoItem("o/gated", hub=HubMeta(sha="q1"), failure=("gated", "request access")),
    ]
    store_configs(session, items, run_id=None)
    session.commit()
    remembered = known_failures(session)
    assert {k: (v.sha, v.reason, v.detail) for k, v in remembered.items()} == {
        "o/bad": ("b1", "not-object", "top level is a JSON list, not {}"),
        "o/big": ("g1", "too-large", "more than 4 MiB"),
    }
    recalled = RepoItem("o/big", hub=HubMeta(sha="g1"), failure=("too-large", "again"))
    recalled.recalled = True
    store_configs(session, [recalled], run_id=None)
    assert _model(session, "o/big").error == "too-large: more than 4 MiB"  # kept as it was
    assert len(session.exec(select(FetchError).where(FetchError.repo_id == "o/big")).all()) == 2
    store_config(session, repo_id="o/bad", raw=good, hub=HubMeta(sha="b2"), run_id=None)
    session.commit()
    assert set(known_failures(session)) == {"o/big"}  # a good fetch forgets the failure


# --- Hub-like trees -----------------------------------------------------------------------------


def test_whole_corpus_ingests_without_error_and_reingest_writes_nothing(
    engine: Any, hub_tree: Path
) -> None:
    first = ingest_tree(engine, hub_tree)
    assert first.errors == []
    assert first.counts["new"] == len(corpus_configs())
    with session_factory(engine)() as session:
        before = _counts(session)
        assert before["Model"] == len(corpus_configs())
        assert before["PositionFacts"] == before["Model"]
    second = ingest_tree(engine, hub_tree)
    assert second.counts["unchanged"] == len(corpus_configs())
    with session_factory(engine)() as session:
        assert _counts(session) == before
        runs = session.exec(select(Run)).all()
    assert [r.status for r in runs] == ["ok", "ok"]


def _write(root: Path, repo_id: str, content: bytes | dict[str, Any]) -> Path:
    folder = root / repo_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_bytes(content if isinstance(content, bytes) else _config_bytes(content))
    return path


def test_bad_files_become_per_model_errors_while_good_configs_land(
    engine: Any, tmp_path: Path
) -> None:
    root = tmp_path / "tree"
    good = {
        "good/llama": load_corpus_config("openai/gpt-oss-20b"),
        "good/deepseek": load_corpus_config("deepseek-ai/DeepSeek-V3"),
    }
    for repo_id, config in good.items():
        _write(root, repo_id, config)
    _write(root, "bad/invalid-json", b'{"model_type": "llama",')
    _write(root, "bad/array", b"[1, 2, 3]")
    _write(root, "bad/latin1", '{"model_type": "caf\u00e9"}'.encode("latin-1"))
    with open(_write(root, "bad/huge", b'{"pad": "'), "ab") as fh:  # 50 MB
        fh.write(b"x" * (50 * 1024 * 1024) + b'"}')
    (root / "bad/dir-config/config.json").mkdir(parents=True)  # unreadable: a directory
    (root / "bad/broken-link").mkdir(parents=True)
    os.symlink(root / "nowhere.json", root / "bad/broken-link/config.json")
    outside = tmp_path / "outside.json"
    outside.write_text('{"model_type": "llama"}')
    (root / "bad/escape").mkdir(parents=True)
    os.symlink(outside, root / "bad/escape/config.json")
    (root / "bad/fifo").mkdir(parents=True)
    os.mkfifo(root / "bad/fifo/config.json")  # reading it would block forever
    elsewhere = tmp_path / "elsewhere"
    _write(elsewhere, "x/y", {"model_type": "llama"})
    os.symlink(elsewhere / "x/y", root / "bad/linked-folder")  # a NAME folder leading out
    (root / "bad/hub-only").mkdir(parents=True)
    (root / "bad/hub-only/hub.json").write_text('{"downloads": 5}')
    _write(root, "-bad/x", {"model_type": "llama"})  # not a valid repo id: skipped, no row

    summary = ingest_tree(engine, root, batch_size=3)
    expected = {
        "bad/invalid-json": "invalid-json",
        "bad/array": "not-object",
        "bad/latin1": "not-utf8",
        "bad/huge": "too-large",
        "bad/dir-config": "unreadable",
        "bad/broken-link": "unreadable",
        "bad/fifo": "unreadable",
        "bad/escape": "unsafe-path",
        "bad/linked-folder": "unsafe-path",
        "bad/hub-only": "missing-config",
    }
    assert {e.repo_id: e.reason for e in summary.errors if e.status == "error"} == expected
    assert [e.repo_id for e in summary.errors if e.status == "skipped"] == ["-bad/x"]
    assert summary.counts["new"] == len(good)
    with session_factory(engine)() as session:
        errors = {e.repo_id: e.reason for e in session.exec(select(FetchError))}
        assert errors == expected
        for repo_id in good:
            model = _model(session, repo_id)
            assert model.status == "ok" and model.snapshot_id is not None
        hub_only = _model(session, "bad/hub-only")
        assert (hub_only.status, hub_only.downloads) == ("missing", 5)
        assert session.exec(select(Model).where(Model.repo_id == "-bad/x")).first() is None
        run = session.exec(select(Run)).one()
        assert run.status == "partial" and run.counts and run.counts["error"] == len(expected)


def test_hub_json_metadata_is_stored(engine: Any, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    _write(root, "org/m", load_corpus_config("openai/gpt-oss-20b"))
    hub = {"sha": "abc", "downloads": 7, "likes": 2, "tags": ["license:mit"], "gated": "auto"}
    (root / "org/m/hub.json").write_text(json.dumps(hub))
    ingest_tree(engine, root)
    with session_factory(engine)() as session:
        model = _model(session, "org/m")
        snapshot = session.get(ConfigSnapshot, model.snapshot_id)
    assert (model.sha, model.downloads, model.likes, model.license, model.gated) == (
        "abc",
        7,
        2,
        "mit",
        "auto",
    )
    assert model.family == "gpt-oss" and model.model_type == "gpt_oss"
    assert snapshot is not None and snapshot.commit_sha == "abc"


def test_changed_file_in_a_tree_becomes_a_snapshot_and_changes(engine: Any, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    config = load_corpus_config("openai/gpt-oss-20b")
    path = _write(root, "openai/gpt-oss-20b", config)
    ingest_tree(engine, root)
    config["rope_theta"] = 300000
    path.write_bytes(_config_bytes(config))
    summary = ingest_tree(engine, root)
    assert summary.counts["changed"] == 1
    with session_factory(engine)() as session:
        paths = {c.field_path for c in session.exec(select(Change))}
        assert _counts(session)["ConfigSnapshot"] == 2
    assert {"rope_theta", "rope_parameters.default.theta"} <= paths


def test_ingest_tree_refuses_a_file_or_missing_dir(engine: Any, tmp_path: Path) -> None:
    with pytest.raises(BadInputDir, match="ORG/NAME/config.json"):
        ingest_tree(engine, tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    with pytest.raises(BadInputDir):
        ingest_tree(engine, tmp_path / "f")


def test_progress_is_reported_per_config(engine: Any, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for name in ("a", "b", "c"):
        _write(root, f"org/{name}", {"model_type": "gpt2", "n_positions": 1024})
    seen: list[tuple[int, int, str]] = []
    ingest_tree(engine, root, progress=lambda d, t, r: seen.append((d, t, r)))
    assert seen == [(1, 3, "org/a"), (2, 3, "org/b"), (3, 3, "org/c")]


# --- families -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_type", "family"),
    [
        ("llama", "llama"),
        ("llama4", "llama"),
        ("mllama", "llama"),
        ("qwen3_moe", "qwen"),
        ("qwen2_5_vl", "qwen"),
        ("deepseek_v3", "deepseek"),
        ("mixtral", "mistral"),
        ("ministral", "mistral"),
        ("gemma3", "gemma"),
        ("t5gemma", "gemma"),
        ("gpt_oss", "gpt-oss"),
        ("falcon_mamba", "mamba"),
        ("RefinedWebModel", "falcon"),
        ("xlm-roberta", "roberta"),
        ("mt5", "t5"),
        ("phimoe", "phi"),
        ("brand_new_arch_v2", "brand_new_arch"),
        ("zeta3_moe", "zeta3"),
        ("speecht5", "speecht5"),
        ("speech_to_text", "speech-to-text"),
        ("emu3_text_model", "emu"),
        ("mixformer-sequential", "phi"),
        ("aria_moe_lm", "aria"),
        ("owlv2_text_model", "owl-vit"),
        (None, None),
        ("", None),
    ],
)
def test_family_of(model_type: str | None, family: str | None) -> None:
    from registry.families import family_of

    assert family_of("org/x", model_type) == family


def test_every_typed_corpus_config_gets_a_family() -> None:
    from registry.families import family_of

    for repo_id, path in corpus_configs():
        model_type = json.loads(path.read_text(encoding="utf-8")).get("model_type")
        if model_type:
            family = family_of(repo_id, model_type)
            assert family and family == family.lower(), (repo_id, model_type)


def test_an_interrupted_ingest_keeps_committed_batches(engine: Any, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for name in "abcde":
        _write(root, f"org/{name}", {"model_type": "gpt2", "n_positions": 1024})

    def stop_at_three(done: int, _total: int, _repo_id: str) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_tree(engine, root, batch_size=2, progress=stop_at_three)
    with session_factory(engine)() as session:
        landed = [m.repo_id for m in session.exec(select(Model).order_by(Model.repo_id))]
        run = session.exec(select(Run)).one()
    assert landed == ["org/a", "org/b"]  # the second batch was rolled back
    assert run.status == "interrupted" and run.ended_at
    summary = ingest_tree(engine, root, batch_size=2)
    assert (summary.counts["unchanged"], summary.counts["new"]) == (2, 3)


def test_a_catalog_without_failed_sha_gains_it_on_a_writable_open(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    engine = open_engine(str(db))
    with session_factory(engine)() as session:
        store_config(session, repo_id="o/m", raw=b'{"model_type": "gpt2"}', hub=None, run_id=None)
        session.commit()
    engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE models DROP COLUMN failed_sha")
    engine = open_engine(str(db))
    with session_factory(engine)() as session:
        bad = RepoItem("o/m", raw=b"[]", hub=HubMeta(sha="s9"))
        assert store_configs(session, [bad], run_id=None)[0].reason == "not-object"
        session.commit()
        assert known_failures(session)["o/m"].sha == "s9"
        assert _model(session, "o/m").snapshot_id is not None  # the good snapshot stays
