"""`ropedex --help` starts without the heavy libraries, proven in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

HEAVY = ("torch", "huggingface_hub", "transformers", "sqlalchemy", "sqlmodel", "rich")

_PROBE = """
import json, sys
from registry.cli import cli
try:
    cli(sys.argv[1:], prog_name="ropedex")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = [m for m in {heavy!r} if m in sys.modules]
print("\\n" + json.dumps({{"code": code, "heavy": heavy}}))
"""


def _probe(*args: str, watch: tuple[str, ...] = HEAVY) -> tuple[dict[str, object], str]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=watch), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    *text, last = proc.stdout.rstrip("\n").split("\n")
    return json.loads(last), "\n".join(text)


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("-h",),
        ("ingest", "--help"),
        ("query", "--help"),
        ("show", "--help"),
        ("sql", "--help"),
        ("stats", "--help"),
        *((command, "--help") for command in ("tag", "tags", "rope", "check", "verify")),
        *((command, "--help") for command in ("render", "serve", "scrape", "mirror", "hubtree")),
        ("nightly", "--help"),
        ("publish-db", "--help"),
    ],
)
def test_help_imports_no_heavy_library(args: tuple[str, ...]) -> None:
    result, text = _probe(*args)
    assert result == {"code": 0, "heavy": []}
    assert "Usage: ropedex" in text


COMMANDS = ("ingest", "query", "show", "sql", "stats", "tag", "tags", "rope", "check", "verify")
COMMANDS += ("render", "serve", "scrape", "mirror", "hubtree", "nightly", "publish-db")


def test_root_help_lists_every_command() -> None:
    """Each command module registers its commands on the group when `registry.cli` loads."""
    _result, text = _probe("--help")
    for command in COMMANDS:
        assert f"  {command} " in text, command


def test_the_probe_sees_what_the_cli_imports() -> None:
    """The check above can fail: the same probe reports a module the CLI does load."""
    result, _text = _probe("--help", watch=("click", "torch"))
    assert result == {"code": 0, "heavy": ["click"]}
