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

Results are cached one JSON file per config, keyed by the SGLang version, `ORACLE_VERSION` and
a hash of the config, so a warm run costs file reads and a new config runs only itself.

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
ORACLE_VERSION = "2"
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


def _key(config: dict[str, Any]) -> str:
    blob = json.dumps(config, sort_keys=True).encode()
    return hashlib.sha256(SPEC.encode() + ORACLE_VERSION.encode() + blob).hexdigest()[:24]


def results_dir() -> Path:
    return cache_root() / "sglang-results" / f"{SPEC.replace('==', '-')}-v{ORACLE_VERSION}"


def run(configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Results per config name, from the cache (one file per config hash) where present; the
    missing ones are run in one subprocess and cached."""
    folder = results_dir()
    keys = {name: _key(config) for name, config in configs.items()}
    results: dict[str, Any] = {}
    missing: dict[str, dict[str, Any]] = {}
    for name, key in keys.items():
        path = folder / f"{key}.json"
        if path.is_file():
            results[name] = json.loads(path.read_text(encoding="utf-8"))
        else:
            missing[key] = configs[name]
    stubbed_path = folder / "stubbed.json"
    if missing:
        out = _run_child(missing)
        folder.mkdir(parents=True, exist_ok=True)
        for key, result in out["results"].items():
            _write(folder / f"{key}.json", result)
        _write(stubbed_path, out["stubbed"])
        for name, key in keys.items():
            if name not in results:
                results[name] = out["results"][key]
    stubbed = json.loads(stubbed_path.read_text(encoding="utf-8")) if stubbed_path.is_file() else {}
    return {"results": {name: results[name] for name in configs}, "stubbed": stubbed}


def _write(path: Path, value: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    tmp.replace(path)


def _run_child(configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    source, helpers = source_dirs()
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*(str(h) for h in helpers), str(repo)])
    with tempfile.TemporaryDirectory() as tmp:
        inp, outp = Path(tmp) / "in.json", Path(tmp) / "out.json"
        inp.write_text(json.dumps(configs), encoding="utf-8")
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
        return json.loads(outp.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _main() -> None:
    from tests.conftest import corpus_configs

    configs = {n: json.loads(p.read_text(encoding="utf-8")) for n, p in corpus_configs()}
    print(json.dumps(run(configs), indent=1))


if __name__ == "__main__":
    _main()
