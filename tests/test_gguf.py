"""GGUF headers read through the mirror with the real client, and checked against their source.

The GGUF files are written here with the `gguf` package's writer (tests/gguf_files.py); the
source configs are corpus configs with the edits each case names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.cli import cli
from scrapers.mirror import parse_range, serve_in_thread
from tests.conftest import load_corpus_config
from tests.gguf_files import CASES, QWEN_CORRECT, qwen_source, write_gguf

RESTORE_131K = "--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32768 -c 131072"
BASE_URL = "https://huggingface.co/acme/Qwen2.5-7B-Instruct"


def _source(yarn: bool = True) -> dict[str, Any]:
    return qwen_source(load_corpus_config("Qwen/Qwen2.5-7B"), yarn=yarn)


def _repo(root: Path, repo_id: str, **hub: Any) -> Path:
    folder = root / repo_id
    folder.mkdir(parents=True, exist_ok=True)
    if hub:
        (folder / "hub.json").write_text(json.dumps(hub), encoding="utf-8")
    return folder


def _gguf(args: list[str]) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(cli, ["gguf", *args, "--json", "--retries", "0"])
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, rows, result.output


def test_parse_range_spans() -> None:
    assert parse_range("bytes=0-99", 1000) == (0, 99)
    assert parse_range("bytes=900-2000", 1000) == (900, 999)
    assert parse_range("bytes=990-", 1000) == (990, 999)
    assert parse_range("bytes=-10", 1000) == (990, 999)
    assert parse_range("bytes=1000-1001", 1000) is None
    assert parse_range("bytes=5-2", 1000) is None
    assert parse_range("bytes=0-1,5-6", 1000) is None
    assert parse_range("items=0-1", 1000) is None


def test_mirror_answers_range_with_206_and_content_range(tmp_path: Path) -> None:
    import httpx2

    folder = _repo(tmp_path, "acme/blob")
    (folder / "w.bin").write_bytes(bytes(range(256)) * 4)
    with serve_in_thread(tmp_path) as (server, url):
        part = httpx2.get(f"{url}/acme/blob/resolve/main/w.bin", headers={"Range": "bytes=2-5"})
        beyond = httpx2.get(f"{url}/acme/blob/resolve/main/w.bin", headers={"Range": "bytes=5000-"})
        whole = httpx2.get(f"{url}/acme/blob/resolve/main/w.bin")
        sent = [r.bytes_sent for r in server.requests]
    assert part.status_code == 206 and part.content == bytes([2, 3, 4, 5])
    assert part.headers["Content-Range"] == "bytes 2-5/1024"
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == "bytes */1024"
    assert whole.status_code == 200 and len(whole.content) == 1024
    assert sent[0] == 4 and sent[2] == 1024


def test_50mb_gguf_header_only_over_the_mirror(tmp_path: Path) -> None:
    """Acceptance: a 50 MB GGUF is read with under 1 MB sent, every range inside the header's
    doubling span, and its rope keys printed."""
    folder = _repo(tmp_path, "acme/Qwen2.5-7B-Instruct-GGUF")
    path = write_gguf(
        folder / "model-Q4_K_M.gguf", QWEN_CORRECT, vocab=15000, weight_bytes=50_000_000
    )
    assert path.stat().st_size > 50_000_000
    with serve_in_thread(tmp_path) as (server, url):
        target = "acme/Qwen2.5-7B-Instruct-GGUF:model-Q4_K_M.gguf"
        code, rows, output = _gguf([target, "--endpoint", url, "--no-check"])
        file_answers = [r for r in server.requests if r.kind == "get"]
        sent = server.bytes_sent()
        text = CliRunner().invoke(cli, ["gguf", target, "--endpoint", url, "--no-check"]).output
    assert code == 0, output
    (row,) = rows
    assert row["header_bytes"] > 256 * 1024  # the first span was too short: the range grew
    assert sent < 1_000_000
    assert {r.status for r in file_answers} == {206}
    assert len(file_answers) == 2
    assert row["fetched_bytes"] < 2 * row["header_bytes"]
    assert row["file_size"] == path.stat().st_size
    assert row["rope"] == QWEN_CORRECT
    assert "qwen2.rope.scaling.factor" in text and "qwen2.rope.freq_base" in text


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_case_against_the_same_repo_config(tmp_path: Path, case: str) -> None:
    folder = _repo(tmp_path, "acme/q")
    (folder / "config.json").write_text(json.dumps(_source()), encoding="utf-8")
    write_gguf(folder / f"{case}.gguf", CASES[case])
    with serve_in_thread(tmp_path) as (_server, url):
        code, rows, output = _gguf([f"acme/q:{case}.gguf", "--endpoint", url])
    check = rows[0]["check"]
    assert check["source"] == "acme/q" and check["source_how"] == "same repo"
    named = {d["key"] for d in check["differences"]}
    expected = {
        "correct": set(),
        "missing-yarn": {
            "rope.scaling.type",
            "rope.scaling.factor",
            "rope.scaling.original_context_length",
        },
        "wrong-factor": {"rope.scaling.factor"},
        "wrong-theta": {"rope.freq_base"},
        "wrong-original": {"rope.scaling.original_context_length"},
    }[case]
    assert named == expected, output
    if case == "correct":
        assert check["verdict"] == "pass" and code == 0 and not check["fixes"]
        return
    assert check["verdict"] == "fail" and code == 1
    flags = check["fixes"][0]
    assert flags.endswith(RESTORE_131K)
    assert ("--rope-freq-base 1000000" in flags) == (case == "wrong-theta")


def test_missing_yarn_names_the_exact_flags(tmp_path: Path) -> None:
    folder = _repo(tmp_path, "acme/q")
    (folder / "config.json").write_text(json.dumps(_source()), encoding="utf-8")
    write_gguf(folder / "m.gguf", CASES["missing-yarn"])
    with serve_in_thread(tmp_path) as (_server, url):
        result = CliRunner().invoke(cli, ["gguf", "acme/q", "--endpoint", url])
    assert result.exit_code == 1
    assert f"fix: run llama.cpp with: {RESTORE_131K}" in result.output
    assert "FAIL" in result.output


def test_source_from_lineage_keys_and_from_card(tmp_path: Path) -> None:
    base = _repo(tmp_path, "acme/Qwen2.5-7B-Instruct")
    (base / "config.json").write_text(json.dumps(_source()), encoding="utf-8")
    by_lineage = _repo(tmp_path, "quant/a-GGUF")
    write_gguf(
        by_lineage / "a.gguf",
        CASES["wrong-theta"],
        base_models=[{"name": "Qwen2.5 7B Instruct", "repo_url": BASE_URL}],
    )
    by_card = _repo(tmp_path, "quant/b-GGUF", cardData={"base_model": ["acme/Qwen2.5-7B-Instruct"]})
    write_gguf(by_card / "b.gguf", CASES["correct"])
    with serve_in_thread(tmp_path) as (_server, url):
        _code_a, rows_a, _ = _gguf(["quant/a-GGUF", "--endpoint", url])
        code_b, rows_b, _ = _gguf(["quant/b-GGUF", "--endpoint", url])
    assert rows_a[0]["base_models"] == [{"name": "Qwen2.5 7B Instruct", "repo_url": BASE_URL}]
    assert rows_a[0]["check"]["source_how"] == "general.base_model"
    assert rows_a[0]["check"]["verdict"] == "fail"
    assert rows_b[0]["check"]["source_how"] == "card base_model"
    assert rows_b[0]["check"]["verdict"] == "pass" and code_b == 0


def test_source_without_family_yarn_warns_with_the_flags(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(_source(yarn=False)), encoding="utf-8")
    path = write_gguf(tmp_path / "plain.gguf", CASES["missing-yarn"])
    code, rows, output = _gguf([str(path), "--config", str(config)])
    check = rows[0]["check"]
    assert code == 0 and check["verdict"] == "warn", output
    assert check["fixes"][0] == f"run llama.cpp with: {RESTORE_131K}"
    assert '"original_max_position_embeddings": 32768' in check["fixes"][1]


def test_ropedex_check_reads_a_gguf(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "x.gguf", QWEN_CORRECT)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "qwen2.rope.scaling.type" in result.output
    assert "N/A (no source config" in result.output


def test_bad_gguf_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all, just text" * 4)
    good = write_gguf(tmp_path / "good.gguf", QWEN_CORRECT, vocab=2000)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:4000])
    for path, words in ((bad, "no GGUF magic"), (cut, "unreadable GGUF header")):
        result = CliRunner().invoke(cli, ["gguf", str(path)])
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], result.output


# The one field allowed to differ, with its reason: HunYuan's converter bakes the NTK alpha into
# rope.freq_base (same frequencies, checked below), so llama.cpp applies no scaling to it.
BAKED_ALPHA = {"tencent/Hunyuan-0.5B-Pretrain", "tencent/Hunyuan-1.8B-Instruct"}
BAKED_ALPHA |= {"tencent/Hunyuan-7B-Instruct"}
MATRIX_KEYS = (
    "served_context",
    "applies_scaling",
    "factor",
    "attention_scaling",
    "softmax_multiplier",
    "logit_multiplier",
)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return bool(a == b)


def test_llamacpp_row_from_gguf_keys_matches_the_config_row_on_the_corpus() -> None:
    """Differential: for every corpus config llama.cpp converts, the llama.cpp row rebuilt from
    the GGUF keys the converter writes (`params_from_gguf`) equals the row the matrix computes
    from the config, frequencies included (float32 storage aside, which this skips)."""
    from registry.gguf_check import params_from_gguf, runtime_rows
    from registry.verify.inputs import input_from_tag
    from registry.verify.keys import primary_layer
    from registry.verify.static import rope_layers
    from scrapers.tagger import tag_config
    from tests.conftest import corpus_configs
    from yarn_core.gguf_keys import gguf_arch, gguf_rope_keys
    from yarn_core.report import runtime_numbers

    compared, diffs = 0, {}
    for name, path in corpus_configs():
        config = json.loads(path.read_text(encoding="utf-8"))
        tag = tag_config(config)
        inp = input_from_tag(tag)
        layers = rope_layers(inp)
        if not layers or gguf_arch(tag.model_type) is None:
            continue
        params = layers[primary_layer(layers)]
        block = tag.raw_rope or {}
        keys = gguf_rope_keys(params, model_type=tag.model_type, config=config, rope_block=block)
        tensors = params.rope_type in ("llama3", "longrope")
        rows = runtime_rows(inp, layers, config, keys, tensors)
        ours, theirs = rows["llama.cpp"], rows["llama.cpp (config)"]
        found = {k for k in MATRIX_KEYS if not _close(ours[k], theirs[k])}
        gguf_params = params_from_gguf(params, keys, tensors, block)
        f_gguf = runtime_numbers(gguf_params, "llama.cpp", model_type=tag.model_type)["inv_freq"]
        f_conf = runtime_numbers(
            params, "llama.cpp", model_type=tag.model_type, rope_block=block, config=config
        )["inv_freq"]
        if (f_gguf is None) != (f_conf is None) or (
            f_gguf is not None
            and f_conf is not None
            and (
                len(f_gguf) != len(f_conf)
                or any(
                    abs(a - b) > 1e-9 * max(abs(a), abs(b))
                    for a, b in zip(f_gguf, f_conf, strict=True)
                )
            )
        ):
            found.add("inv_freq")
        compared += 1
        if found:
            diffs[name] = found
    assert compared >= 200
    allowed: dict[str, set[str]] = dict.fromkeys(BAKED_ALPHA, {"applies_scaling"})
    # DeepSeek-V4: rope.freq_base is the window layers' base; the compressed layers' (the
    # primary) is attention.compress_rope_freq_base, which yarn_core.gguf_keys does not write.
    allowed |= {n: {"inv_freq"} for n in diffs if "DeepSeek-V4" in n}
    assert sum("DeepSeek-V4" in n for n in allowed) == 6
    assert diffs == allowed
    keys_v4 = {"rope.freq_base": 10000.0, "attention.compress_rope_freq_base": 160000.0}
    assert params_from_gguf(params, keys_v4).theta == 160000.0


def test_llamacpp_row_follows_the_gguf_and_llama3_needs_its_tensor(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(_source()), encoding="utf-8")
    lost = write_gguf(tmp_path / "lost.gguf", CASES["missing-yarn"])
    _code, rows, _out = _gguf([str(lost), "--config", str(config)])
    runtimes = rows[0]["check"]["runtimes"]
    assert runtimes["llama.cpp"]["applies_scaling"] is False
    assert runtimes["llama.cpp (config)"]["applies_scaling"] is True
    assert runtimes["llama.cpp"]["served_context_key"] == "context_length (GGUF)"
    llama = tmp_path / "llama.json"
    llama.write_text(json.dumps(load_corpus_config("meta-llama/Llama-3.3-70B-Instruct")))
    keys = {"context_length": 131072, "rope.freq_base": 500000.0}
    plain = write_gguf(tmp_path / "plain.gguf", keys, arch="llama")
    code, rows, output = _gguf([str(plain), "--config", str(llama)])
    assert code == 1, output
    assert [d["key"] for d in rows[0]["check"]["differences"]] == ["rope_freqs.weight"]
    kept = write_gguf(
        tmp_path / "kept.gguf", keys, arch="llama", extra_tensors=("rope_freqs.weight",)
    )
    code, rows, output = _gguf([str(kept), "--config", str(llama)])
    assert code == 0 and rows[0]["check"]["verdict"] == "pass", output
    assert rows[0]["factor_tensors"] == ["rope_freqs.weight"]
    assert rows[0]["check"]["runtimes"]["llama.cpp"]["applies_scaling"] is True


@pytest.mark.parametrize("variant", ["plain", "aligned-64", "big-endian"])
def test_layout_scan_and_kept_keys_agree_with_the_gguf_reader(tmp_path: Path, variant: str) -> None:
    """Differential: the header's end from `scrapers.gguf_layout.scan` is the `gguf` reader's
    data offset, and every key `read_local` keeps decodes as the reader decodes it."""
    import numpy as np
    from gguf import GGUFEndian, GGUFReader, GGUFWriter

    from scrapers.gguf import read_local
    from scrapers.gguf_layout import scan

    path = tmp_path / f"{variant}.gguf"
    endian = GGUFEndian.BIG if variant == "big-endian" else GGUFEndian.LITTLE
    writer = GGUFWriter(str(path), "qwen2", endianess=endian)
    if variant == "aligned-64":
        writer.add_custom_alignment(64)
    writer.add_uint32("qwen2.context_length", 32768)
    writer.add_float32("qwen2.rope.freq_base", 1e6)
    writer.add_array("qwen2.attention.sliding_window_pattern", [True, False, True])
    writer.add_string("general.base_model.0.repo_url", BASE_URL)
    writer.add_token_list([f"t{i}" for i in range(5000)])
    writer.add_array("tokenizer.ggml.merges", [f"a b{i}" for i in range(5000)])
    writer.add_tensor("token_embd.weight", np.arange(100, dtype=np.float32))
    writer.add_tensor("rope_freqs.weight", np.ones(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    reader = GGUFReader(path)
    layout = scan(path.read_bytes())
    assert layout.header_end == int(reader.data_offset)
    assert layout.tensor_names == [t.name for t in reader.tensors]
    header = read_local(path)
    expected = {
        k: f.contents()
        for k, f in reader.fields.items()
        if not k.startswith(("GGUF.", "tokenizer."))
    }
    assert header.kv == expected
    assert header.rope_keys()["attention.sliding_window_pattern"] == [True, False, True]
    assert header.factor_tensors == ("rope_freqs.weight",)
    assert header.header_bytes == int(reader.data_offset)


def test_hub_errors_are_one_clear_line(tmp_path: Path) -> None:
    folder = _repo(tmp_path, "acme/no-gguf")
    (folder / "config.json").write_text(json.dumps(_source()), encoding="utf-8")
    with serve_in_thread(tmp_path) as (_server, url):
        results = [
            CliRunner().invoke(cli, ["gguf", target, "--endpoint", url, "--retries", "0"])
            for target in ("acme/missing", "acme/no-gguf", "acme/no-gguf:absent.gguf")
        ]
    words = ("cannot read the repo", "has no .gguf file", "no such file in the repo")
    for result, expected in zip(results, words, strict=True):
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.output
