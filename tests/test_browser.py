"""The rendered site in headless Chromium, served from loopback.

Uses the filters and search, opens a hover card by keyboard, follows every internal link, checks
that no page asks another host for anything, and proves that hostile strings never execute.
Screenshots of the home, catalog, DeepSeek-V3 and YaRN pages land in the test's temp folder.

`python -m tests.test_browser site/_build` takes the same screenshots of an already rendered site
(e.g. the real catalog) into `site/_build/screenshots/`.
"""

from __future__ import annotations

import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.conftest import REPO_ROOT
from tests.test_render import EVIL_REPO, build_catalog

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = {
    "home": "index.html",
    "catalog": "catalog/index.html",
    "deepseek-v3": "models/deepseek-ai/DeepSeek-V3.html",
    "yarn": "glossary/yarn.html",
    "gemma-4": "models/google/gemma-4-31B.html",
}


@pytest.fixture(name="served", scope="module")
def served_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The test catalog rendered with the real site/ folder, served on 127.0.0.1."""
    from registry.db import open_engine
    from registry.sitegen import render_site
    from registry.sitegen.serve import make_server

    folder = tmp_path_factory.mktemp("browser")
    engine = open_engine(str(build_catalog(folder)), create=False, readonly=True)
    out = folder / "site"
    render_site(engine, out)
    server = make_server(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder
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


class Watch:
    """A page that records dialogs, script errors and requests to other hosts."""

    def __init__(self, browser: Any, base: str, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.errors: list[str] = []
        host = urlsplit(base).netloc
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on(
            "request",
            lambda req: (
                None
                if urlsplit(req.url).netloc == host or req.url.startswith("data:")
                else self.foreign.append(req.url)
            ),
        )

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def pwned(self) -> bool:
        return bool(self.page.evaluate("() => window.__pwned !== undefined"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture(name="watch")
def watch_fixture(browser: Any, served: tuple[str, Path]) -> Iterator[Watch]:
    watch = Watch(browser, served[0], viewport={"width": 1280, "height": 900})
    yield watch
    assert watch.dialogs == [], watch.dialogs
    assert watch.foreign == [], watch.foreign
    assert watch.errors == [], watch.errors
    watch.close()


def wait_ready(page: Any) -> None:
    page.wait_for_selector("html[data-catalog='ready']", timeout=10000)


def visible_rows(page: Any) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#table tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )


def test_filters_and_search_with_shareable_urls(watch: Watch, served: tuple[str, Path]) -> None:
    base = served[0]
    page = watch.page
    page.goto(base + "catalog/index.html")
    wait_ready(page)
    everything = visible_rows(page)
    page.select_option("#f-position_encoding", "rope-yarn")
    rows = visible_rows(page)
    assert rows and len(rows) < len(everything)
    assert all(r[1] == "rope-yarn" for r in rows)
    assert "position_encoding=rope-yarn" in page.url
    shared = page.url
    page.goto(base + "catalog/index.html")
    wait_ready(page)
    page.goto(shared)  # the shared link opens the same view
    wait_ready(page)
    assert visible_rows(page) == rows
    assert page.input_value("#f-position_encoding") == "rope-yarn"
    page.select_option("#f-position_encoding", "")
    page.fill("#f-q", "DeepSeek-V3")
    assert [r[0] for r in visible_rows(page)] == ["deepseek-ai/DeepSeek-V3"]
    assert "q=DeepSeek-V3" in page.url
    page.fill("#f-q", "yet-another-rope-extension")  # a glossary alias stands for its tag
    assert {r[1] for r in visible_rows(page)} == {"rope-yarn"}
    page.fill("#f-q", "evil")  # hostile rows drawn by the script stay text
    assert any(EVIL_REPO == r[0] for r in visible_rows(page))
    assert not watch.pwned()


def test_script_rows_read_like_the_rendered_rows(browser: Any, served: tuple[str, Path]) -> None:
    """The script formats cells (128k, 1e4, titles) exactly as the renderer does."""
    url = served[0] + "catalog/index.html"
    cells = "rows => rows.map(r => Array.from(r.cells).map(c => [c.textContent.trim(), c.title]))"
    static = browser.new_context(java_script_enabled=False)
    page = static.new_page()
    page.goto(url)
    rendered = page.eval_on_selector_all("#table tbody tr", cells)
    static.close()
    live = browser.new_context()
    page = live.new_page()
    page.goto(url)
    wait_ready(page)
    drawn = page.eval_on_selector_all("#table tbody tr", cells)
    caption = page.text_content("#table caption")
    page.select_option("#f-sort", "served_context")
    sorted_caption = page.text_content("#table caption")
    live.close()
    assert drawn == rendered
    assert any(text == "160k" and title == "163,840" for row in drawn for text, title in row)
    assert caption == "Models, most downloaded first"
    assert sorted_caption == "Models, longest served context first"


def test_dark_mode_toggle_is_remembered(browser: Any, served: tuple[str, Path]) -> None:
    ctx = browser.new_context(color_scheme="light")
    page = ctx.new_page()
    background = "() => getComputedStyle(document.body).backgroundColor"
    page.goto(served[0] + "index.html")
    light = page.evaluate(background)
    button = page.locator("#theme")
    assert button.is_visible() and button.get_attribute("aria-pressed") == "false"
    button.click()
    dark = page.evaluate(background)
    assert dark != light and button.get_attribute("aria-pressed") == "true"
    page.goto(served[0] + "catalog/index.html")  # another page, same browser: still dark
    assert page.evaluate(background) == dark
    page.locator("#theme").click()
    assert page.evaluate(background) == light
    ctx.close()
    system = browser.new_context(color_scheme="dark")  # no choice made: follows the system
    page = system.new_page()
    page.goto(served[0] + "index.html")
    assert page.evaluate(background) == dark
    assert page.locator("#theme").get_attribute("aria-pressed") == "true"
    system.close()


def test_catalog_tags_show_their_glossary_card(watch: Watch, served: tuple[str, Path]) -> None:
    page = watch.page
    page.goto(served[0] + "catalog/index.html?q=DeepSeek-V3")
    wait_ready(page)
    assert [r[0] for r in visible_rows(page)] == ["deepseek-ai/DeepSeek-V3"]
    tag = page.locator("#table tbody a.tag").first  # drawn by the script, not the server
    assert tag.text_content() == "rope-yarn"
    card = page.locator(f"#{tag.get_attribute('aria-describedby')}")
    assert card.is_hidden()
    tag.hover()
    assert card.is_visible() and "YaRN" in (card.text_content() or "")
    page.keyboard.press("Escape")
    assert card.is_hidden()
    tag.focus()
    assert card.is_visible()


def test_home_counts_lead_to_filtered_views(watch: Watch, served: tuple[str, Path]) -> None:
    page = watch.page
    page.goto(served[0] + "index.html")
    page.locator(".stats a", has_text="verified").first.click()
    wait_ready(page)
    verdict = page.input_value("#f-verdict")
    assert verdict in ("pass", "warn") and f"verdict={verdict}" in page.url
    rows = visible_rows(page)
    assert rows and all(r[8] == verdict for r in rows)


def test_hover_card_opens_on_keyboard_focus(watch: Watch, served: tuple[str, Path]) -> None:
    page = watch.page
    page.goto(served[0] + "glossary/yarn.html")
    term = page.locator("main a.term").first
    card_id = term.get_attribute("aria-describedby")
    card = page.locator(f"#{card_id}")
    assert card.is_hidden()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('term')"):
            break
    else:
        pytest.fail("Tab never reached a glossary term")
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-describedby')")
    card = page.locator(f"#{focused}")
    assert card.is_visible()
    assert card.locator("a.card-open").is_visible()
    assert card.get_attribute("role") == "tooltip"
    page.keyboard.press("Escape")
    assert card.is_hidden()
    page.locator(f"main a.term[aria-describedby='{focused}']").first.hover()
    assert card.is_visible()
    assert page.locator(f"[id='{focused}']").count() == 1  # one card per term


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_every_internal_link_resolves_and_nothing_executes(
    watch: Watch, served: tuple[str, Path]
) -> None:
    base = served[0]
    page = watch.page
    seen: set[str] = set()
    queue = [base + "index.html"]
    checked: dict[str, int] = {}
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(url)
        assert response is not None and response.ok, url
        assert not watch.pwned(), url
        hrefs = page.eval_on_selector_all(
            "a[href]",  # SVG links too: resolve the attribute, not the element's href object
            "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).href)",
        )
        for href in hrefs:
            target = urldefrag(href).url
            if target.startswith("blob:" + base.rstrip("/")):  # "this view as CSV/JSON"
                continue
            if not target.startswith(base):
                assert target.startswith(("https://", "http://")), (url, href)
                continue
            path = urlsplit(target).path
            if path.endswith(".html") or path.endswith("/"):
                if target not in seen:
                    queue.append(target)
            elif target not in checked:
                checked[target] = _status(target)
    broken = {u: s for u, s in checked.items() if s != 200}
    assert broken == {}
    assert base + f"models/{EVIL_REPO}.html" in seen
    assert len(seen) > 50


def take_screenshots(browser: Any, base: str, out: Path) -> list[Path]:
    """Home, catalog, DeepSeek-V3 and YaRN: desktop light, desktop dark and phone."""
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    for variant, context in (
        ("desktop", {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"}),
        ("dark", {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"}),
        ("phone", {"viewport": {"width": 390, "height": 844}, "is_mobile": True}),
    ):
        ctx = browser.new_context(**context)
        page = ctx.new_page()
        for name, path in SHOTS.items():
            page.goto(base + path)
            if name == "catalog":
                wait_ready(page)
            target = out / f"{name}-{variant}.png"
            page.screenshot(path=str(target), full_page=name != "catalog")
            saved.append(target)
        ctx.close()
    return saved


def test_screenshots(browser: Any, served: tuple[str, Path]) -> None:
    base, folder = served
    saved = take_screenshots(browser, base, folder / "screenshots")
    assert len(saved) == 3 * len(SHOTS)
    assert all(p.stat().st_size > 5000 for p in saved)


@pytest.mark.parametrize("mobile", [True, False])
def test_phone_width_has_no_sideways_scroll(
    browser: Any, served: tuple[str, Path], mobile: bool
) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=mobile)
    page = ctx.new_page()
    for path in SHOTS.values():
        page.goto(served[0] + path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    ctx.close()


if __name__ == "__main__":  # pragma: no cover - manual use on a rendered site
    from playwright.sync_api import sync_playwright

    from registry.sitegen.serve import make_server

    site = Path(sys.argv[1] if len(sys.argv) > 1 else REPO_ROOT / "site" / "_build")
    server = make_server(site, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        base_url = f"http://127.0.0.1:{server.server_address[1]}/"
        for shot in take_screenshots(chromium, base_url, site / "screenshots"):
            print(shot)
        chromium.close()
    server.shutdown()
