"""Recipes (registry/recipes.py, `ropedex recipe`), checked against the verifier itself.

Differential: each recipe's config change is merged into the real corpus config, the result is
tagged and verified again, and every runtime's served context must then be the recipe's target
with the scaling it names applied. The vLLM and SGLang flags must carry the same change.
"""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.errors import BadExtensionsFile
from registry.families import family_of
from registry.lead import LEAD_RUNTIMES
from registry.recipes import load_extensions, recipes
from tests.conftest import corpus_configs, load_corpus_config


def _verified(config: dict[str, Any], tmp: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    from registry.verify.verdict import verify_tag
    from scrapers.tagger import tag_file

    path = tmp / "config.json"
    path.write_text(json.dumps(config))
    tag, readable = tag_file(str(path))
    assert readable
    verdict = verify_tag(tag, device="cpu", config=config).to_dict()
    return tag.to_dict(), verdict, str(tag.model_type)


def _merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _recipes_for(repo_id: str, tmp: Path) -> tuple[dict[str, Any], list[Any]]:
    config = load_corpus_config(repo_id)
    facts, verdict, model_type = _verified(config, tmp)
    found = recipes(
        repo_id, facts, verdict, model_type=model_type, family=family_of(repo_id, model_type)
    )
    return config, found


@pytest.mark.parametrize(
    ("repo_id", "kind"),
    [("Qwen/Qwen3-8B", "family"), ("arcee-ai/AFM-4.5B", "declared")],
)
def test_applied_recipe_is_served_by_every_runtime(repo_id: str, kind: str, tmp_path: Path) -> None:
    config, found = _recipes_for(repo_id, tmp_path)
    assert [r.kind for r in found] == [kind]
    recipe = found[0]
    before = _verified(config, tmp_path)[1]["runtimes"]
    assert all(before[rt]["served_context"] < recipe.target_context for rt in LEAD_RUNTIMES)
    after_facts, after, _ = _verified(_merge(config, recipe.config_change), tmp_path)
    for runtime in LEAD_RUNTIMES:
        row = after["runtimes"][runtime]
        assert row["served_context"] == recipe.target_context, runtime
        assert row["applies_scaling"] is True, runtime
    assert after["verdict"] != "fail"
    if kind == "family":
        assert after_facts["scaling_type"] == "yarn" and after_facts["scaling_factor"] == 4.0
        assert recipe.origin == "documented by the family"
        assert recipe.source and recipe.source.startswith("https://")
    else:
        assert recipe.origin == "the config's own factor" and recipe.source is None


def test_flags_carry_the_same_change(tmp_path: Path) -> None:
    _, found = _recipes_for("Qwen/Qwen3-8B", tmp_path)
    recipe = found[0]
    vllm = shlex.split(recipe.commands["vllm"])
    assert vllm[:3] == ["vllm", "serve", "Qwen/Qwen3-8B"]
    assert json.loads(vllm[vllm.index("--hf-overrides") + 1]) == recipe.config_change
    assert vllm[vllm.index("--max-model-len") + 1] == "131072"
    sglang = shlex.split(recipe.commands["sglang"])
    assert json.loads(sglang[sglang.index("--json-model-override-args") + 1]) == (
        recipe.config_change
    )
    assert sglang[sglang.index("--context-length") + 1] == "131072"
    llama = shlex.split(recipe.commands["llama.cpp"])
    rope = recipe.config_change["rope_scaling"]
    assert llama[llama.index("--rope-scaling") + 1] == "yarn"
    assert float(llama[llama.index("--rope-scale") + 1]) == rope["factor"]
    assert (
        int(llama[llama.index("--yarn-orig-ctx") + 1]) == rope["original_max_position_embeddings"]
    )
    assert llama[llama.index("-c") + 1] == "131072"


@pytest.mark.parametrize(
    "repo_id",
    ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-30B-A3B-Instruct-2507", "deepseek-ai/DeepSeek-V3"],
)
def test_no_recipe_where_nothing_documents_more(repo_id: str, tmp_path: Path) -> None:
    assert _recipes_for(repo_id, tmp_path)[1] == []


def test_family_row_needs_the_stock_config(tmp_path: Path) -> None:
    """A re-upload that already carries the extension gets no family recipe."""
    config = load_corpus_config("Qwen/Qwen3-8B")
    _, found = _recipes_for("Qwen/Qwen3-8B", tmp_path)
    extended = _merge(config, found[0].config_change)
    facts, verdict, model_type = _verified(extended, tmp_path)
    assert recipes("Qwen/Qwen3-8B", facts, verdict, model_type=model_type, family="qwen") == []


def test_runtimes_that_differ_get_pinned(tmp_path: Path) -> None:
    repo_id = next(r for r, _ in corpus_configs() if r == "OpenGVLab/InternVL3-8B-hf")
    _, found = _recipes_for(repo_id, tmp_path)
    assert [r.kind for r in found] == ["runtimes"]
    target = found[0].target_context
    assert found[0].commands["vllm"].endswith(f"--max-model-len {target}")
    assert found[0].commands["sglang"].endswith(f"--context-length {target}")
    assert found[0].commands["llama.cpp"].endswith(f"-c {target}")


# Rows whose stock config the corpus lacks: a corpus config of the same architecture with the
# stock declared length (Qwen2.5-7B base ships 131,072; its Instruct model 32,768), written here.
STAND_INS = {"Qwen2.5-7B-Instruct": "Qwen/Qwen2.5-7B"}


def test_every_extension_row_is_served_once_applied(tmp_path: Path) -> None:
    rows = load_extensions()
    assert rows and all(r.source.startswith("https://") for r in rows)
    corpus = {r.split("/", 1)[1]: r for r, _ in corpus_configs()}
    for row in rows:
        stock = [
            n
            for n, repo in corpus.items()
            if row.name.match(n)
            and load_corpus_config(repo).get("max_position_embeddings") == row.when_declared
        ]
        if stock:
            name, config = stock[0], load_corpus_config(corpus[stock[0]])
        else:
            name = next(n for n in STAND_INS if row.name.match(n))
            config = {**load_corpus_config(STAND_INS[name]), "max_position_embeddings": 32768}
            config.pop("rope_scaling", None)
            assert config["max_position_embeddings"] == row.when_declared
        facts, verdict, model_type = _verified(config, tmp_path)
        found = recipes(f"org/{name}", facts, verdict, model_type=model_type, family=row.family)
        assert [r.kind for r in found] == ["family"], name
        _, after, _ = _verified(_merge(config, found[0].config_change), tmp_path)
        served = {rt: after["runtimes"][rt]["served_context"] for rt in LEAD_RUNTIMES}
        assert set(served.values()) == {row.context}, (name, served)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("not toml [", "extensions.toml"),
        ("[[extension]]\nfamily = 'q'\n", "name must be a str"),
        (
            "[[extension]]\nfamily='q'\nname='x'\nwhen_declared=1\nrope={}\ncontext=2\n"
            "source='http://insecure'\n",
            "source must be an https URL",
        ),
        (
            "[[extension]]\nfamily='q'\nname='('\nwhen_declared=1\nrope={}\ncontext=2\n"
            "source='https://x'\n",
            "name is not a regex",
        ),
    ],
)
def test_bad_extensions_file_is_one_clear_error(text: str, error: str, tmp_path: Path) -> None:
    path = tmp_path / "extensions.toml"
    path.write_text(text)
    with pytest.raises(BadExtensionsFile, match=error):
        load_extensions(path)


