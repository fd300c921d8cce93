"""`ropedex rope`: JSON Lines shape, per-layer rows, no-RoPE rows, conventions and bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.cli import cli
from tests.conftest import REPO_ROOT, corpus_configs

YARN_CONFIG = {
    "model_type": "qwen2",
    "hidden_size": 1024,
    "num_attention_heads": 8,
    "num_key_value_heads": 8,
    "max_position_embeddings": 131072,
    "rope_theta": 1000000.0,
    "rope_scaling": {
        "rope_type": "yarn",
        "factor": 4.0,
        "original_max_position_embeddings": 32768,
        "attention_factor": 1.25,
    },
}
GEMMA3_CONFIG = {
    "model_type": "gemma3_text",
    "hidden_size": 1152,
    "num_attention_heads": 4,
    "head_dim": 256,
    "max_position_embeddings": 32768,
    "rope_theta": 1000000.0,
    "rope_local_base_freq": 10000.0,
    "rope_scaling": {"rope_type": "linear", "factor": 8.0},
    "sliding_window": 512,
}
BERT_CONFIG = {
    "model_type": "bert",
    "hidden_size": 768,
    "num_attention_heads": 12,
    "max_position_embeddings": 512,
    "position_embedding_type": "absolute",
}


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def run_json(*args: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(cli, ["rope", *args, "--json"])
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return result.exit_code, rows


def test_yarn_row(tmp_path: Path) -> None:
    code, rows = run_json(write(tmp_path, "config.json", YARN_CONFIG))
    assert code == 0 and len(rows) == 1
    row = rows[0]
    for key in ("path", "layer_type", "rope_type", "rotary_dim", "inv_freq", "attention_scaling"):
        assert key in row
    assert row["rope_type"] == "yarn" and row["rotary_dim"] == 128
    assert len(row["inv_freq"]) == 64 and row["inv_freq"][0] == 1.0
    assert row["attention_scaling"] == 1.25
    assert row["yarn_bands"]["low"] == 23 and row["yarn_bands"]["high"] == 40  # TV5 range


def test_convention_switch(tmp_path: Path) -> None:
    """SGLang drops attention_factor and computes 0.1 ln 4 + 1 (rope-scaling.md 3.f)."""
    path = write(tmp_path, "config.json", YARN_CONFIG)
    _, rows = run_json(path, "--convention", "sglang")
    assert rows[0]["attention_scaling"] == pytest.approx(0.1 * math.log(4) + 1)
    assert any("ignored" in note for note in rows[0]["notes"])
    result = CliRunner().invoke(cli, ["rope", path, "--convention", "mlx"])
    assert result.exit_code == 2 and "mlx" in result.output


def test_per_layer_rows_and_filter(tmp_path: Path) -> None:
    path = write(tmp_path, "config.json", GEMMA3_CONFIG)
    code, rows = run_json(path)
    assert code == 0
    by_layer = {row["layer_type"]: row for row in rows}
    assert set(by_layer) == {"full_attention", "sliding_attention"}
    assert by_layer["full_attention"]["rope_type"] == "linear"
    assert by_layer["full_attention"]["inv_freq"][0] == 1 / 8
    assert by_layer["sliding_attention"]["rope_type"] == "default"
    _, picked = run_json(path, "--layer-type", "sliding_attention")
    assert [row["layer_type"] for row in picked] == ["sliding_attention"]
    _, missing = run_json(path, "--layer-type", "chunked_attention")
    assert missing[0]["rope_type"] is None and "full_attention" in missing[0]["reason"]


def test_no_rope_row(tmp_path: Path) -> None:
    code, rows = run_json(write(tmp_path, "config.json", BERT_CONFIG))
    assert code == 0 and len(rows) == 1
    assert rows[0]["rope_type"] is None and rows[0]["inv_freq"] is None
    assert "absolute" in rows[0]["reason"]


def test_bad_input_keeps_the_rest(tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", YARN_CONFIG)
    bad = write(tmp_path, "bad.json", "{not json")
    code, rows = run_json(bad, good)
    assert code == 1
    assert rows[0]["rope_type"] is None and "JSON" in rows[0]["reason"]
    assert rows[1]["rope_type"] == "yarn"


def test_text_output_lists_every_frequency(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["rope", write(tmp_path, "c.json", YARN_CONFIG)])
    assert result.exit_code == 0
    assert "yarn bands:" in result.output and "inv_freq (64):" in result.output
    line = next(x for x in result.output.splitlines() if "inv_freq (64)" in x)
    assert len(line.split(":", 1)[1].split()) == 64


def test_every_corpus_config_runs() -> None:
    """One call over the whole corpus: every file gives at least one well-formed row."""
    paths = [str(path) for _, path in corpus_configs()]
    code, rows = run_json(*paths)
    assert code == 0
    assert {row["path"] for row in rows} == set(paths)
    for row in rows:
        if row["rope_type"] is None:
            assert row["reason"]
        else:
            assert row["inv_freq"] is None or len(row["inv_freq"]) == row["rotary_dim"] // 2


def test_rope_command_does_not_import_torch(tmp_path: Path) -> None:
    path = write(tmp_path, "c.json", YARN_CONFIG)
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from registry.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['rope', {path!r}, '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_unusable_values_give_a_reason(tmp_path: Path) -> None:
    """A linear factor of 0 is reported on its row; the other files are unaffected."""
    bad = {**YARN_CONFIG, "rope_scaling": {"rope_type": "linear", "factor": 0}}
    code, rows = run_json(write(tmp_path, "bad.json", bad), write(tmp_path, "ok.json", YARN_CONFIG))
    assert code == 0
    assert rows[0]["inv_freq"] is None and "factor" in rows[0]["reason"]
    assert rows[1]["inv_freq"] is not None
    text = CliRunner().invoke(cli, ["rope", str(tmp_path / "bad.json")])
    assert text.exit_code == 0 and "factor" in text.output


def test_rope_served_context_reads_the_block_as_written() -> None:
    """InternVL3-14B: dynamic x2 at 32768 with no original in its block, so SGLang serves
    32768 * 2 (rope-scaling.md 3.f), although the tagger fills the original in."""
    path = next(p for repo, p in corpus_configs() if repo == "OpenGVLab/InternVL3-14B-hf")
    rows = {}
    for conv in ("transformers", "sglang", "vllm"):
        result = CliRunner().invoke(cli, ["rope", str(path), "--convention", conv, "--json"])
        assert result.exit_code == 0, result.output
        rows[conv] = json.loads(result.stdout)[0]
    assert rows["transformers"]["served_context"] == 32768
    assert rows["sglang"]["served_context"] == rows["vllm"]["served_context"] == 65536
