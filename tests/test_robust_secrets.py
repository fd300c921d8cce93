"""Credentials in --endpoint reach no file the catalog, the logs or the site hold; `serve` stays
inside its folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx2

from scrapers.faults import Fault, FaultPlan
from scrapers.mirror import serve_in_thread
from scrapers.redact import redact_text, redact_url
from tests.conftest import REPO_ROOT
from tests.helpers import small_tree

TOKEN = "s3cretTOKENvalue9271"


def _cli(logs: Path, name: str, *args: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with open(logs / f"{name}.out", "wb") as out, open(logs / f"{name}.err", "wb") as err:
        proc = subprocess.run(
            [sys.executable, "-m", "registry", *args], stdout=out, stderr=err, env=env, timeout=300
        )
    return proc.returncode


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redaction_of_urls_and_texts() -> None:
    assert redact_url(f"http://user:{TOKEN}@h:1/p?token={TOKEN}&x=1") == (
        "http://***@h:1/p?token=***&x=1"
    )
    text = f"GET https://{TOKEN}@hub/api?access_token=abc&sig=zz failed (hf_{'a' * 30})"
    assert redact_text(text) == "GET https://***@hub/api?access_token=***&sig=*** failed (hf_***)"
    assert redact_text(f"plain {TOKEN} here", [TOKEN]) == "plain *** here"


def test_a_token_in_the_endpoint_is_in_no_file(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ids = small_tree(root, 4)
    logs = tmp_path / "logs"
    logs.mkdir()
    db, site, follow = tmp_path / "c.db", tmp_path / "site", tmp_path / "f.toml"
    follow.write_text("[[select]]\n", encoding="utf-8")
    plan = FaultPlan(faults=[Fault("status", status=500, kind="get", repo=ids[0])])
    with serve_in_thread(root, faults=plan) as (_server, url):
        secret_url = url.replace("http://", f"http://user:{TOKEN}@")
        common = ["--no-cache", "--retries", "0", "--backoff", "0.01"]
        assert (
            _cli(logs, "scrape", "--db", str(db), "scrape", "--endpoint", secret_url, *common) == 1
        )
        dead = f"http://{TOKEN}@127.0.0.1:{_closed_port()}"
        assert _cli(logs, "dead", "--db", str(db), "scrape", "--endpoint", dead, *common) == 3
        assert _cli(logs, "dead-json", "--db", str(db), "scrape", "--endpoint", dead, "--json",
                    *common) == 3  # fmt: skip
        nightly = ["nightly", "--follow", str(follow), "--out", str(site), "--device", "cpu"]
        _cli(logs, "nightly", "--db", str(db), *nightly, "--endpoint", secret_url, *common)
    assert _cli(logs, "publish", "--db", str(db), "publish-db", str(tmp_path / "pub.db")) == 0
    # The failures were recorded (with their URLs), so there was something to leak.
    assert "***@" in (logs / "dead.err").read_text()
    assert '"error"' in (logs / "dead-json.out").read_text()
    assert (site / "index.html").is_file() and (tmp_path / "pub.db").is_file()
    leaks = [
        str(path.relative_to(tmp_path))
        for path in tmp_path.rglob("*")
        if path.is_file() and TOKEN.encode() in path.read_bytes()
    ]
    assert leaks == []


def test_serve_never_leaves_its_folder(tmp_path: Path) -> None:
    from registry.sitegen.serve import make_server

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>home</p>")
    (tmp_path / "secret.txt").write_text(TOKEN)
    (site / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (site / "up").symlink_to(tmp_path)
    server = make_server(site, 0)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert httpx2.get(f"{base}/index.html").status_code == 200
        for path in (
            "/escape.txt",
            "/up/secret.txt",
            "/up/",
            "/../secret.txt",
            "/%2e%2e/secret.txt",
        ):
            response = httpx2.get(base + path)
            assert response.status_code == 404 and TOKEN not in response.text, path
    finally:
        server.shutdown()
        server.server_close()
