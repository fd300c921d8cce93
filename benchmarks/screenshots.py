"""Screenshots of every page kind of the site, at desktop and phone width, to look at.

Renders the catalog (default: the committed catalog.db) into benchmarks/_out/screenshots-site,
serves it on loopback and writes one PNG per page kind and width into benchmarks/_out/screenshots
(both ignored by git), plus a line per model page with where the lead box and the runtime table
end, so "in the first screen" is measured rather than eyeballed.

    .venv/bin/python benchmarks/screenshots.py
    .venv/bin/python benchmarks/screenshots.py --db other.db --out /tmp/shots --full
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PAGE_KINDS = {
    "home": "index.html",
    "catalog": "catalog/index.html",
    "catalog-page-2": "catalog/page-2.html",
    "model-afm": "models/arcee-ai/AFM-4.5B.html",
    "model-gpt-oss": "models/openai/gpt-oss-120b.html",
    "model-deepseek": "models/deepseek-ai/DeepSeek-V3.html",
    "model-qwen3": "models/Qwen/Qwen3-8B.html",
    "model-gemma": "models/google/gemma-4-31B.html",
    "tags": "tags/index.html",
    "tag": "tags/rope-yarn.html",
    "families": "families/index.html",
    "family": "families/qwen.html",
    "glossary": "glossary/index.html",
    "entry": "glossary/yarn.html",
    "404": "404.html",
}
MEASURE = """() => {
  const end = id => { const e = document.getElementById(id);
    return e ? Math.round(e.getBoundingClientRect().bottom + window.scrollY) : null; };
  return {lead: end('lead'), runtimes: end('runtimes'), height: document.body.scrollHeight};
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=str(ROOT / "catalog.db"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_out" / "screenshots")
    parser.add_argument("--full", action="store_true", help="Whole pages, not the first screen.")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from registry.db import open_engine
    from registry.sitegen import render_site
    from registry.sitegen.serve import make_server

    site = args.out.parent / "screenshots-site"
    render_site(open_engine(args.db, create=False, readonly=True), site)
    server = make_server(site, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for width, viewport in WIDTHS.items():
                ctx = browser.new_context(viewport=viewport, is_mobile=width == "phone")
                page = ctx.new_page()
                for name, path in PAGE_KINDS.items():
                    if not (site / path).is_file():
                        print(f"{width:8} {name:16} (no such page in this catalog)")
                        continue
                    page.goto(base + path)
                    if name == "catalog":
                        page.wait_for_selector("html[data-catalog='ready']", timeout=20000)
                    target = args.out / f"{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=args.full)
                    sizes = page.evaluate(MEASURE)
                    ends = " ".join(f"{k} ends {v} px" for k, v in sizes.items() if v)
                    print(f"{width:8} {name:16} {ends}")
                ctx.close()
            browser.close()
    finally:
        server.shutdown()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
