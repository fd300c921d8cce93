"""The static site renderer over a small real catalog: corpus configs plus hostile ones.

The catalog is built with `registry.sync.ingest_tree` from a Hub-like tree of corpus configs, a
config whose strings carry script payloads, verifier rows, changes from a second ingest, and rows
whose repo ids are unsafe as paths. `build_catalog` is shared with the browser tests.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, corpus_configs

PICKS = (
    "deepseek-ai/DeepSeek-V3",
    "openai/gpt-oss-20b",
    "meta-llama/Meta-Llama-3.1-8B",
    "Qwen/Qwen3-0.6B",
    "google-bert/bert-base-uncased",
    "mosaicml/mpt-7b-instruct",
    "state-spaces/mamba-130m-hf",
    "google/mt5-small",
    "google/gemma-4-31B",
)
SAMPLE_GLOSSARY = REPO_ROOT / "tests" / "data" / "glossary"

# Each payload sets window.__pwned or opens a dialog if it ever runs.
P_SCRIPT = "<script>window.__pwned=1</script>"
P_IMG = '"><img src=x onerror="window.__pwned=1;alert(1)">'
P_JS = "javascript:window.__pwned=1"
P_CLOSE = "</script><script>window.__pwned=1</script>"
PAYLOADS = (P_SCRIPT, P_IMG, P_JS, P_CLOSE)
EVIL_REPO = "evil-org/payload-model"
UNSAFE_IDS = (f"evil/{P_SCRIPT}", "../../escape/attempt", f"evil/x{P_IMG}")


def _evil_config(factor: float) -> dict[str, Any]:
    return {
        "model_type": "llama",
        "architectures": [P_SCRIPT, P_IMG],
        "_name_or_path": P_JS,
        "hidden_size": 512,
        "num_attention_heads": 8,
        "num_hidden_layers": 2,
        "max_position_embeddings": int(4096 * factor),
        "rope_theta": 10000.0,
        "torch_dtype": P_CLOSE,
        "rope_scaling": {
            "rope_type": "yarn",
            "factor": factor,
            "original_max_position_embeddings": 4096,
            "comment": P_IMG,
        },
    }


def _hub_json(downloads: int, **extra: Any) -> str:
    return json.dumps({"downloads": downloads, "likes": downloads // 100, **extra})


def build_tree(root: Path) -> Path:
    """ORG/NAME/config.json (+ hub.json) for PICKS and the hostile model."""
    sources = dict(corpus_configs())
    for rank, repo_id in enumerate(PICKS):
        folder = root / repo_id
        folder.mkdir(parents=True)
        folder.joinpath("config.json").write_bytes(sources[repo_id].read_bytes())
        folder.joinpath("hub.json").write_text(_hub_json(10_000 * (len(PICKS) - rank)))
    evil = root / EVIL_REPO
    evil.mkdir(parents=True)
    evil.joinpath("config.json").write_text(json.dumps(_evil_config(4.0)))
    meta = {"pipeline_tag": P_SCRIPT, "cardData": {"license": P_IMG, "base_model": P_JS}}
    evil.joinpath("hub.json").write_text(_hub_json(5, **meta))
    return root


def _add_rows(engine: Any) -> None:
    """Verifier rows for every fingerprint, unsafe repo ids, and a hostile change row."""
    from sqlmodel import Session, select

    from registry.models import Change, Model, PositionFacts, Verification

    with Session(engine) as session:
        prints = session.exec(select(PositionFacts.verify_fingerprint).distinct()).all()
        for number, fp in enumerate(sorted(p for p in prints if p)):
            checks: list[dict[str, Any]] = [
                {"id": "C1-type-key", "status": "pass", "message": "rope_type is set"},
                {"id": "C12-llama3-bands", "status": "not-applicable", "message": "not llama3"},
                {
                    "id": "P5-magnitude",
                    "status": "pass",
                    "message": "attention logits scaled",
                    "numbers": {"logit_multiplier": 1.8738542070926265, "pairs": [10.0, 23.0]},
                },
                {
                    "id": "C20-theta",
                    "status": "pass",
                    "message": "full_attention: rope_theta 1e+06",
                    "numbers": {"full": {"theta": 1000000.0}, "sliding": {"theta": 10000.0}},
                },
                {"id": "X1-runtime-agreement", "status": "warn", "message": P_SCRIPT},
            ]
            same = {"applies_scaling": True, "factor": 4.0, "attention_scaling": 1.0}
            runtimes = {
                "transformers": {
                    "served_context": 4096 * (number + 1),
                    "logit_multiplier": 1.0,
                    "notes": [P_IMG],
                    **same,
                },
                "vllm": {"served_context": 4096, "logit_multiplier": 1.25, "notes": [], **same},
            }
            session.add(
                Verification(
                    fingerprint=fp,
                    verdict="warn" if number % 2 else "pass",
                    checks=checks,
                    runtimes=runtimes,
                    device="cpu",
                    core_version="1",
                    verified_at="2026-11-28T03:00:00+00:00",
                )
            )
        for repo_id in UNSAFE_IDS:
            session.add(Model(repo_id=repo_id, family=P_IMG, model_type=P_SCRIPT, downloads=1))
        session.commit()
        evil = session.exec(select(Model).where(Model.repo_id == EVIL_REPO)).one()
        assert evil.id is not None
        session.add(
            Change(
                model_id=evil.id,
                repo_id=EVIL_REPO,
                field_path="rope_scaling.comment",
                old_value=json.dumps(P_SCRIPT),
                new_value=json.dumps(P_JS),
                changed_at="2026-11-28T02:00:00+00:00",
            )
        )
        session.commit()


def build_catalog(folder: Path) -> Path:
    """A real SQLite catalog from ingest (twice, so the hostile model has changes)."""
    from registry.db import open_engine
    from registry.sync import ingest_tree

    tree = build_tree(folder / "hub")
    db = folder / "catalog.db"
    engine = open_engine(str(db))
    ingest_tree(engine, tree)
    tree.joinpath(EVIL_REPO, "config.json").write_text(json.dumps(_evil_config(8.0)))
    ingest_tree(engine, tree)
    _add_rows(engine)
    engine.dispose()
    return db


@pytest.fixture(name="catalog", scope="module")
def catalog_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_catalog(tmp_path_factory.mktemp("catalog"))


@pytest.fixture(name="site", scope="module")
def site_fixture(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from registry.db import open_engine
    from registry.sitegen import render_site

    out = tmp_path_factory.mktemp("render") / "site"
    engine = open_engine(str(catalog), create=False, readonly=True)
    summary = render_site(engine, out, glossary_dir=SAMPLE_GLOSSARY)
    assert summary.out_dir == out.resolve()
    return out


class Links(HTMLParser):
    """Collects every attribute value of every tag."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
        if tag == "script":
            self.scripts.append(dict(attrs).get("src") or "")


