"""The README stays true: every command is documented, the quick start is the two commands."""

from __future__ import annotations

import re

import click

from registry.cli import cli
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_has_help_and_appears_in_the_readme() -> None:
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None and (command.help or "").strip(), name
        assert f"ropedex {name}" in README, f"`ropedex {name}` is not in README.md"


def test_readme_opens_with_the_setup_and_test_commands() -> None:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert "pip install -c constraints.txt" in lines[0] and "ropedex nightly --offline" in lines[0]
    assert lines[1] == "bash .ci/run"
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pytest" in ci and "-c constraints.txt" in ci


def test_constraints_pin_the_cpu_torch_on_disk_but_the_package_does_not() -> None:
    constraints = (REPO_ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert "torch==2.13.0" in constraints
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"torch>=[\d.]+"', pyproject)
    assert "torch==" not in pyproject


def test_linked_docs_exist() -> None:
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (REPO_ROOT / target).exists(), target
