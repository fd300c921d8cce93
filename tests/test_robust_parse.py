"""Poisoned files from outside (huge numbers, deep nesting, NaN, junk) are recorded per model and
never stop a batch, an ingest, a scrape or the mirror."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.db import open_engine
from registry.sync import ingest_tree
from scrapers.configfile import ConfigRejected, parse_config, parse_hub_json
from scrapers.jsonlimits import Limits, load_limited, nesting_depth
from scrapers.mirror import serve_in_thread
from tests.conftest import REPO_ROOT, corpus_configs

HUGE_INT = b"9" * 5000


def _tree(root: Path, good: int = 20) -> list[str]:
    """`good` corpus configs plus a 5000-digit config.json and a hub.json holding one."""
    ids = []
    for repo_id, source in corpus_configs()[:good]:
        (root / repo_id).mkdir(parents=True)
        shutil.copyfile(source, root / repo_id / "config.json")
        ids.append(repo_id)
    (root / "poison/bigint").mkdir(parents=True)
    bigint = b'{"max_position_embeddings": ' + HUGE_INT + b"}"
    (root / "poison/bigint/config.json").write_bytes(bigint)
    (root / "poison/bighub").mkdir(parents=True)
    shutil.copyfile(corpus_configs()[0][1], root / "poison/bighub/config.json")
    (root / "poison/bighub/hub.json").write_bytes(b'{"downloads": ' + HUGE_INT + b"}")
    return ids


def _cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_DISABLE_TELEMETRY": "1"}
    return subprocess.run(
        [sys.executable, "-m", "registry", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def _stored(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT repo_id FROM models WHERE snapshot_id IS NOT NULL").fetchall()
    return {r[0] for r in rows}


def _errors(db: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT repo_id, reason FROM fetch_errors").fetchall())


def test_limits_reject_each_kind_of_poison() -> None:
    limits = Limits(max_bytes=1000)
    cases = {
        b'{"a": ' + HUGE_INT[:200] + b"}": "number-too-long",
        b'{"a": 1e999}': "non-finite",
        b'{"a": NaN}': "non-finite",
        b"[" * 65 + b"]" * 65: "too-deep",
        b"x" * 1001: "too-large",
    }
    for raw, reason in cases.items():
        with pytest.raises(Exception) as info:
            load_limited(raw, limits)
        assert getattr(info.value, "reason", None) == reason, raw[:20]
    assert nesting_depth(b'{"a": "[[[[", "b": [[1]]}') == 3  # brackets in strings do not count
    assert load_limited(b'{"a": NaN}', Limits(1000, allow_nonfinite=True)).nonfinite


def test_a_hub_json_with_a_huge_number_is_rejected_not_raised() -> None:
    with pytest.raises(ConfigRejected) as info:
        parse_hub_json(b'{"downloads": ' + HUGE_INT + b"}")
    assert info.value.reason == "number-too-long"


def test_two_ingests_and_two_scrapes_keep_every_good_model(tmp_path: Path) -> None:
    """The acceptance tree through `ropedex ingest` twice and `ropedex mirror` + `scrape` twice
    (the real client over HTTP, every command a real process)."""
    root = tmp_path / "hub"
    good = _tree(root)
    ingest_db, scrape_db = tmp_path / "ingest.db", tmp_path / "scrape.db"
    for _ in range(2):
        proc = _cli("--db", str(ingest_db), "ingest", str(root))
        assert "Traceback" not in proc.stderr, proc.stderr
        assert set(good) <= _stored(ingest_db)
    assert ("poison/bigint", "number-too-long") in _errors(ingest_db)
    assert ("poison/bighub", "bad-hub-json") in _errors(ingest_db)

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    mirror = subprocess.Popen(
        [sys.executable, "-m", "registry", "mirror", str(root), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert mirror.stdout is not None
        url = mirror.stdout.readline().split(" on ", 1)[1].split()[0]
        summaries = []
        for _ in range(2):
            proc = _cli(
                "--db", str(scrape_db), "scrape", "--endpoint", url, "--no-cache",
                "--retries", "1", "--backoff", "0.01", "--json",
            )  # fmt: skip
            assert "Traceback" not in proc.stderr, proc.stderr
            assert proc.returncode == 1  # partial: the poisoned config failed, the rest kept
            summaries.append(json.loads(proc.stdout))
            assert set(good) | {"poison/bighub"} <= _stored(scrape_db)
    finally:
        mirror.terminate()
        _out, err = mirror.communicate(timeout=10)
    assert summaries[0]["failed"] == {"number-too-long": 1}
    # The poisoned commit is remembered: the second scrape does not download it again.
    assert summaries[1]["fetched"] == 0 and summaries[1]["known_failed"] == 1
    assert "poison/bighub: hub.json: number-too-long" in err  # the mirror says which repo
    assert "Traceback" not in err


def test_the_mirror_serves_every_repo_beside_poisoned_files(tmp_path: Path) -> None:
    from huggingface_hub import HfApi

    root = tmp_path / "hub"
    good = _tree(root, good=3)
    (root / "poison/deep").mkdir(parents=True)
    (root / "poison/deep/config.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (root / "poison/deep/hub.json").write_bytes(b"{" * 100_000)
    (root / "poison/types").mkdir(parents=True)
    (root / "poison/types/config.json").write_bytes(b"{}")
    hub = {"downloads": "many", "likes": 1e300, "tags": 5, "lastModified": []}
    (root / "poison/types/hub.json").write_text(json.dumps(hub))
    with serve_in_thread(root) as (server, url):
        listed = {m.id for m in HfApi(endpoint=url, token=False).list_models(full=True)}
        problems = dict(server.folder.problems)
    assert set(good) | {"poison/bigint", "poison/bighub", "poison/deep", "poison/types"} <= listed
    assert "too-deep" in " ".join(problems["poison/deep"])
    assert {"downloads", "likes", "tags", "lastModified"} <= {
        p.split(": ")[1].split()[0] for p in problems["poison/types"]
    }


# --- arbitrary input through ingest ----------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**120), max_value=10**120)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _deep(n: int) -> bytes:
    return b'{"a": ' * n + b"1" + b"}" * n


_poison = st.one_of(
    st.binary(max_size=300),
    _json.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=10), _json, max_size=5).map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=60, max_value=5000).map(_deep),
    st.integers(min_value=90, max_value=6000).map(lambda n: b'{"n": ' + b"7" * n + b"}"),
    st.sampled_from([b'{"x": NaN}', b'{"x": -Infinity}', b'{"x": 1e400}', b"\xef\xbb\xbf{}"]),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(configs=st.lists(_poison, min_size=1, max_size=4), hubs=st.lists(_poison, max_size=3))
def test_arbitrary_bytes_through_ingest(
    tmp_path_factory: Any, configs: list[bytes], hubs: list[bytes]
) -> None:
    base = tmp_path_factory.mktemp("prop")
    root = base / "hub"
    good = []
    for repo_id, source in corpus_configs()[:2]:
        (root / repo_id).mkdir(parents=True)
        shutil.copyfile(source, root / repo_id / "config.json")
        good.append(repo_id)
    expected: dict[str, str | None] = {}  # repo id -> reason (None: lands)
    for i, raw in enumerate(configs):
        folder = root / f"fuzz/c{i}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_bytes(raw)
        if i < len(hubs):
            (folder / "hub.json").write_bytes(hubs[i])
        try:
            parse_config(raw)
            expected[f"fuzz/c{i}"] = None
        except ConfigRejected as exc:
            expected[f"fuzz/c{i}"] = exc.reason
    engine = open_engine(str(base / "c.db"))
    summary = ingest_tree(engine, root)  # nothing may escape
    engine.dispose()
    stored, errors = _stored(base / "c.db"), _errors(base / "c.db")
    assert set(good) <= stored
    assert summary is not None
    for i, raw in enumerate(hubs[: len(configs)]):
        if _bad_hub(raw):
            assert (f"fuzz/c{i}", "bad-hub-json") in errors
    for repo_id, reason in expected.items():
        if reason is None:
            assert repo_id in stored
        else:
            assert (repo_id, reason) in errors and repo_id not in stored


def _bad_hub(raw: bytes) -> bool:
    try:
        parse_hub_json(raw)
    except ConfigRejected:
        return True
    return False


# --- a Hub whose answers are poisoned ---------------------------------------------------------


class _PoisonHub:
    """A real HTTP server whose listing and model-info answers carry a 5000-digit number (or a
    next-page link to another host)."""

    def __init__(self, next_link: str | None = None) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        poison = b'[{"id": "a/b", "downloads": ' + HUGE_INT + b"}]"
        info = b'{"id": "a/b", "sha": "' + b"0" * 40 + b'", "likes": ' + HUGE_INT + b"}"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (stdlib name)
                clean = b'[{"id": "a/b", "sha": "' + b"1" * 40 + b'"}]'
                body = info if self.path.startswith("/api/models/") else poison
                if next_link is not None and not self.path.startswith("/api/models/"):
                    body = clean
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if next_link is not None:
                    self.send_header("Link", f'<{next_link}>; rel="next"')
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def _scrape_cli(db: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return _cli(
        "--db", str(db), "scrape", "--endpoint", url, "--no-cache", "--retries", "1",
        "--backoff", "0.01", "--json", *extra,
    )  # fmt: skip


def test_a_poisoned_listing_page_fails_the_listing_in_one_line(tmp_path: Path) -> None:
    with _PoisonHub() as url:
        proc = _scrape_cli(tmp_path / "c.db", url)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "bad-answer" in json.loads(proc.stdout)["error"]
    assert "number-too-long" in proc.stderr


def test_a_next_page_link_leaving_the_endpoint_is_refused(tmp_path: Path) -> None:
    with _PoisonHub(next_link="http://elsewhere.invalid/api/models?p=1") as url:
        proc = _scrape_cli(tmp_path / "c.db", url)
    assert proc.returncode == 3 and "leaves the endpoint" in proc.stderr


def test_a_poisoned_model_info_fails_that_model_only(tmp_path: Path) -> None:
    models = tmp_path / "models.txt"
    models.write_text("a/b\n")
    with _PoisonHub() as url:
        proc = _scrape_cli(tmp_path / "c.db", url, "--models", str(models))
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["failed"] == {"bad-answer": 1}
    assert ("a/b", "bad-answer") in _errors(tmp_path / "c.db")
