"""Run inside a subprocess by `tests.oracles.sglang_oracle`: SGLang's own code on each config.

argv: SGLang's source folder, an input JSON ({name: config}) and an output JSON path. The
environment's PYTHONPATH carries the helper wheels (msgspec, psutil) SGLang imports.

Per config: SGLang's `ModelConfig` on a folder holding only that config.json (its context
length, head size and MLA softmax scaling), then the model class SGLang's registry picks is
built on the meta device while every `get_rope(...)` call is recorded: the real rotary object is
built on the CPU and the angles and magnitude at position 1 are read from its own cos/sin
caches. Where the class cannot be built, its error is recorded (and no rotary object).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import types
import warnings
from pathlib import Path
from typing import Any


def _install_stubs(source: Path) -> tuple[Any, Any]:
    import torch

    from tests.oracles.stubs import PrefixStubFinder, StubFinder

    # torch.compile wraps a few SGLang helpers at import; compiling is never needed here and
    # would pull torch's inductor, which probes the (stubbed) triton package.
    torch.compile = lambda fn=None, **kw: fn if fn is not None else (lambda g: g)  # type: ignore[assignment]
    dill = types.ModuleType("dill")
    dill.dumps = lambda *a, **k: b""  # type: ignore[attr-defined]
    sys.modules["dill"] = dill  # serialises custom logit processors only
    front = PrefixStubFinder(
        [
            "sglang.kernels.jit",
            "sglang.kernels.ops",
            "sglang.kernels.cake_kernels",
            "sglang.kernels.kda_kernels",
            "sglang.kernels.plugin_kernels",
            "sglang.srt.entrypoints",
            "sglang.srt.constrained",
        ]
    )
    back = StubFinder(str(source / "sglang") + os.sep, "sglang")
    sys.meta_path.insert(0, front)
    sys.meta_path.append(back)
    return front, back


def _stub_custom_ops() -> None:
    """A custom op whose kernel is stubbed is registered with a placeholder body."""
    import sglang.srt.utils.common as common
    import torch

    real = common.direct_register_custom_op

    def register(op_name: str, op_func: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(op_func, types.FunctionType):
            return real(op_name, op_func, *args, **kwargs)

        def placeholder(x: torch.Tensor) -> None:
            raise RuntimeError(f"custom kernel {op_name} is stubbed")

        placeholder.__annotations__ = {"x": torch.Tensor, "return": None}
        kwargs.pop("mutates_args", None)
        kwargs.pop("fake_impl", None)
        return real(op_name, placeholder, [], None, *args[2:], **kwargs)

    common.direct_register_custom_op = register


CACHE_ROWS = 8192


def _cap_plain_caches() -> None:
    """Build at most CACHE_ROWS rows of a plain cos/sin cache (the oracle reads row 1).

    Only for rotary classes that use the base class's cache builder unchanged and whose
    inverse frequencies do not depend on `max_position_embeddings` (checked on their source):
    there the length only sets how many rows are built. Llama 4's 10M-row cache would need
    ~13 GB otherwise.
    """
    import inspect

    from sglang.srt.layers.rotary_embedding.base import RotaryEmbedding

    real = RotaryEmbedding._compute_cos_sin_cache

    def capped(self: Any) -> Any:
        rows = self.max_position_embeddings
        cls = type(self)
        source = inspect.getsource(cls._compute_inv_freq)
        plain = cls._compute_cos_sin_cache is capped and not re.search(
            r"self\.max_position_embeddings\b", source
        )
        if not plain or rows <= CACHE_ROWS:
            return real(self)
        self.max_position_embeddings = CACHE_ROWS
        try:
            return real(self)
        finally:
            self.max_position_embeddings = rows

    RotaryEmbedding._compute_cos_sin_cache = capped  # type: ignore[method-assign]


def _angles(cache: Any) -> tuple[list[float], float]:
    """Angles and magnitude at position 1 of a [positions, rotary_dim] cos|sin cache."""
    row = cache[1].double().tolist()
    half = len(row) // 2
    cos, sin = row[:half], row[half:]
    angles = [math.atan2(s, c) for c, s in zip(cos, sin, strict=True)]
    magnitude = math.hypot(cos[0], sin[0])
    return angles, magnitude


def _record(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    caches = {
        name: _angles(buf)
        for name, buf in obj.named_buffers()
        if name.endswith("cos_sin_cache") and buf.dim() == 2 and buf.shape[0] > 1
    }
    out: dict[str, Any] = {
        "class": type(obj).__name__,
        "head_size": int(getattr(obj, "head_size", args[0] if args else 0)),
        "rotary_dim": int(getattr(obj, "rotary_dim", 0)),
        "base": float(kwargs.get("base", args[3] if len(args) > 3 else 0)),
        "max_position": int(kwargs.get("max_position", args[2] if len(args) > 2 else 0)),
        "rope_scaling": _plain(kwargs.get("rope_scaling", args[5] if len(args) > 5 else None)),
        "caches": {n: {"inv_freq": a, "magnitude": m} for n, (a, m) in caches.items()},
    }
    return out


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def main() -> None:
    source, inp, outp = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    sys.path.insert(0, str(source))
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    front, back = _install_stubs(source)
    import torch

    _stub_custom_ops()
    _cap_plain_caches()
    os.environ.setdefault("SGLANG_DISABLE_CUDA_GRAPH", "1")
    import sglang.srt.layers.rotary_embedding as rotary
    import sglang.srt.layers.rotary_embedding.factory as factory
    from sglang.srt.configs.model_config import AttentionArch, ModelConfig
    from sglang.srt.runtime_context import SpawnRanks, publish
    from sglang.srt.server_args import ServerArgs
    from sglang.srt.utils.hf_transformers.common import CONTEXT_LENGTH_KEYS

    calls: list[dict[str, Any]] = []
    real_get_rope = factory.get_rope
    real_get_rope_cpu = factory.get_rope_cpu

    def recorder(real: Any) -> Any:
        def recording(*args: Any, **kwargs: Any) -> Any:
            with torch.device("cpu"):
                obj = real(*args, **kwargs)
            calls.append(_record(obj, args, kwargs))
            return obj

        return recording

    recording_get_rope = recorder(real_get_rope)
    rotary.get_rope = recording_get_rope
    factory.get_rope = recording_get_rope
    factory.get_rope_cpu = recorder(real_get_rope_cpu)

    # One process-wide runtime context and a one-rank gloo process group, as a scheduler has.
    seed = Path(tempfile.mkdtemp())
    (seed / "config.json").write_text(
        json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]})
    )
    publish(
        ServerArgs(model_path=str(seed), device="cpu"),
        role="scheduler",
        ranks=SpawnRanks(world_rank=0, gpu_id=None),
    )
    from sglang.srt.distributed import parallel_state

    port = 29000 + os.getpid() % 1000
    parallel_state.init_distributed_environment(
        world_size=1,
        rank=0,
        local_rank=0,
        backend="gloo",
        distributed_init_method=f"tcp://127.0.0.1:{port}",
    )
    parallel_state.initialize_model_parallel(backend="gloo")
    # Models import get_rope by name at module import: rebind it in every model module.
    import sglang.srt.models.registry  # noqa: F401  (imports every model module)
    from sglang.srt.model_loader.utils import get_model_architecture

    for mod in list(sys.modules.values()):
        if getattr(mod, "get_rope", None) is real_get_rope:
            mod.get_rope = recording_get_rope  # type: ignore[attr-defined]

    configs: dict[str, Any] = json.loads(inp.read_text(encoding="utf-8"))
    results: dict[str, Any] = {}
    scratch = Path(tempfile.mkdtemp())
    for i, (name, config) in enumerate(configs.items()):
        print(f"[{i + 1}/{len(configs)}] {name}", file=sys.stderr, flush=True)
        folder = scratch / str(i)
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(config))
        res: dict[str, Any] = {}
        results[name] = res
        try:
            mc = ModelConfig(str(folder), trust_remote_code=False)
        except Exception as exc:  # noqa: BLE001 - the runtime's own error is the result
            res["error"] = f"ModelConfig: {type(exc).__name__}: {_line(exc, folder)}"
            continue
        text = mc.hf_text_config
        res["context_len"] = int(mc.context_len)
        res["context_key"] = next(
            (k for k in CONTEXT_LENGTH_KEYS if getattr(text, k, None) is not None), None
        )
        res["rope_scaling"] = _plain(getattr(text, "rope_scaling", None))
        res["head_dim"] = int(mc.head_dim) if getattr(mc, "head_dim", None) else None
        res["mla"] = mc.attention_arch == AttentionArch.MLA
        if res["mla"] and getattr(mc, "scaling", None) is not None:
            plain = 1 / math.sqrt(mc.qk_nope_head_dim + mc.qk_rope_head_dim)
            res["softmax_multiplier"] = mc.scaling / plain
        else:
            res["softmax_multiplier"] = 1.0
        calls.clear()
        factory._ROPE_DICT.clear()
        try:
            cls, arch = get_model_architecture(mc)
            res["arch"] = arch
            with torch.device("meta"):
                cls(config=mc.hf_config, quant_config=None)
            res["built"] = True
        except Exception as exc:  # noqa: BLE001
            res["built"] = False
            res["build_error"] = f"{type(exc).__name__}: {_line(exc, folder)}"
            calls.clear()
        res["ropes"] = _distinct(calls)
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(seed, ignore_errors=True)
    res_stubs = {"modules": sorted(back.hits), "packages": sorted(front.hits)}
    outp.write_text(json.dumps({"results": results, "stubbed": res_stubs}), encoding="utf-8")


def _distinct(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for call in calls:
        key = json.dumps(call, sort_keys=True)
        if key in seen:
            seen[key]["count"] += 1
        else:
            seen[key] = {**call, "count": 1}
    return list(seen.values())


def _line(exc: BaseException, folder: Path) -> str:
    """First line of the error, the scratch folder written as <model folder>."""
    text = str(exc).replace(str(folder), "<model folder>").strip().splitlines()
    return text[0][:300] if text else ""


if __name__ == "__main__":
    main()
