"""`verify_catalog` and `ropedex verify` on a real catalog (SQLite and PostgreSQL) built by the
real ingest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from registry.cli import cli
from registry.db import open_engine
from registry.models import ConfigSnapshot, PositionFacts, Run, Verification
from registry.sync import ingest_tree
from registry.verify.catalog import verify_catalog
from scrapers.tagger import tag_config
from tests.conftest import load_corpus_config

SOURCES = [
    "deepseek-ai/DeepSeek-V3",
    "openai/gpt-oss-20b",
    "meta-llama/Meta-Llama-3.1-8B",
    "Qwen/Qwen3-8B",
    "google/umt5-base",  # no RoPE: never verified
    "mistralai/Ministral-3-8B-Instruct-2512",
]
COPIES = 3  # every source is also published by two re-uploaders with the identical config


@pytest.fixture(name="catalog")
def catalog_fixture(tmp_path: Path, catalog_url: str) -> tuple[str, set[str]]:
    """A catalog of SOURCES x COPIES models on each backend, and the distinct fingerprints the
    tagger gives."""
    tree = tmp_path / "hub"
    fingerprints: set[str] = set()
    for n, repo_id in enumerate(SOURCES):
        config = load_corpus_config(repo_id)
        fp = tag_config(config).verify_fingerprint
        if fp is not None:
            fingerprints.add(fp)
        for copy in range(COPIES):
            folder = tree / f"org{copy}" / f"model-{n}"
            folder.mkdir(parents=True)
            (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    db = catalog_url
    summary = ingest_tree(open_engine(db), tree)
    assert summary.counts["new"] == len(SOURCES) * COPIES
    return db, fingerprints


def _rows(db: str) -> dict[str, Verification]:
    with Session(open_engine(str(db))) as session:
        return {v.fingerprint: v for v in session.exec(select(Verification)).all()}


def test_verifies_once_per_fingerprint(catalog: tuple[str, set[str]]) -> None:
    db, fingerprints = catalog
    seen: list[tuple[int, int]] = []
    with Session(open_engine(str(db))) as session:
        first = verify_catalog(session, device="cpu", progress=lambda d, t: seen.append((d, t)))
        again = verify_catalog(session, device="cpu")
        forced = verify_catalog(session, device="cpu", force=True)
    assert first.checked == len(fingerprints) == len(SOURCES) - 1
    assert seen[-1] == (len(fingerprints), len(fingerprints))
    assert (again.checked, again.skipped_existing) == (0, len(fingerprints))
    assert forced.checked == len(fingerprints)
    assert sum(first.by_verdict.values()) == first.checked
    rows = _rows(db)
    assert set(rows) == fingerprints
    assert all(r.verdict in ("pass", "warn", "fail") and r.checks for r in rows.values())
    assert all(r.device == "cpu" and r.core_version for r in rows.values())


def test_verdicts_of_an_older_verifier_are_verified_again(catalog: tuple[str, set[str]]) -> None:
    db, fingerprints = catalog
    with Session(open_engine(str(db))) as session:
        verify_catalog(session, device="cpu")
        stale = sorted(fingerprints)[0]
        row = session.exec(select(Verification).where(Verification.fingerprint == stale)).one()
        row.core_version, row.verdict = "verify-0", "fail"
        session.add(row)
        session.commit()
        again = verify_catalog(session, device="cpu")
    assert (again.checked, again.skipped_existing) == (1, len(fingerprints) - 1)
    rows = _rows(db)
    assert len(rows) == len(fingerprints), "the stale row was overwritten, not duplicated"
    assert rows[stale].core_version != "verify-0" and rows[stale].verdict != "fail"


def test_stripped_config_text_gives_the_same_verdicts(catalog: tuple[str, set[str]]) -> None:
    db, _ = catalog
    engine = open_engine(str(db))
    with Session(engine) as session:
        verify_catalog(session, device="cpu")
    before = {fp: (r.verdict, r.checks) for fp, r in _rows(db).items()}
    with Session(engine) as session:
        for snap in session.exec(select(ConfigSnapshot)).all():
            snap.config_text = None
            session.add(snap)
        for row in session.exec(select(Verification)).all():
            session.delete(row)
        session.commit()
        verify_catalog(session, device="cpu")
    after = {fp: (r.verdict, r.checks) for fp, r in _rows(db).items()}
    assert after == before


def test_facts_verdict_matches_a_fresh_tag(catalog: tuple[str, set[str]]) -> None:
    from registry.verify.verdict import verify_tag

    db, _ = catalog
    with Session(open_engine(str(db))) as session:
        verify_catalog(session, device="cpu")
    stored = _rows(db)
    for repo_id in SOURCES:
        tag = tag_config(load_corpus_config(repo_id))
        if tag.verify_fingerprint is None:
            continue
        fresh = verify_tag(tag, device="cpu").to_dict()
        assert stored[tag.verify_fingerprint].checks == fresh["checks"]


def test_cli_verify_and_show(catalog: tuple[str, set[str]]) -> None:
    db, fingerprints = catalog
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db), "verify", "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["checked"] == len(fingerprints) and summary["device"] == "cpu"
    assert f"verified {len(fingerprints)}/{len(fingerprints)}" in result.stderr
    plain = runner.invoke(cli, ["--db", str(db), "verify", "--device", "cpu"])
    assert plain.exit_code == 0
    assert f"skipped {len(fingerprints)} with a stored verdict" in plain.stdout
    shown = runner.invoke(cli, ["--db", str(db), "show", "org1/model-0", "--json"])
    assert shown.exit_code == 0, shown.output
    verification = json.loads(shown.stdout)["verification"]
    assert verification["verdict"] == "pass"  # DeepSeek-V3
    assert any(c["id"] == "X1-runtime-agreement" for c in verification["checks"])
    with Session(open_engine(str(db))) as session:
        runs = session.exec(select(Run).where(Run.kind == "verify")).all()
        facts = session.exec(select(PositionFacts)).all()
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[0].counts is not None and runs[0].counts["checked"] == len(fingerprints)
    assert sum(1 for f in facts if f.verify_fingerprint) == (len(SOURCES) - 1) * COPIES


def test_cli_verify_without_a_catalog(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "verify"])
    assert result.exit_code == 1
    assert "No catalog" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "none.db").exists()


def test_cuda_device_is_used_or_refused_cleanly(catalog: tuple[str, set[str]]) -> None:
    import torch

    db, _ = catalog
    result = CliRunner().invoke(cli, ["--db", str(db), "verify", "--device", "cuda", "--json"])
    if torch.cuda.is_available():
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["device"].startswith("cuda")
    else:
        assert result.exit_code == 1
        assert "--device cpu" in result.output and "Traceback" not in result.output


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from registry.cli import cli\n"
        "for cmd in ('check', 'verify'):\n"
        "    try:\n"
        "        cli([cmd, '--help'], prog_name='ropedex')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert "--device [auto|cpu|cuda]" in out.stdout


def test_a_crash_mid_run_keeps_committed_verdicts(
    catalog: tuple[str, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry.verify.catalog
    import registry.verify.verdict

    db, fingerprints = catalog
    real = registry.verify.verdict.verify
    calls: list[int] = []

    def flaky(inp: object, *, device: str = "auto") -> object:
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("device lost")
        return real(inp, device=device)  # type: ignore[arg-type]

    monkeypatch.setattr(registry.verify.catalog, "BATCH", 2)
    monkeypatch.setattr(registry.verify.verdict, "verify", flaky)
    result = CliRunner().invoke(cli, ["--db", str(db), "verify", "--device", "cpu"])
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)
    assert len(_rows(db)) == 2  # the first batch was committed
    with Session(open_engine(str(db))) as session:
        run = session.exec(select(Run).where(Run.kind == "verify")).one()
    assert run.status == "failed" and run.error and "device lost" in run.error
    monkeypatch.setattr(registry.verify.verdict, "verify", real)
    again = CliRunner().invoke(cli, ["--db", str(db), "verify", "--device", "cpu", "--json"])
    summary = json.loads(again.stdout)
    assert (summary["checked"], summary["skipped_existing"]) == (len(fingerprints) - 2, 2)
