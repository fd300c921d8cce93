"""`ropedex render` and `ropedex serve` through click, and the loopback preview server."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.sitegen.driver import _LATER_STEPS


@pytest.fixture(name="catalog", scope="module")
def catalog_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_render import build_catalog

    return build_catalog(tmp_path_factory.mktemp("cli-catalog"))


def test_render_writes_the_site_and_reports_refused_ids(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    result = CliRunner().invoke(cli, ["--db", str(catalog), "render", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "model pages" in result.stdout
    assert "unsafe repo id" in result.stderr
    assert (out / "index.html").is_file()
    assert (out / "models/deepseek-ai/DeepSeek-V3.html").is_file()


def test_render_uses_base_url_in_feeds(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    args = ["--db", str(catalog), "render", "--out", str(out), "--base-url", "https://x.test/r"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert "https://x.test/r/models/" in (out / "sitemap.xml").read_text()
    assert 'href="https://x.test/r/feeds/changes.atom"' in (out / "feeds/changes.atom").read_text()


@pytest.mark.parametrize("base_url", ["javascript:alert(1)", "ftp://x/", "https://a b/"])
def test_render_refuses_a_bad_base_url(catalog: Path, tmp_path: Path, base_url: str) -> None:
    args = ["--db", str(catalog), "render", "--out", str(tmp_path / "o"), "--base-url", base_url]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "must be an absolute http(s) URL" in result.output
    assert not (tmp_path / "o").exists()


def test_render_into_a_foreign_folder_is_one_clean_error(catalog: Path, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["--db", str(catalog), "render", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_render_without_a_catalog_says_what_to_run(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = CliRunner().invoke(cli, ["--db", str(missing), "render", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "No catalog" in result.output
    assert not missing.exists()


def test_serve_refuses_a_folder_without_a_site(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--dir", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    assert "run `ropedex render` first" in result.output


def test_preview_server_serves_pages_and_feed_types_on_loopback(
    catalog: Path, tmp_path: Path
) -> None:
    from registry.db import open_engine
    from registry.sitegen import render_site
    from registry.sitegen.serve import make_server

    out = tmp_path / "site"
    render_site(open_engine(str(catalog), create=False), out)
    server = make_server(out, 0)
    assert server.server_address[0] == "127.0.0.1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with urllib.request.urlopen(base + "index.html", timeout=10) as response:
            assert b"<!doctype html>" in response.read()
        with urllib.request.urlopen(base + "feeds/changes.atom", timeout=10) as response:
            assert response.headers["Content-Type"] == "application/atom+xml"
    finally:
        server.shutdown()
        server.server_close()


def test_render_never_imports_torch(catalog: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    code = (
        "import sys\n"
        "from registry.cli import main\n"
        f"sys.argv = ['ropedex', '--db', {str(catalog)!r}, 'render', '--out', "
        f"{str(tmp_path / 'out')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_serve_on_a_taken_port_is_one_clean_error(tmp_path: Path) -> None:
    import socket

    (tmp_path / "index.html").write_text("<!doctype html>")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--dir", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 1
    assert "pass another --port" in result.output and "Traceback" not in result.output


def test_render_progress_only_when_asked_or_on_a_terminal(catalog: Path, tmp_path: Path) -> None:
    """Off a terminal, stderr carries progress lines only with --progress; stdout is the same."""
    import sqlite3

    runner = CliRunner()
    args = ["--db", str(catalog), "render", "--out"]
    plain = runner.invoke(cli, [*args, str(tmp_path / "a")])
    shown = runner.invoke(cli, [*args, str(tmp_path / "b"), "--progress"])
    assert plain.exit_code == shown.exit_code == 0, shown.output
    assert "render:" not in plain.stderr and "model pages" not in plain.stderr
    assert plain.stdout.replace(str(tmp_path / "a"), "OUT") == shown.stdout.replace(
        str(tmp_path / "b"), "OUT"
    )
    lines = [line for line in shown.stderr.splitlines() if line.startswith("render: ")]
    conn = sqlite3.connect(catalog)
    (models,) = conn.execute("SELECT count(*) FROM models").fetchone()
    conn.close()
    total = models + len(_LATER_STEPS)  # the model pages, then catalog, groups, glossary, ...
    assert f"render: model pages {models:,}/{total:,}" in lines
    assert lines[-1] == f"render: static {total:,}/{total:,}"
    done = [int(line.rsplit(" ", 1)[1].split("/")[0].replace(",", "")) for line in lines]
    assert done == sorted(done)  # never goes backwards


def test_render_draws_a_bar_when_stderr_is_a_terminal(catalog: Path, tmp_path: Path) -> None:
    """A pseudo-terminal on stderr gets the bar; stdout (a pipe) is still the one summary line."""
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    cmd = [sys.executable, "-m", "registry", "--db", str(catalog), "render"]
    with subprocess.Popen(
        [*cmd, "--out", str(tmp_path / "o")],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=secondary,
    ) as proc:
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        stdout = proc.stdout.read().decode() if proc.stdout else ""
    os.close(primary)
    assert proc.returncode == 0
    drawn = seen.decode(errors="replace")
    for step in ("model pages", *_LATER_STEPS):  # each step is drawn, however fast it runs
        assert step in drawn, step
    assert stdout.count("\n") == 1 and stdout.startswith("Rendered ")
