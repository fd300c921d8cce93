"""The answer first, in headless Chromium: the lead box on real verified pages, and axe-core.

The catalog here is verified for real (`verify_catalog`, CPU): AFM-4.5B, gpt-oss-120b,
DeepSeek-V3, Qwen3-8B, Llama 3.1 8B and Gemma 4 31B from the corpus, plus a Phi-3-shaped LongRoPE
config written for the tests. On each model page the lead box must sit in the first 900 px of a
1280 x 900 window and its numbers (read from the DOM) must equal `ropedex show --json` and
`ropedex check --json`. axe-core runs on every page kind in light, dark and phone, and with a hover
card open, failing on serious or critical violations.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.axe import blocking_violations
from tests.conftest import REPO_ROOT, corpus_configs
from tests.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

CORPUS_PICKS = (
    "arcee-ai/AFM-4.5B",
    "openai/gpt-oss-120b",
    "deepseek-ai/DeepSeek-V3",
    "Qwen/Qwen3-8B",
    "meta-llama/Meta-Llama-3.1-8B",
    "google/gemma-4-31B",
)
WRITTEN = {"microsoft/Phi-3-longrope-test": REPO_ROOT / "tests/data/answer"}
MODELS = (*CORPUS_PICKS, *WRITTEN)
FIRST_SCREEN = 900

VARIANTS = {
    "light": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"},
    "dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True},
}
PAGE_KINDS = {
    "home": "index.html",
    "catalog": "catalog/index.html",
    "model": "models/openai/gpt-oss-120b.html",
    "model-recipe": "models/Qwen/Qwen3-8B.html",
    "tags": "tags/index.html",
    "tag": "tags/rope-yarn.html",
    "families": "families/index.html",
    "family": "families/qwen.html",
    "glossary": "glossary/index.html",
    "entry": "glossary/yarn.html",
    "404": "404.html",
}


@pytest.fixture(name="answer", scope="module")
def answer_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from sqlmodel import Session

    from registry.db import open_engine
    from registry.sitegen import render_site
    from registry.sitegen.serve import make_server
    from registry.sync import ingest_tree
    from registry.verify.catalog import verify_catalog

    folder = tmp_path_factory.mktemp("answer")
    tree = folder / "hub"
    sources = dict(corpus_configs())
    paths: dict[str, Path] = {}
    for repo_id in MODELS:
        target = tree / repo_id / "config.json"
        target.parent.mkdir(parents=True)
        source = sources.get(repo_id) or WRITTEN[repo_id] / repo_id / "config.json"
        shutil.copy(source, target)
        paths[repo_id] = target
    db = folder / "catalog.db"
    engine = open_engine(str(db))
    ingest_tree(engine, tree)
    with Session(engine) as session:
        verify_catalog(session, device="cpu")
    engine.dispose()
    out = folder / "site"
    render_site(open_engine(str(db), create=False, readonly=True), out)
    server = make_server(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base": f"http://127.0.0.1:{server.server_address[1]}/", "db": db, "paths": paths}
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(name="browser", scope="module")
def browser_fixture() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _cli_json(args: list[str]) -> Any:
    from registry.cli import cli

    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    return json.loads(out.output.splitlines()[0] if args[0] == "check" else out.output)


READ_LEAD = """() => {
  const box = document.getElementById('lead');
  const rect = box.getBoundingClientRect();
  const runtimes = Array.from(box.querySelectorAll('[data-runtime]')).map(e => ({
    name: e.dataset.runtime, served: e.dataset.served, differs: e.classList.contains('differs')}));
  const fig = k => box.querySelector('[data-figure="' + k + '"]');
  const verdict = box.querySelector('.lead-verdict');
  return {bottom: rect.bottom + window.scrollY, runtimes: runtimes,
    trained: fig('trained_context').dataset.value, scaling: fig('scaling').dataset.value,
    factor: fig('scaling').dataset.factor, verdict: verdict.dataset.verdict,
    cause: verdict.dataset.cause, text: box.innerText};
}"""


def _expected(lead: dict[str, Any]) -> dict[str, Any]:
    def text(value: Any) -> str:
        return "" if value is None else str(value)

    return {
        "runtimes": [
            {"name": r["name"], "served": text(r["served_context"]), "differs": r["differs"]}
            for r in lead["runtimes"]
        ],
        "trained": text(lead["trained_context"]),
        "scaling": lead["scaling_type"] or "",
        "factor": text(lead["scaling_factor"]),
        "verdict": lead["verdict"] or "",
        "cause": " ".join(lead["cause"]),
    }


@pytest.mark.parametrize("repo_id", MODELS)
def test_lead_box_first_and_equal_to_show_and_check(
    browser: Any, answer: dict[str, Any], repo_id: str
) -> None:
    shown = _cli_json(["--db", str(answer["db"]), "show", repo_id, "--json"])["lead"]
    checked = _cli_json(["check", str(answer["paths"][repo_id]), "--json", "--device", "cpu"])
    assert checked["lead"] == shown
    ctx = browser.new_context(**VARIANTS["light"])
    page = ctx.new_page()
    page.goto(answer["base"] + f"models/{repo_id}.html")
    dom = page.evaluate(READ_LEAD)
    ctx.close()
    assert dom["bottom"] <= FIRST_SCREEN, (repo_id, dom["bottom"])
    assert {k: v for k, v in dom.items() if k not in ("bottom", "text")} == _expected(shown)
    for runtime in shown["runtimes"]:
        assert runtime["label"] in dom["text"]
    names = [r["name"] for r in shown["runtimes"]]
    assert ("deepseek" in names) is (repo_id == "deepseek-ai/DeepSeek-V3")


def test_the_known_answers(answer: dict[str, Any]) -> None:
    """The cases the issue names, read from `show --json` of the real verified catalog."""

    def lead(repo_id: str) -> dict[str, Any]:
        data = _cli_json(["--db", str(answer["db"]), "show", repo_id, "--json"])
        return data["lead"]  # type: ignore[no-any-return]

    afm = lead("arcee-ai/AFM-4.5B")
    assert afm["served_context"] == 65536 and afm["scaled_range"] == 81920
    assert lead("openai/gpt-oss-120b")["cause"] == ["llama.cpp"]


def _page_kinds(base: str) -> dict[str, str]:
    return {name: base + path for name, path in PAGE_KINDS.items()}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_axe_finds_nothing_serious(browser: Any, answer: dict[str, Any], variant: str) -> None:
    ctx = browser.new_context(**VARIANTS[variant], bypass_csp=True)
    page = ctx.new_page()
    found = {}
    for name, url in _page_kinds(answer["base"]).items():
        page.goto(url)
        if name == "catalog":
            page.wait_for_selector("html[data-catalog='ready']", timeout=10000)
        problems = blocking_violations(page)
        if problems:
            found[name] = problems
    ctx.close()
    assert found == {}


def test_axe_with_a_hover_card_open(browser: Any, answer: dict[str, Any]) -> None:
    ctx = browser.new_context(**VARIANTS["light"], bypass_csp=True)
    page = ctx.new_page()
    page.goto(answer["base"] + "models/openai/gpt-oss-120b.html")
    page.focus("a.term")
    page.wait_for_selector(".card:not([hidden])", timeout=5000)
    problems = blocking_violations(page)
    ctx.close()
    assert problems == []
