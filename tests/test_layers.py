"""The import layers: yarn_core <- scrapers <- registry, no cycles, pages never import the driver.

The graph is built from the source with `ast` (every `import` and `from ... import`, including
those inside functions and under TYPE_CHECKING), so a lazy import counts as much as a top-level
one. On failure the offending edges (or the cycle) are printed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("yarn_core", "scrapers", "registry")
# Which of our packages each package may import (besides itself).
ALLOWED = {"yarn_core": set(), "scrapers": {"yarn_core"}, "registry": {"yarn_core", "scrapers"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def own_modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            out[module_name(path)] = path
    return out


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest of our modules that `name` (a dotted import target) refers to."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    modules = own_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for target in targets:
                found = resolve(target, modules)
                if found is not None and found != mod:
                    graph[mod].add(found)
    return graph


def top(module: str) -> str:
    return module.split(".", 1)[0]


def test_graph_covers_every_package() -> None:
    graph = import_graph()
    assert {top(m) for m in graph} == set(PACKAGES)
    assert len(graph) > 60  # every module of the three packages was read


def test_no_upward_imports() -> None:
    bad = [
        f"{mod} -> {dep}"
        for mod, deps in sorted(import_graph().items())
        for dep in sorted(deps)
        if top(dep) != top(mod) and top(dep) not in ALLOWED[top(mod)]
    ]
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_site_pages_never_import_the_driver() -> None:
    graph = import_graph()
    driver = "registry.sitegen.driver"
    if driver not in graph:
        pytest.fail("registry.sitegen.driver is missing: the site generator's entry point moved")
    bad = [m for m, deps in graph.items() if driver in deps and m != "registry.sitegen"]
    bad = [m for m in bad if m.startswith("registry.sitegen.")]
    assert not bad, f"site generator modules importing the driver: {bad}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles() -> None:
    graph = import_graph()

    # A package's __init__ re-exporting its own modules is not a cycle of logic: drop the edges
    # from a module back to the __init__ of the package it belongs to.
    def is_own_package(mod: str, dep: str) -> bool:
        return mod.startswith(dep + ".") and (REPO / dep.replace(".", "/")).is_dir()

    pruned = {m: {d for d in deps if not is_own_package(m, d)} for m, deps in graph.items()}
    cycle = find_cycle(pruned)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
