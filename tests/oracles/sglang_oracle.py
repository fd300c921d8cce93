"""SGLang as its own code computes RoPE: `ModelConfig`, the model class and every `get_rope`.

Source: the `sglang==0.5.23` wheel, fetched once with `pip download --no-deps` by
`tests.oracles.cache` (Python sources only, never installed), plus the two compiled helpers it
imports at module level and that decide nothing about RoPE (msgspec for its config structs,
psutil for its memory probe), fetched the same way. SGLang pins transformers 5.19.0; the
project's transformers parses the configs.

`sglang_results(configs)` runs `tests/oracles/sglang_child.py` in a subprocess (SGLang's
packages never enter the test process) and returns, per config, SGLang's served context and
the key it came from, the MLA softmax multiplier, and the distinct rotary objects the model
class built, each with the angles and magnitude at position 1 read from its own cos/sin cache
(see the child's docstring). The subprocess stubs only what never touches RoPE: custom kernels
(`sgl_kernel`, `sglang.kernels.*`, triton, flashinfer), the HTTP/grammar front end, and any
uninstalled third-party module SGLang imports; `stubbed` in the cached result lists them.

Results are cached as JSON keyed by the SGLang version, `ORACLE_VERSION` and a hash of the
configs, so a warm run costs a file read.

    .venv/bin/python -m tests.oracles.sglang_oracle     # print the per-config results (JSON)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.oracles.cache import cache_root, package_dir

SPEC = "sglang==0.5.23"
HELPERS = ("msgspec==0.20.0", "psutil==7.1.3")
ORACLE_VERSION = "1"
TIMEOUT_S = 3600


def _whole_wheel(name: str) -> bool:
    return ".dist-info/" not in name


@functools.cache
def source_dirs() -> tuple[Path, list[Path]]:
    """SGLang's extracted sources and the helper wheels' folders (downloaded once)."""
    return package_dir(SPEC), [package_dir(spec, keep=_whole_wheel) for spec in HELPERS]


def sglang_results(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """SGLang's own reading of each config (see the module docstring)."""
    return run(configs)["results"]  # type: ignore[no-any-return]


@functools.cache
def _cached_path(blob: bytes) -> Path:
    digest = hashlib.sha256(SPEC.encode() + ORACLE_VERSION.encode() + blob).hexdigest()[:24]
    return cache_root() / "sglang-results" / f"{digest}.json"


def run(configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    blob = json.dumps(configs, sort_keys=True).encode()
    cached = _cached_path(blob)
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    source, helpers = source_dirs()
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*(str(h) for h in helpers), str(repo)])
    with tempfile.TemporaryDirectory() as tmp:
        inp, outp = Path(tmp) / "in.json", Path(tmp) / "out.json"
        inp.write_bytes(blob)
        proc = subprocess.run(
            [sys.executable, "-m", "tests.oracles.sglang_child", str(source), str(inp), str(outp)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        if proc.returncode != 0 or not outp.is_file():
            raise RuntimeError(f"SGLang oracle failed:\n{proc.stderr[-4000:]}")
        out = json.loads(outp.read_text(encoding="utf-8"))
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = cached.with_suffix(".tmp")
    tmp_path.write_text(json.dumps(out), encoding="utf-8")
    tmp_path.replace(cached)
    return out  # type: ignore[no-any-return]


def _main() -> None:
    from tests.conftest import corpus_configs

    configs = {n: json.loads(p.read_text(encoding="utf-8")) for n, p in corpus_configs()}
    print(json.dumps(run(configs), indent=1))


if __name__ == "__main__":
    _main()
