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
    document = json.loads(out.output)  # one JSON document: an array for `check`
    return document[0] if args[0] == "check" else document


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


def _catalog(browser: Any, answer: dict[str, Any], query: str = "") -> Any:
    ctx = browser.new_context(**VARIANTS["light"], accept_downloads=True)
    page = ctx.new_page()
    page.goto(answer["base"] + "catalog/index.html" + query)
    page.wait_for_selector("html[data-catalog='ready']", timeout=10000)
    return ctx, page


def _ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#table tbody tr", "rows => rows.map(r => r.cells[0].textContent.trim())"
    )


def _served(answer: dict[str, Any]) -> dict[str, int | None]:
    rows = _cli_json(["--db", str(answer["db"]), "query", "--limit", "0", "--json"])
    out = {}
    for row in rows:
        data = _cli_json(["--db", str(answer["db"]), "show", row["repo_id"], "--json"])
        out[row["repo_id"]] = data["lead"]["served_context"] if data["lead"] else None
    return out


def test_min_context_filter_reads_128k_and_1m(browser: Any, answer: dict[str, Any]) -> None:
    served = _served(answer)
    ctx, page = _catalog(browser, answer)
    page.fill("#f-min_context", "128k")
    want = sorted(r for r, s in served.items() if s is not None and s >= 131072)
    assert want and len(want) < len(served)
    assert sorted(_ids(page)) == want
    assert "min_context=128k" in page.url
    page.fill("#f-min_context", "1M")
    assert sorted(_ids(page)) == sorted(r for r, s in served.items() if s and s >= 1048576)
    page.fill("#f-min_context", "lots")
    assert page.get_attribute("#f-min_context", "aria-invalid") == "true"
    ctx.close()


def test_every_heading_sorts_both_ways(browser: Any, answer: dict[str, Any]) -> None:
    served = _served(answer)
    ctx, page = _catalog(browser, answer)
    headings = page.eval_on_selector_all("#table thead th button.sort", "bs => bs.length")
    columns = page.eval_on_selector_all("#table thead th", "ths => ths.length")
    assert headings == columns  # every column
    page.click("button.sort[data-sort='served_context']")
    longest = [served[r] for r in _ids(page)]
    assert longest == sorted(longest, key=lambda s: -(s or -1))
    sort = page.get_attribute("th:has(button[data-sort='served_context'])", "aria-sort")
    assert sort == "descending"
    page.click("button.sort[data-sort='served_context']")
    shortest = [served[r] for r in _ids(page)]
    known = [s for s in shortest if s is not None]
    assert known == sorted(known) and "dir=asc" in page.url
    page.click("button.sort[data-sort='repo_id']")
    assert _ids(page) == sorted(_ids(page))
    page.click("button.sort[data-sort='repo_id']")
    assert _ids(page) == sorted(_ids(page), reverse=True)
    ctx.close()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("deepsek", ["deepseek-ai/DeepSeek-V3"]),
        ("llama3.1", ["meta-llama/Meta-Llama-3.1-8B"]),
        ("gpt-oss-12ob", ["openai/gpt-oss-120b"]),
    ],
)
def test_search_forgives_typos(
    browser: Any, answer: dict[str, Any], words: str, expected: list[str]
) -> None:
    ctx, page = _catalog(browser, answer)
    page.fill("#f-q", words)
    assert _ids(page) == expected
    ctx.close()


def test_search_matches_context_sizes(browser: Any, answer: dict[str, Any]) -> None:
    columns = ("declared_context", "original_context", "served_context")
    ctx, page = _catalog(browser, answer)
    data = json.loads(page.evaluate("() => fetch('../api/models.json').then(r => r.text())"))
    for text, size in (("128k", 131072), ("131072", 131072), ("4k", 4096)):
        page.fill("#f-q", text)
        want = sorted(m["repo_id"] for m in data["models"] if size in [m[c] for c in columns])
        assert want and sorted(_ids(page)) == want, text
    ctx.close()


def test_this_view_downloads_as_csv_and_json(browser: Any, answer: dict[str, Any]) -> None:
    import csv
    import io

    ctx, page = _catalog(browser, answer, "?q=qwen")
    shown = _ids(page)
    with page.expect_download() as got:
        page.click("#export-json")
    rows = json.loads(Path(got.value.path()).read_text())
    assert [r["repo_id"] for r in rows] == shown
    with page.expect_download() as got:
        page.click("#export-csv")
    table = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
    assert [r["repo_id"] for r in table] == shown
    ctx.close()


def test_without_javascript_no_form_and_every_model_linked(
    browser: Any, answer: dict[str, Any]
) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto(answer["base"] + "catalog/index.html")
    assert not page.is_visible("#filters")
    assert not page.is_visible("#exports")
    linked = set(
        page.eval_on_selector_all("#table a[href*='models/']", "as => as.map(a => a.textContent)")
    )
    assert linked == set(MODELS)
    groups = page.eval_on_selector_all("#static-nav a", "as => as.map(a => a.getAttribute('href'))")
    assert any("tags/" in g for g in groups) and any("families/" in g for g in groups)
    ctx.close()


def test_api_documents_equal_show(answer: dict[str, Any]) -> None:
    import urllib.request

    with urllib.request.urlopen(answer["base"] + "api/models.json") as response:
        index = json.loads(response.read())
    assert index["api_version"] == 1 and index["count"] == len(MODELS)
    for model in index["models"]:
        with urllib.request.urlopen(answer["base"] + model["document"]) as response:
            document = json.loads(response.read())
        shown = _cli_json(["--db", str(answer["db"]), "show", model["repo_id"], "--json"])
        assert document["lead"] == shown["lead"]
        assert document["row"]["served_context"] == model["served_context"]
        assert document["verification"]["verdict"] == shown["verification"]["verdict"]


def test_recipe_on_the_page_equals_the_cli(browser: Any, answer: dict[str, Any]) -> None:
    expected = _cli_json(["--db", str(answer["db"]), "recipe", "Qwen/Qwen3-8B", "--json"])
    assert [r["kind"] for r in expected["recipes"]] == ["family"]
    ctx = browser.new_context(**VARIANTS["light"])
    page = ctx.new_page()
    page.goto(answer["base"] + "models/Qwen/Qwen3-8B.html")
    blocks = page.eval_on_selector_all(
        "#recipes pre[data-copy]", "ps => ps.map(p => p.textContent)"
    )
    assert blocks == list(expected["recipes"][0]["commands"].values())
    assert page.locator("#recipes button.copy").count() == len(blocks)
    assert "Documented by the family" in page.inner_text("#recipes")
    ctx.close()
    for repo_id in ("openai/gpt-oss-120b", "deepseek-ai/DeepSeek-V3"):  # nothing to change
        html = (answer["db"].parent / "site" / "models" / f"{repo_id}.html").read_text()
        assert 'id="recipes"' not in html
