"""The catalog commands end to end: ingest, query, show, sql, stats, and their error lines."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from registry.cli import cli
from registry.queries import ROW_KEYS
from tests.conftest import corpus_configs


def _run(*args: str, db: Path | str | None = None) -> Result:
    argv = (["--db", str(db)] if db is not None else []) + list(args)
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


@pytest.fixture(name="catalog", scope="module")
def catalog_fixture(hub_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "catalog.db"
    result = _run("ingest", str(hub_tree), db=db)
    assert result.exit_code == 0, result.output
    return db


def _one_error_line(result: Result) -> str:
    assert result.exit_code != 0
    text = result.output.strip()
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    assert text.startswith("Error: ")
    return text


def test_ingest_reports_counts_and_reingest_writes_nothing(catalog: Path, hub_tree: Path) -> None:
    conn = sqlite3.connect(catalog)
    tables = ("models", "config_snapshots", "position_facts", "changes", "fetch_errors")
    before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    conn.close()
    result = _run("ingest", str(hub_tree), "--json", db=catalog)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["unchanged"] == len(corpus_configs())
    assert summary["new"] == summary["changed"] == summary["error"] == 0
    conn = sqlite3.connect(catalog)
    after = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    conn.close()
    assert after == before


def test_query_pe_yarn_json_lists_deepseek_and_gpt_oss(catalog: Path) -> None:
    result = _run("query", "--pe", "rope-yarn", "--json", db=catalog)  # the command
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert all(list(r) == list(ROW_KEYS) for r in rows)
    ids = {r["repo_id"] for r in rows}
    assert {"deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-R1", "openai/gpt-oss-120b"} <= ids
    assert {r["position_encoding"] for r in rows} <= {"rope-yarn", "rope-yarn+nope"}


def test_query_filters_compose(catalog: Path) -> None:
    result = _run(
        "query", "--scaling", "yarn", "--min-context", "160k", "--sort", "context", "--json",
        db=catalog,
    )  # fmt: skip
    rows = json.loads(result.output)
    assert rows and all(r["effective_context"] >= 160 * 1024 for r in rows)
    contexts = [r["effective_context"] for r in rows]
    assert contexts == sorted(contexts, reverse=True)


def test_query_csv_and_table(catalog: Path) -> None:
    result = _run("query", "--family", "deepseek", "--csv", db=catalog)
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows and list(rows[0]) == list(ROW_KEYS)
    assert all(r["family"] == "deepseek" for r in rows)
    table = _run("query", "--search", "gpt-oss", db=catalog)
    assert table.exit_code == 0 and "openai/gpt-oss-20b" in table.output


def test_query_table_says_contexts_as_the_site_does(catalog: Path) -> None:
    """The table's context cells come from the site's formatter: 128,000 stays exact (never
    '125k'), 131,072 reads '128k'."""
    from registry.formatting import fmt_tokens

    rows = json.loads(_run("query", "--json", "--limit", "0", db=catalog).output)
    exact = next(r for r in rows if r["effective_context"] == 128000)
    short = next(r for r in rows if r["effective_context"] == 131072)
    for row, text in ((exact, "128,000"), (short, "128k")):
        assert fmt_tokens(row["effective_context"]) == text
        table = _run("query", "--search", row["repo_id"], db=catalog).output
        line = next(x for x in table.splitlines() if row["repo_id"] in x)
        assert f" {text} " in line, line
    assert "125k" not in _run("query", "--search", exact["repo_id"], db=catalog).output


def test_show_json_and_text(catalog: Path) -> None:
    result = _run("show", "deepseek-ai/DeepSeek-V3", "--json", db=catalog)
    data = json.loads(result.output)
    assert data["facts"]["position_encoding"] == "rope-yarn"
    assert data["facts"]["evidence"]
    assert data["config"]["model_type"] == "deepseek_v3"
    text = _run("show", "deepseek-ai/DeepSeek-V3", db=catalog).output
    assert "rope-yarn" in text and "Evidence" in text and "unverified" in text


def test_sql_is_read_only(catalog: Path) -> None:
    result = _run("sql", "SELECT count(*) AS n FROM models", "--json", db=catalog)
    assert json.loads(result.output) == [{"n": len(corpus_configs())}]
    line = _one_error_line(_run("sql", "DELETE FROM models", db=catalog))
    assert "read-only" in line
    conn = sqlite3.connect(catalog)
    assert conn.execute("SELECT count(*) FROM models").fetchone()[0] == len(corpus_configs())
    conn.close()
    assert "SQL error" in _one_error_line(_run("sql", "SELEC 1", db=catalog))


def test_stats_json(catalog: Path) -> None:
    data = json.loads(_run("stats", "--json", db=catalog).output)
    assert data["models"] == len(corpus_configs())
    assert sum(data["position_encoding"].values()) == data["models"]
    assert data["position_encoding"]["rope-yarn"] >= 4
    assert "yarn" in data["scaling_type"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("query", "--pe", "rope-yarnn"), "known tags"),
        (("query", "--min-context", "lots"), "128k"),
        (("query", "--sort", "popularity"), "sort"),
        (("query", "--verdict", "maybe"), "verdict"),
        (("show", "nobody/nothing"), "ropedex query --search"),
        (("show", "deepseek-ai/DeepSeek-V9"), "Did you mean"),
    ],
)
def test_errors_are_one_clear_line(catalog: Path, args: tuple[str, ...], needle: str) -> None:
    assert needle in _one_error_line(_run(*args, db=catalog))


@pytest.mark.parametrize("command", [("query",), ("show", "a/b"), ("stats",), ("sql", "SELECT 1")])
def test_missing_catalog_names_the_next_step(tmp_path: Path, command: tuple[str, ...]) -> None:
    db = tmp_path / "absent.db"
    assert "ropedex ingest" in _one_error_line(_run(*command, db=db))
    assert not db.exists()


def test_default_catalog_comes_from_the_environment(tmp_path: Path, monkeypatch: Any) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("ROPEDEX_DB", str(db))
    assert str(db) in _one_error_line(_run("stats"))


@pytest.mark.parametrize("url", ["nosuchdialect://x/y", "postgresql+nodriver://u@h/db"])
def test_bad_url_is_one_line(url: str) -> None:
    assert "SQLAlchemy URL" in _one_error_line(_run("stats", db=url))


def test_too_new_catalog_is_one_line(catalog: Path, tmp_path: Path) -> None:
    copy = tmp_path / "new.db"
    src = sqlite3.connect(catalog)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    dst.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    dst.commit()
    src.close()
    dst.close()
    assert "upgrade ropedex" in _one_error_line(_run("stats", db=copy))


def test_ingest_of_a_missing_dir_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert "ORG/NAME" in _one_error_line(_run("ingest", str(tmp_path / "nope"), db=db))
    assert not db.exists()


def test_ingest_reports_bad_files_and_still_lands_good_ones(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "good/m").mkdir(parents=True)
    (root / "good/m/config.json").write_text('{"model_type": "gpt2", "n_positions": 1024}')
    (root / "bad/m").mkdir(parents=True)
    (root / "bad/m/config.json").write_text("[1, 2]")
    db = tmp_path / "c.db"
    result = _run("ingest", str(root), db=db)
    assert result.exit_code == 0
    assert "bad/m: not-object" in result.output
    assert "new 1" in result.output and "error 1" in result.output
    shown = json.loads(_run("show", "good/m", "--json", db=db).output)
    assert shown["facts"]["position_encoding"] == "learned-absolute"


def test_json_and_csv_together_is_a_usage_error(catalog: Path) -> None:
    result = _run("query", "--json", "--csv", db=catalog)
    assert result.exit_code == 2 and "one of --json, --nl and --csv" in result.output


def test_model_strings_cannot_inject_terminal_markup(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "evil/m").mkdir(parents=True)
    config = {"model_type": "[bold red]x\u001b[2J", "n_positions": 1024}
    (root / "evil/m/config.json").write_text(json.dumps(config))
    db = tmp_path / "c.db"
    _run("ingest", str(root), db=db)
    out = _run("show", "evil/m", db=db).output
    assert "[bold red]x?[2J" in out and "\u001b" not in out


def test_show_a_model_that_only_has_errors(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "org/broken").mkdir(parents=True)
    (root / "org/broken/config.json").write_text("{")
    db = tmp_path / "c.db"
    _run("ingest", str(root), db=db)
    text = _run("show", "org/broken", db=db).output
    assert "no good config stored yet" in text and "invalid-json" in text
    data = json.loads(_run("show", "org/broken", "--json", db=db).output)
    assert data["facts"] is None and data["model"]["status"] == "error"
    assert [e["reason"] for e in data["errors"]] == ["invalid-json"]


def test_show_prints_the_shared_verdict_and_checks(catalog: Path, tmp_path: Path) -> None:
    copy = tmp_path / "verified.db"
    src, dst = sqlite3.connect(catalog), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    (fingerprint,) = dst.execute(
        "SELECT f.verify_fingerprint FROM models m JOIN position_facts f "
        "ON f.snapshot_id = m.snapshot_id WHERE m.repo_id = 'deepseek-ai/DeepSeek-V3'"
    ).fetchone()
    checks = [{"id": "C5-factor", "status": "fail", "detail": "factor [red]40"}, "odd-entry"]
    dst.execute(
        "INSERT INTO verifications (fingerprint, verdict, checks, device, core_version, "
        "verified_at) VALUES (?, 'fail', ?, 'cpu', '1', '2026-01-01')",
        (fingerprint, json.dumps(checks)),
    )
    dst.commit()
    dst.close()
    text = _run("show", "deepseek-ai/DeepSeek-V3", db=copy).output
    assert "Checks" in text and "C5-factor" in text and "factor [red]40" in text
    assert "odd-entry" in text  # a check that is not an object is still shown
    rows = json.loads(_run("query", "--verdict", "fail", "--json", db=copy).output)
    shared = {r["repo_id"] for r in rows}
    assert "deepseek-ai/DeepSeek-V3" in shared and len(shared) >= 2  # R1 shares the fingerprint


def test_query_and_sql_give_json_lines_with_nl(catalog: Path) -> None:
    """--json is one array; --nl the same objects, one per line (sqlite-utils' convention)."""
    for args in (("query", "--family", "qwen"), ("sql", "SELECT repo_id FROM models LIMIT 7")):
        array = json.loads(_run(*args, "--json", db=catalog).stdout)
        lines = _run(*args, "--nl", db=catalog).stdout.splitlines()
        assert isinstance(array, list) and len(array) == len(lines) > 1
        assert [json.loads(line) for line in lines] == array
