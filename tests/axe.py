"""axe-core for the browser tests: the npm package, installed once into a cache outside the repo.

`axe_source()` returns axe.min.js, installing `axe-core@AXE_VERSION` with npm into
$ROPEDEX_AXE_DIR (default ~/.cache/ropedex/axe) when it is not there yet; .ci/run does the same
up front. Without npm or network the tests fail with the command to run, never skip.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

AXE_VERSION = "4.14.1"
BLOCKING = ("serious", "critical")


def axe_dir() -> Path:
    return Path(os.environ.get("ROPEDEX_AXE_DIR") or Path.home() / ".cache" / "ropedex" / "axe")


@cache
def axe_source() -> str:
    folder = axe_dir()
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        command = ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund"]
        command.append(f"axe-core@{AXE_VERSION}")
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.fail(f"axe-core is missing and `{' '.join(command)}` failed: {exc}")
    return script.read_text(encoding="utf-8")


def blocking_violations(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now: rule id, impact and the
    first offending nodes' selectors."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }"
    )
    return [v for v in result if v["impact"] in BLOCKING]
