"""Renders killed at any point never leave the site missing, and their debris goes next time."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from registry.sitegen.swap import exchange, leftover_folders, swap_in
from tests.conftest import REPO_ROOT


@pytest.fixture(name="catalog", scope="module")
def catalog_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_render import build_catalog

    return build_catalog(tmp_path_factory.mktemp("swap-catalog"))


def _render(catalog: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "registry", "--db", str(catalog), "render", "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: the kill reaches the page workers too
    )


def test_exchange_swaps_two_folders_atomically(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "new").touch()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "old").touch()
    assert exchange(tmp_path / "a", tmp_path / "site")  # Linux: renameat2 is there
    assert (tmp_path / "site" / "new").exists() and (tmp_path / "a" / "old").exists()
    (tmp_path / "b").mkdir()
    old = swap_in(tmp_path / "b", tmp_path / "site")
    assert old == tmp_path / "b" and (old / "new").exists()


def test_killed_renders_never_leave_the_site_missing(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "public" / "site"
    assert _render(catalog, out).wait(timeout=120) == 0
    (out.parent / ".site.old.abcd1234").mkdir()  # debris of a render from before this change
    missing: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not (out / "index.html").is_file():
                missing.append(time.monotonic())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    rng = random.Random(13)
    try:
        for _ in range(3):
            proc = _render(catalog, out)
            # Kill once the render has started writing its own folder (a stage the job shows,
            # whatever the machine's speed), at a random point shortly after.
            while proc.poll() is None and not list(out.parent.glob(f".site.{proc.pid}.*")):
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.3))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        debris = [p.name for p in out.parent.iterdir() if p.name != "site"]
        assert _render(catalog, out).wait(timeout=120) == 0
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert missing == [], f"the site was missing {len(missing)} times"
    assert debris  # the kills did leave something to clean up
    assert [p.name for p in out.parent.iterdir()] == ["site"]
    assert (out / "index.html").is_file()


def test_a_running_render_folder_is_not_debris(tmp_path: Path) -> None:
    out = tmp_path / "site"
    mine = tmp_path / f".site.{os.getpid()}.abc123xy"
    mine.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f".site.{dead.pid}.zz9_ab12"
    gone.mkdir()
    other = tmp_path / ".other.12.abcdefgh"
    other.mkdir()
    assert leftover_folders(out) == [gone]