def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def catalog_rows(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        query = (
            "SELECT m.repo_id, m.family, f.position_encoding, f.evidence, f.effective_context, "
            "f.rope_parameters FROM models m LEFT JOIN position_facts f "
            "ON f.snapshot_id = m.snapshot_id"
        )
        return [dict(r) for r in conn.execute(query)]


# -- structure ------------------------------------------------------------------------------------


def test_every_model_with_a_safe_id_has_a_page(site: Path, catalog: Path) -> None:
    from scrapers.hubtree import is_valid_repo_id

    rows = catalog_rows(catalog)
    safe = [r["repo_id"] for r in rows if is_valid_repo_id(r["repo_id"])]
    assert len(safe) == len(PICKS) + 1
    for repo_id in safe:
        assert (site / "models" / f"{repo_id}.html").is_file(), repo_id
    pages = {p.relative_to(site / "models").as_posix() for p in (site / "models").rglob("*.html")}
    assert pages == {f"{r}.html" for r in safe}


def test_unsafe_repo_ids_are_listed_but_never_become_paths(site: Path) -> None:
    everything = [p.relative_to(site).as_posix() for p in site.rglob("*")]
    assert not any("escape" in p or "<" in p or ".." in p for p in everything)
    assert not (site.parent / "escape").exists()
    listed = {row["repo_id"] for row in json.loads((site / "downloads/models.json").read_text())}
    assert set(UNSAFE_IDS) <= listed


def test_model_page_shows_evidence_keys_and_numbers_from_the_catalog(
    site: Path, catalog: Path
) -> None:
    row = next(r for r in catalog_rows(catalog) if r["repo_id"] == "deepseek-ai/DeepSeek-V3")
    html = (site / "models/deepseek-ai/DeepSeek-V3.html").read_text()
    assert row["position_encoding"] == "rope-yarn"
    evidence = json.loads(row["evidence"])
    assert isinstance(evidence["rope_scaling"], dict)
    for key, value in leaves(evidence):  # nested config keys by their exact dotted path
        assert f"<code>{key}</code></th><td><code>{escape(json_text(value))}</code>" in html
    assert "<code>rope_scaling.factor</code>" in html
    assert f"{row['effective_context']:,} tokens" in html  # exact, next to the short form
    assert "Context as each runtime derives it" in html and "Served context" in html
    assert 'class="plot"' in html and "YaRN blend band" in html


def leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if not isinstance(value, dict) or (prefix and not value):
        return [(prefix, value)]
    return [kv for k, v in value.items() for kv in leaves(v, f"{prefix}.{k}" if prefix else k)]


def json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def section(html: str, heading: str) -> str:
    """The text of the <section> whose h2 is `heading`."""
    start = html.index(f"<h2>{heading}</h2>")
    return html[start : html.index("</section>", start)]


def test_catalog_table_shows_short_forms_with_exact_titles(site: Path) -> None:
    html = (site / "catalog/index.html").read_text()
    row = html[html.index("models/deepseek-ai/DeepSeek-V3.html") :]
    row = row[: row.index("</tr>")]
    assert '<td class="n" title="10,000">1e4</td>' in row
    assert '<td class="n" title="163,840">160k</td>' in row
    assert '<td class="n" title="4,096">4k</td>' in row


def test_verification_reads_as_findings_not_json(site: Path) -> None:
    html = (site / "models/deepseek-ai/DeepSeek-V3.html").read_text()
    part = section(html, "Verification")
    assert "Type key (rope_type or legacy type)" in part and '"cid">C1-type-key<' in part
    assert "Attention logit magnitude" in part
    assert '<dt>logit_multiplier</dt><dd title="1.8738542070926265">1.874</dd>' in part
    assert '<dd title="[10.0, 23.0]">10, 23</dd>' in part  # a list as numbers, not JSON
    assert '<dt>full.theta</dt><dd title="1000000.0">1,000,000</dd>' in part  # per layer type
    assert '<dt>sliding.theta</dt><dd title="10000.0">10,000</dd>' in part
    assert not re.search(r">[^<]*\d\.\d{8,}[^<]*<", part)  # no unrounded float as text
    # a check that does not apply is folded away, not listed as a result
    applicable = part[: part.index('<details class="skipped">')]
    assert "C12-llama3-bands" not in applicable
    assert "1 check did not apply" in part and "not llama3" in part
    runtimes = section(html, "Runtimes")
    runtimes = re.sub(r"<[^>]+>", "", runtimes.split("Context as each runtime")[1])
    assert "[" not in runtimes and "true" not in runtimes  # notes as text, yes/no


def test_runtime_table_marks_what_differs_from_transformers(site: Path, catalog: Path) -> None:
    with sqlite3.connect(catalog) as conn:
        rows = conn.execute("SELECT runtimes FROM verifications").fetchall()
    served = [json.loads(rt)["transformers"]["served_context"] for (rt,) in rows]
    assert 4096 in served and any(s != 4096 for s in served)  # vllm serves 4096 in all
    seen = set()
    for path in (site / "models").rglob("*.html"):
        html = path.read_text()
        if "Context as each runtime" not in html:
            continue
        part = section(html, "Runtimes")
        head = part.index('<th scope="row">transformers</th>')
        own = part.index('<th scope="row">vllm</th>')
        assert head < own  # the reference runtime comes first
        transformers = part[head:].split("</tr>")[0]
        vllm = part[own:].split("</tr>")[0]
        first = transformers.split("</td>")[0].split(">")[-1]
        cells = vllm.split("</td>")
        marked = 'class="n differs"' in cells[0]
        assert marked == (first != "4k"), path  # served context
        assert ["differs" in c for c in cells[1:5]] == [False, False, False, True]  # logits
        assert "differs" not in transformers
        seen.add(marked)
    assert seen == {True, False}


def test_model_page_links_its_tag_family_and_their_entries(site: Path) -> None:
    html = (site / "models/deepseek-ai/DeepSeek-V3.html").read_text()
    lede = html[html.index('<p class="lede">') :].split("</p>")[0]
    for href in (
        "../../tags/rope-yarn.html",
        "../../glossary/yarn.html",
        "../../glossary/deepseek.html",
    ):
        assert f'href="{href}"' in lede, href
    assert 'href="../../families/deepseek.html"' in html
    assert html.count('id="card-deepseek"') == html.count('id="card-yarn"') == 1


def test_models_without_rotary_embedding_skip_rope_numbers(site: Path, catalog: Path) -> None:
    row = next(r for r in catalog_rows(catalog) if r["repo_id"] == "google/mt5-small")
    assert row["position_encoding"] == "relative-bias"
    part = section((site / "models/google/mt5-small.html").read_text(), "Numbers")
    assert "No rotary embedding" in part
    assert "θ (base)" not in part and "Rotary dims" not in part


def test_per_layer_model_gets_one_figure_per_layer_type(site: Path, catalog: Path) -> None:
    row = next(r for r in catalog_rows(catalog) if r["repo_id"] == "google/gemma-4-31B")
    layers = json.loads(row["rope_parameters"])
    assert len(layers) == 2
    html = (site / "models/google/gemma-4-31B.html").read_text()
    part = section(html, "Frequency scaling")
    for layer in layers:
        assert f"<strong>{layer}</strong>" in part
    # neither layer type rescales: a sentence says so instead of a flat line at 1
    assert "<polyline" not in part
    assert part.count("Every pair keeps its frequency") == len(layers)


def test_frequency_plot_has_one_point_per_rotating_pair(site: Path, catalog: Path) -> None:
    from yarn_core.params import RopeParams

    row = next(r for r in catalog_rows(catalog) if r["repo_id"] == "deepseek-ai/DeepSeek-V3")
    layers = json.loads(row["rope_parameters"])
    params = RopeParams.from_dict(next(v for v in layers.values() if v))
    html = (site / "models/deepseek-ai/DeepSeek-V3.html").read_text()
    points = re.search(r'<polyline class="line" points="([^"]+)"', html)
    assert points is not None
    assert len(points.group(1).split()) == params.rotary_dim // 2


def test_history_lists_changes_from_the_second_ingest(site: Path, catalog: Path) -> None:
    with sqlite3.connect(catalog) as conn:
        changes = conn.execute(
            "SELECT id, field_path FROM changes WHERE repo_id = ?", (EVIL_REPO,)
        ).fetchall()
    assert len(changes) >= 2  # ingest found factor 4 -> 8, plus the hand-written row
    html = (site / f"models/{EVIL_REPO}.html").read_text()
    for change_id, field_path in changes:
        assert f'id="change-{change_id}"' in html
        assert f"<code>{field_path}</code>" in html


def test_tag_and_family_pages_count_the_catalog(site: Path, catalog: Path) -> None:
    rows = catalog_rows(catalog)
    for tag in {r["position_encoding"] for r in rows if r["position_encoding"]}:
        count = sum(r["position_encoding"] == tag for r in rows)
        html = (site / "tags" / f"{tag}.html").read_text()
        assert f"<strong>{count}</strong> catalogued model" in html
    deepseek = sum(r["family"] == "deepseek" for r in rows)
    assert deepseek >= 1
    assert f"<strong>{deepseek}</strong>" in (site / "families/deepseek.html").read_text()


def test_tag_and_family_pages_break_down_by_the_other(site: Path, catalog: Path) -> None:
    rows = [r for r in catalog_rows(catalog) if r["position_encoding"] == "rope-yarn"]
    families = {r["family"] for r in rows if r["family"]}
    html = (site / "tags/rope-yarn.html").read_text()
    line = html[html.index('<p class="breakdown">') :].split("</p>")[0]
    for family in families:
        n = sum(r["family"] == family for r in rows)
        assert f'families/{family}.html">{family}</a> <span class="count">{n}</span>' in line
    html = (site / "families/deepseek.html").read_text()
    assert 'tags/rope-yarn.html">rope-yarn</a>' in html.split('<p class="breakdown">')[1]


def test_glossary_entry_links_terms_with_one_card_each(site: Path) -> None:
    html = (site / "glossary/yarn.html").read_text()
    # the body links [[rope]] twice and [[deepseek]] once: one card per term
    assert html.count('id="card-rope"') == 1
    assert html.count('id="card-deepseek"') == 1
    assert html.count('aria-describedby="card-rope"') == 2
    assert "Open full entry" in html
    assert "arXiv:2309.00071" in html
    assert 'href="../tags/rope-yarn.html"' in html
    alias = (site / "glossary/yet-another-rope-extension.html").read_text()
    assert 'url=yarn.html"' in alias


def test_catalog_shards_hold_every_model(site: Path, catalog: Path) -> None:
    index = json.loads((site / "data/catalog.json").read_text())
    rows = [row for shard in index["shards"] for row in json.loads((site / shard).read_text())]
    assert index["total"] == len(rows) == len(catalog_rows(catalog))
    repo = index["columns"].index("repo_id")
    assert {r[repo] for r in rows} == {r["repo_id"] for r in catalog_rows(catalog)}
    assert "rope-yarn" in index["synonyms"]["yet-another-rope-extension"]
    first_page = (site / "catalog/index.html").read_text()
    assert "deepseek-ai/DeepSeek-V3" in first_page  # the most downloaded, without JavaScript


def test_downloads_match_the_catalog(site: Path, catalog: Path) -> None:
    with open(site / "downloads/models.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(catalog_rows(catalog))
    with sqlite3.connect(site / "downloads/catalog.db") as conn:
        assert conn.execute("SELECT count(*) FROM models").fetchone()[0] == len(table)


def test_feeds_and_sitemap_are_valid_xml(site: Path) -> None:
    ns = "{http://www.w3.org/2005/Atom}"
    atom = ET.parse(site / "feeds/changes.atom").getroot()
    entries = atom.findall(f"{ns}entry")
    titles = [e.findtext(f"{ns}title", "") for e in entries]
    assert any(EVIL_REPO in t and t.endswith("changed") for t in titles)
    assert any(t.endswith("added to the catalog") for t in titles)  # first sightings are events
    rss = ET.parse(site / "feeds/changes.rss").getroot()
    assert len(rss.findall("./channel/item")) == len(entries)
    summaries = [i.findtext("description", "") for i in rss.findall("./channel/item")]
    summaries += [e.findtext(f"{ns}summary", "") for e in entries]
    assert any("&lt;script&gt;" in text for text in summaries)  # HTML-escaped for readers
    assert not any("<script" in text for text in summaries)
    assert (site / "feeds/tags/rope-yarn.atom").is_file()
    assert (site / "feeds/families/deepseek.rss").is_file()
    sitemap = ET.parse(site / "sitemap.xml").getroot()
    locs = [e.text or "" for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert any(loc.endswith("models/deepseek-ai/DeepSeek-V3.html") for loc in locs)
    assert len(locs) == len(set(locs))


# -- safety -------------------------------------------------------------------------------------


def test_payloads_are_shown_as_text(site: Path) -> None:
    page = (site / f"models/{EVIL_REPO}.html").read_text()
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page  # architectures, checks
    assert "javascript:window.__pwned=1" in page  # as text, never as a link
    assert "&#34;&gt;&lt;img src=x" in page or "&quot;&gt;&lt;img src=x" in page
    home = (site / "index.html").read_text()
    assert "&lt;script&gt;" in home  # the hostile change row


def test_payloads_never_appear_as_markup(site: Path) -> None:
    for path in html_files(site):
        text = path.read_text(encoding="utf-8")
        assert "<script>window.__pwned" not in text, path
        assert "<img src=x" not in text, path
        parsed = parse(path)
        for tag, name, value in parsed.attrs:
            assert not value.strip().lower().startswith("javascript:"), (path, tag, name)
            assert not name.startswith("on"), (path, tag, name)
        own = ("../", "static/", "/static/")  # the 404 page links from the site root
        assert all(src.startswith(own) for src in parsed.scripts), path


def test_pages_request_nothing_from_other_hosts(site: Path) -> None:
    for path in html_files(site):
        for tag, name, value in parse(path).attrs:
            if name in ("src", "srcset") or (tag == "link" and name == "href"):
                assert "//" not in value, (path, tag, value)
    css = (site / "static/style.css").read_text()
    assert "url(" not in css and "@import" not in css


def test_two_renders_write_the_same_bytes(site: Path, catalog: Path, tmp_path: Path) -> None:
    from registry.db import open_engine
    from registry.sitegen import render_site

    engine = open_engine(str(catalog), create=False, readonly=True)
    again = tmp_path / "again"
    render_site(engine, again, glossary_dir=SAMPLE_GLOSSARY)
    assert tree_digest(again) == tree_digest(site)


# -- failures lose nothing ------------------------------------------------------------------------


def test_unknown_glossary_slug_fails_and_keeps_the_old_site(
    site: Path, catalog: Path, tmp_path: Path
) -> None:
    import shutil

    from registry.db import open_engine
    from registry.errors import RenderError
    from registry.sitegen import render_site

    out = tmp_path / "site"
    shutil.copytree(site, out)
    before = tree_digest(out)
    glossary = tmp_path / "glossary"
    shutil.copytree(SAMPLE_GLOSSARY, glossary)
    entry = glossary / "rope.md"
    entry.write_text(entry.read_text() + "\nA typo: [[yran]].\n")
    engine = open_engine(str(catalog), create=False, readonly=True)
    with pytest.raises(RenderError, match=r"\[\[yran\]\]"):
        render_site(engine, out, glossary_dir=glossary)
    assert tree_digest(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_refuses_to_replace_a_folder_it_did_not_write(catalog: Path, tmp_path: Path) -> None:
    from registry.db import open_engine
    from registry.errors import RenderError
    from registry.sitegen import render_site

    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    engine = open_engine(str(catalog), create=False, readonly=True)
    with pytest.raises(RenderError, match="not written by `ropedex render`"):
        render_site(engine, precious, glossary_dir=SAMPLE_GLOSSARY)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_real_glossary_folder_loads() -> None:
    """The committed site/glossary entries parse and link only to each other."""
    from registry.sitegen.glossary import load_glossary

    entries = load_glossary(REPO_ROOT / "site" / "glossary")
    assert entries, "site/glossary holds no entries"
    for entry in entries.values():
        assert entry.summary and entry.layers


def test_forked_workers_write_the_same_site(
    site: Path, catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry.sitegen.driver
    from registry.db import open_engine
    from registry.sitegen import render_site

    monkeypatch.setattr(registry.sitegen.driver, "render_workers", lambda engine, conn, pages: 3)
    engine = open_engine(str(catalog), create=False, readonly=True)
    forked = tmp_path / "forked"
    summary = render_site(engine, forked, glossary_dir=SAMPLE_GLOSSARY)
    assert tree_digest(forked) == tree_digest(site)
    assert summary.model_pages == len(PICKS) + 1
    assert sorted(summary.refused) == sorted(UNSAFE_IDS)


def test_an_older_catalog_without_a_newer_column_still_renders(
    catalog: Path, tmp_path: Path
) -> None:
    import shutil

    from registry.db import open_engine
    from registry.sitegen import render_site

    older = tmp_path / "older.db"
    shutil.copyfile(catalog, older)
    with sqlite3.connect(older) as conn:
        conn.execute("DROP INDEX IF EXISTS ix_models_license")
        conn.execute("ALTER TABLE models DROP COLUMN license")
    engine = open_engine(str(older), create=False, readonly=True)
    summary = render_site(engine, tmp_path / "site", glossary_dir=SAMPLE_GLOSSARY)
    assert summary.model_pages == len(PICKS) + 1
    page = (tmp_path / "site" / f"models/{EVIL_REPO}.html").read_text()
    assert "<code>license</code>" not in page and "<code>pipeline_tag</code>" in page


def test_every_feed_parses_and_every_tag_feed_has_entries(site: Path) -> None:
    """A real feed parser reads every feed; after a first ingest no tag or family feed is
    empty (a model's first sighting is an event), and each feed's links point where they say."""
    import feedparser

    feeds = sorted((site / "feeds").rglob("*.atom")) + sorted((site / "feeds").rglob("*.rss"))
    assert len(feeds) > 10
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        if path.stem != "untagged":  # models the tagger could not read have no first sighting
            assert parsed.entries, f"{path.relative_to(site)} has no entries"
        self_links = [ln.href for ln in parsed.feed.get("links", []) if ln.get("rel") == "self"]
        assert self_links and self_links[0].endswith(path.name), (path, self_links)
        assert not parsed.feed.link.endswith((".atom", ".rss")), (path, parsed.feed.link)


def test_the_404_page_works_at_a_nested_path_on_a_static_host(site: Path) -> None:
    """A static host (GitHub Pages, nginx `error_page`) serves 404.html for any missing path:
    every link and asset of that page must resolve from a nested URL too."""
    import http.server
    import re
    import threading
    import urllib.error
    import urllib.request
    from urllib.parse import urljoin

    class Pages(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def send_error(self, code: int, *args: Any, **kwargs: Any) -> None:
            if code != 404:
                return super().send_error(code, *args, **kwargs)
            body = (site / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        nested = f"http://127.0.0.1:{server.server_address[1]}/models/no/such/page.html"
        try:
            urllib.request.urlopen(nested)
            raise AssertionError("a missing page answered 200")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
            html = exc.read().decode()
        links = re.findall(r'(?:href|src)="([^"#]+)"', html)
        outside = ("http", "data:", "mailto:")
        local = [urljoin(nested, u) for u in links if not u.startswith(outside)]
        assert any(u.endswith("static/style.css") for u in local) and len(local) >= 5
        for url in local:
            with urllib.request.urlopen(url) as response:
                assert response.status == 200, url
    finally:
        server.shutdown()