def test_recipe_cli_from_a_path(tmp_path: Path) -> None:
    from registry.cli import cli

    folder = tmp_path / "Qwen" / "Qwen3-8B"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(load_corpus_config("Qwen/Qwen3-8B")))
    runner = CliRunner()
    args = ["recipe", str(folder / "config.json"), "--device", "cpu"]
    out = runner.invoke(cli, [*args, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["model"] == str(folder)
    assert [r["kind"] for r in data["recipes"]] == ["family"]
    only = runner.invoke(cli, [*args, "--runtime", "llama.cpp"])
    assert only.exit_code == 0, only.output
    assert "--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32768 -c 131072" in only.output
    assert "vllm serve" not in only.output
    assert "documented by the family" in only.output


def test_recipe_cli_unknown_model_is_one_line(tmp_path: Path) -> None:
    from registry.cli import cli

    db = tmp_path / "empty.db"
    from registry.db import open_engine

    open_engine(str(db), create=True).dispose()
    out = CliRunner().invoke(cli, ["--db", str(db), "recipe", "nobody/nothing"])
    assert out.exit_code == 1
    assert out.output.startswith("Error: No model 'nobody/nothing'")
    assert "Traceback" not in out.output


def test_recipe_of_a_repo_id_the_catalog_lacks_is_read_from_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like `check`, `recipe ORG/NAME` falls back to the Hub (here the mirror, via HF_ENDPOINT)."""
    import shutil

    from registry.cli import cli
    from registry.db import open_engine
    from scrapers.mirror import serve_in_thread
    from tests.conftest import corpus_configs

    source = next(p for r, p in corpus_configs() if r == "Qwen/Qwen3-8B")
    (tmp_path / "hub" / "Qwen" / "Qwen3-8B").mkdir(parents=True)
    shutil.copyfile(source, tmp_path / "hub" / "Qwen" / "Qwen3-8B" / "config.json")
    db = tmp_path / "empty.db"
    open_engine(str(db), create=True).dispose()
    with serve_in_thread(tmp_path / "hub") as (_server, url):
        monkeypatch.setenv("HF_ENDPOINT", url)
        out = CliRunner().invoke(cli, ["--db", str(db), "recipe", "Qwen/Qwen3-8B"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("Qwen/Qwen3-8B: 1 recipe")
    assert "--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32768" in out.output
