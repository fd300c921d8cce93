"""Runs inside a subprocess with vLLM 0.33.0's extracted sources on `sys.path` (see vllm_oracle).

Reads a JSON list of `{"name", "config"}` from stdin and writes one JSON object per config to
stdout. Everything RoPE-related is vLLM's own code:

* `vllm/transformers_utils/config.py`: `patch_legacy_rope_type`, `patch_rope_parameters`,
  `iter_rope_parameters`, `is_rope_parameters_nested`, `get_hf_text_config`;
* `vllm/transformers_utils/model_arch_config_convertor.py`:
  `ModelArchConfigConvertorBase.derive_max_model_len_and_key`;
* `vllm/config/model.py`: `_get_and_verify_max_len` (the served `max_model_len`);
* `vllm/model_executor/models/registry.py`: which model file serves the architecture;
* `vllm/model_executor/layers/rotary_embedding/`: the whole package, imported for real, and its
  `get_rope`;
* `vllm/model_executor/models/deepseek_v2.py`: the MLA attention's statements from the rope-type
  rewrite through the softmax-scale multiplication, executed as written.

The functions are cut out of their files with `ast` and executed in a namespace holding only what
they name. Stubbed, because it never touches RoPE: the custom-op registry (`CustomOp` becomes a
plain `nn.Module`), platform probes, ROCm/AITER and flashinfer switches, triton, distributed
ranks, the logger, device placement (the dual-chunk class's `cuda:N` becomes the CPU), and the
cos/sin cache's position range: the outer product positions x
inverse frequencies (`torch.einsum("i,j -> ij", t, inv_freq)`) keeps the first
`CACHE_POSITIONS` positions, whose values are unchanged.
"""

from __future__ import annotations

import ast
import json
import logging
import math
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Any

CACHE_POSITIONS = 8


def _src() -> Path:
    return Path(sys.argv[1])


class _Anything:
    """A stub whose every attribute is a function returning False (platform/aiter probes)."""

    def __getattr__(self, name: str) -> Any:
        if name == "check_max_model_len":
            return lambda n: n
        return lambda *a, **k: False


class _Logger(logging.LoggerAdapter):  # type: ignore[type-arg]
    def warning_once(self, *a: Any, **k: Any) -> None:
        pass

    def info_once(self, *a: Any, **k: Any) -> None:
        pass

    def debug_once(self, *a: Any, **k: Any) -> None:
        pass


def _logger(name: str) -> Any:
    log = logging.getLogger(name)
    log.setLevel(logging.ERROR)
    return _Logger(log, {})


MAX_MODEL_LEN = {"value": 0}


def _install_stubs() -> None:
    import torch
    from torch import nn

    src = _src() / "vllm"

    def package(name: str, path: Path | None) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__path__ = [str(path)] if path else []
        sys.modules[name] = mod
        return mod

    package("vllm", src)
    package("vllm.model_executor", src / "model_executor")
    package("vllm.model_executor.layers", src / "model_executor" / "layers")
    package("vllm.utils", src / "utils")

    class CustomOp(nn.Module):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()

        @classmethod
        def register(cls, name: str) -> Any:
            return lambda c: c

        @classmethod
        def enabled(cls) -> bool:
            return False

        @classmethod
        def register_oot(cls, *a: Any, **k: Any) -> Any:
            return lambda c: c

    def module(name: str, **attrs: Any) -> None:
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod

    module("vllm.model_executor.custom_op", CustomOp=CustomOp, PluggableLayer=nn.Module)
    module("vllm.platforms", current_platform=_Anything())
    module("vllm._aiter_ops", rocm_aiter_ops=_Anything())
    module("vllm.logger", init_logger=_logger)
    model_config = types.SimpleNamespace()

    def current_config() -> Any:
        model_config.max_model_len = MAX_MODEL_LEN["value"]
        return types.SimpleNamespace(model_config=model_config)

    module("vllm.config", get_current_vllm_config=current_config)
    module(
        "vllm.distributed",
        get_tensor_model_parallel_rank=lambda: 0,
        get_tensor_model_parallel_world_size=lambda: 1,
    )
    module("vllm.triton_utils", tl=_Anything(), triton=_Anything())
    module("vllm.utils.flashinfer", has_flashinfer=lambda: False)
    module(
        "vllm.utils.torch_utils",
        direct_register_custom_op=lambda *a, **k: None,
        async_tensor_h2d=lambda data, dtype, device, pin_memory=False: torch.tensor(
            data, dtype=dtype, device=device
        ),
    )


def _functions(path: Path, names: set[str], namespace: dict[str, Any]) -> None:
    """Execute the top-level definitions `names` of `path` (vLLM's source) into `namespace`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    missing = names - {n.name for n in nodes}
    if missing:
        raise RuntimeError(f"{path}: no {sorted(missing)}")
    for node in nodes:
        node.decorator_list = []
    exec(compile(ast.Module(body=nodes, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102


def _method(path: Path, cls: str, name: str, namespace: dict[str, Any]) -> Any:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    mod = ast.Module(body=[item], type_ignores=[])
                    exec(compile(mod, str(path), "exec"), namespace)  # noqa: S102
                    return namespace[name]
    raise RuntimeError(f"{path}: no {cls}.{name}")


def _init_statements(path: Path, cls: str, start: str, end: str) -> list[ast.stmt]:
    """`cls.__init__`'s statements of `path` from the first whose source contains `start`
    through the first after it whose source contains `end`, as written."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            init = next(
                i for i in node.body if isinstance(i, ast.FunctionDef) and i.name == "__init__"
            )
            body = init.body
            first = next(i for i, st in enumerate(body) if start in ast.unparse(st))
            last = next(i for i, st in enumerate(body) if i >= first and end in ast.unparse(st))
            return body[first : last + 1]
    raise RuntimeError(f"{path}: no {cls}.__init__")


# deepseek_v2.py, DeepseekV2MLAAttention.__init__: from the rope-type rewrite
# (`if config.rope_parameters["rope_type"] != "default":`) through the softmax multiplication.
MLA_SLICE = ("deepseek_v2", "DeepseekV2MLAAttention", "!= 'default'", "self.scaling * mscale")
# Model files whose attention builds its own rope_parameters: from the first statement that
# prepares get_rope's arguments through the get_rope call.
CALL_SITES = {
    "vllm.model_executor.models.chatglm": ("GLMAttention", "rope_ratio = ", "get_rope("),
    "vllm.model_executor.models.granitemoehybrid": (
        "GraniteMoeHybridAttention",
        "position_embedding_type == 'rope'",
        "get_rope(",
    ),
    "vllm.model_executor.models.gpt_j": (
        "GPTJAttention",
        "rope_parameters = getattr(config",
        "get_rope(",
    ),
}


def _config_classes(src: Path) -> dict[str, Any]:
    """vLLM's own config classes (`_CONFIG_REGISTRY`) whose files import only transformers."""
    import importlib.util

    tree = ast.parse((src / "transformers_utils" / "config.py").read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "LazyConfigDict"
        ):
            for kw in node.keywords:
                if kw.arg and isinstance(kw.value, ast.Constant):
                    names[kw.arg] = str(kw.value.value)
    found: dict[str, Any] = {}
    for path in sorted((src / "transformers_utils" / "configs").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        imports = [n for n in ast.parse(text).body if isinstance(n, ast.Import | ast.ImportFrom)]
        own = any(
            isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("vllm"))
            for n in imports
        )
        wanted = [(t, c) for t, c in names.items() if f"class {c}(" in text]
        if own or not wanted:
            continue
        spec = importlib.util.spec_from_file_location(f"_vllm_config_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:  # noqa: BLE001, S112 - a config file that needs more is skipped
            continue
        for model_type, cls in wanted:
            found[model_type] = getattr(mod, cls)
    return found


def _registry(path: Path) -> dict[str, tuple[str, str]]:
    """Architecture name -> (model module, class) from the registry's literal dicts."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_PREVIOUSLY_SUPPORTED_MODELS" for t in node.targets
        ):
            found["__previous__"] = ast.literal_eval(node.value)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    try:
                        value = ast.literal_eval(v)
                    except ValueError:
                        continue
                    if isinstance(value, tuple) and len(value) == 2:
                        found.setdefault(k.value, (str(value[0]), str(value[1])))
    return found


_HELPER_MODULES = {"interfaces", "interfaces_base", "utils", "module_mapping", "vision"}


def _standalone_without_rope(source: str) -> bool:
    """A model file that never names get_rope and imports no other model file."""
    if "get_rope" in source or "init_vllm_registered_model" in source:
        return False
    imported = re.findall(r"from (?:vllm\.model_executor\.models\.|\.)(\w+) import", source)
    return all(name in _HELPER_MODULES for name in imported)


def _written_key(config: dict[str, Any], key: str | None, value: Any) -> str | None:
    """The key of config.json behind the config-class attribute vLLM read (a config class may
    copy `seq_length` or `n_positions` into `max_position_embeddings`)."""
    subs = [config.get(n) for n in ("text_config", "llm_config", "language_config")]
    raws = [sub for sub in subs if isinstance(sub, dict)] + [config]
    if key is None or any(key in raw for raw in raws):
        return key
    for name, written in raws[0].items():
        if isinstance(written, int | float) and not isinstance(written, bool) and written == value:
            if any(part in name for part in ("position", "seq", "length", "ctx")):
                return str(name)
    return key


class Vllm:
    def __init__(self) -> None:
        _install_stubs()
        import torch
        import transformers

        src = _src() / "vllm"
        self.torch = torch
        ns: dict[str, Any] = {
            "Any": Any,
            "math": math,
            "logger": _logger("vllm"),
            "PreTrainedConfig": transformers.PreTrainedConfig,
        }
        from transformers.configuration_utils import (  # type: ignore[attr-defined]
            ALLOWED_LAYER_TYPES,
        )

        ns["ALLOWED_LAYER_TYPES"] = ALLOWED_LAYER_TYPES
        from collections.abc import Iterator

        ns["Iterator"] = Iterator
        _functions(src / "config" / "utils.py", {"getattr_iter"}, ns)
        sys.modules["vllm.config"].getattr_iter = ns["getattr_iter"]  # type: ignore[attr-defined]
        sys.modules["vllm.config.utils"] = sys.modules["vllm.config"]
        _functions(
            src / "transformers_utils" / "config.py",
            {
                "is_rope_parameters_nested",
                "patch_legacy_rope_type",
                "patch_rope_parameters",
                "iter_rope_parameters",
                "get_hf_text_config",
            },
            ns,
        )
        ns["current_platform"] = _Anything()
        ns["envs"] = types.SimpleNamespace(VLLM_ALLOW_LONG_MAX_MODEL_LEN=False)
        _functions(src / "config" / "model.py", {"_get_and_verify_max_len"}, ns)
        self.derive = _method(
            src / "transformers_utils" / "model_arch_config_convertor.py",
            "ModelArchConfigConvertorBase",
            "derive_max_model_len_and_key",
            ns,
        )
        self.ns = ns
        self.registry = _registry(src / "model_executor" / "models" / "registry.py")
        import vllm.model_executor.layers.rotary_embedding as rotary  # type: ignore[import-not-found]

        self.rotary = rotary
        self._cap_cache_positions(rotary)
        self._record_inv_freq(rotary)
        mla_ns: dict[str, Any] = {"math": math}
        deepseek = src / "model_executor" / "models" / "deepseek_v2.py"
        _functions(deepseek, {"yarn_get_mscale"}, mla_ns)
        self.module = ""
        self.source = ""
        self.mla_ns = mla_ns
        self.mla_code = self._compile(src / "model_executor" / "models", *MLA_SLICE)
        self.call_sites = {
            module: self._compile(
                src / "model_executor" / "models", module.rsplit(".", 1)[1], *site
            )
            for module, site in CALL_SITES.items()
        }
        self.config_classes = _config_classes(src)

    @staticmethod
    def _compile(folder: Path, stem: str, cls: str, start: str, end: str) -> Any:
        path = folder / f"{stem}.py"
        body = _init_statements(path, cls, start, end)
        return compile(ast.Module(body=body, type_ignores=[]), str(path), "exec")

    def _cap_cache_positions(self, rotary: Any) -> None:
        torch = self.torch

        class _Torch:
            def __getattr__(self, name: str) -> Any:
                return getattr(torch, name)

            # Device placement only: the dual-chunk class pins its caches to cuda:N.
            accelerator = types.SimpleNamespace(current_device_index=lambda: 0)

            @staticmethod
            def device(*args: Any, **kwargs: Any) -> Any:
                return torch.device("cpu")

            @staticmethod
            def einsum(equation: str, *operands: Any) -> Any:
                # The cache's outer product positions x inverse frequencies.
                if equation.replace(" ", "") == "i,j->ij":
                    operands = (operands[0][:CACHE_POSITIONS], *operands[1:])
                return torch.einsum(equation, *operands)

        proxy = _Torch()
        for name, mod in list(sys.modules.items()):
            if name.startswith("vllm.model_executor.layers.rotary_embedding."):
                if getattr(mod, "torch", None) is torch:
                    mod.torch = proxy  # type: ignore[attr-defined]

    def _record_inv_freq(self, rotary: Any) -> None:
        self.calls: list[Any] = []
        seen: set[Any] = set()
        for mod in list(sys.modules.values()):
            if not getattr(mod, "__name__", "").startswith("vllm.model_executor.layers.rotary_"):
                continue
            for obj in vars(mod).values():
                if isinstance(obj, type) and "_compute_inv_freq" in vars(obj) and obj not in seen:
                    seen.add(obj)
                    self._wrap(obj)

    def _wrap(self, cls: type) -> None:
        original = cls._compute_inv_freq  # type: ignore[attr-defined]
        calls = self.calls

        def recorded(self_: Any, *args: Any, **kwargs: Any) -> Any:
            value = original(self_, *args, **kwargs)
            calls.append((type(self_).__name__, value))
            return value

        cls._compute_inv_freq = recorded  # type: ignore[attr-defined]

    def hf_config(self, config: dict[str, Any]) -> tuple[Any, str]:
        import transformers

        model_type = config.get("model_type")
        kwargs = {k: v for k, v in config.items() if k != "model_type"}
        if model_type in self.config_classes:
            return self.config_classes[model_type](**kwargs), "vLLM's config class"
        if model_type in transformers.CONFIG_MAPPING:
            cfg = transformers.AutoConfig.for_model(model_type, **kwargs)
            return cfg, "transformers"
        cfg = transformers.PreTrainedConfig(**kwargs)
        cfg.model_type = model_type or ""
        return cfg, "remote code (generic config)"

    def run(self, config: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        archs = config.get("architectures") or []
        arch = archs[0] if archs else None
        out["architecture"] = arch
        entry = self.registry.get(arch) if isinstance(arch, str) else None
        previous = self.registry.get("__previous__", {})
        if entry is None:
            if isinstance(arch, str) and arch in previous:
                out["error"] = (
                    f"Model architecture {arch} was supported in vLLM until "
                    f"v{previous[arch]}, and is not supported anymore."
                )
            else:
                out["error"] = f"Model architectures {archs!r} are not supported for now."
            return out
        module = (
            entry[0] if entry[0].startswith("vllm.") else f"vllm.model_executor.models.{entry[0]}"
        )
        out["model_module"] = module
        path = _src().joinpath(*module.split(".")).with_suffix(".py")
        if path.with_suffix("").is_dir():
            out["backend"] = "Transformers backend: transformers' own rotary code, not get_rope"
            return out
        if not path.is_file():
            out["error"] = f"ModuleNotFoundError: No module named {module!r}"
            return out
        # MLA: the model file builds its attention from deepseek_v2.py's DeepseekV2MLAAttention.
        mla = "DeepseekV2" in path.read_text(encoding="utf-8")
        self.module = module
        self.source = path.read_text(encoding="utf-8")
        cfg, source = self.hf_config(config)
        out["config_source"] = source
        ns = self.ns
        ns["patch_rope_parameters"](cfg)
        text = ns["get_hf_text_config"](cfg)
        if text is not cfg:
            ns["patch_rope_parameters"](text)
        derived, key = self.derive(types.SimpleNamespace(hf_text_config=text))
        arch_config = types.SimpleNamespace(derived_max_model_len_and_key=(derived, key))
        served = ns["_get_and_verify_max_len"](
            text, arch_config, None, None, False, getattr(text, "sliding_window", None)
        )
        out["served_context"] = int(served)
        out["served_context_key"] = key
        out["written_key"] = _written_key(config, key, derived)
        if _standalone_without_rope(path.read_text(encoding="utf-8")):
            out["no_rope"] = f"{path.name} never calls get_rope and builds on no other model file"
            return out
        if module in self.call_sites:
            row = self._call_site(text, module, served)
            if "no_rope" in row:
                out["no_rope"] = row["no_rope"]
            else:
                out["layers"] = {"default": row}
            return out
        rope = getattr(text, "rope_parameters", None)
        if not isinstance(rope, dict) or not rope:
            out["no_rope"] = "no rope_parameters after patch_rope_parameters"
            return out
        nested = ns["is_rope_parameters_nested"](rope)
        out["layers"] = {}
        for layer, params in rope.items() if nested else [("default", rope)]:
            if isinstance(params, dict):
                out["layers"][layer] = self._rotary(text, dict(params), mla, served)
        return out

    def _call_site(self, text: Any, module: str, served: int) -> dict[str, Any]:
        """The model file's own statements that build get_rope's arguments, then the call."""
        head = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        scope: dict[str, Any] = {
            "config": text,
            "get_rope": self.rotary.get_rope,
            "self": types.SimpleNamespace(head_dim=head, head_size=head),
        }
        return self._read(scope, self.call_sites[module], served, module.rsplit(".", 1)[1])

    def _read(self, scope: dict[str, Any], code: Any, served: int, site: str) -> dict[str, Any]:
        MAX_MODEL_LEN["value"] = served
        self.calls.clear()
        self.rotary._ROPE_DICT.clear()
        row: dict[str, Any] = {"softmax_multiplier": 1.0, "call_site": site}
        try:
            exec(code, scope)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 - vLLM's own error is the result
            row["error"] = f"{type(exc).__name__}: {exc}"
            return row
        emb = getattr(scope["self"], "rotary_emb", None)
        if emb is None:
            row["no_rope"] = f"{site}.py builds no rotary embedding for this config"
            return row
        return self._measure(row, emb, scope.get("rope_parameters") or {})

    def _rotary(self, text: Any, params: dict[str, Any], mla: bool, served: int) -> dict[str, Any]:
        MAX_MODEL_LEN["value"] = served
        self.calls.clear()
        self.rotary._ROPE_DICT.clear()
        head = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        max_position = getattr(text, "max_position_embeddings", None)
        row: dict[str, Any] = {"softmax_multiplier": 1.0}
        try:
            if mla and getattr(text, "kv_lora_rank", None) is not None:
                view = types.SimpleNamespace(rope_parameters=params)
                scope: dict[str, Any] = {
                    **self.mla_ns,
                    "config": view,
                    "get_rope": self.rotary.get_rope,
                    "qk_rope_head_dim": text.qk_rope_head_dim,
                    "max_position_embeddings": max_position,
                    "self": types.SimpleNamespace(scaling=1.0),
                }
                exec(self.mla_code, scope)  # noqa: S102
                emb = scope["self"].rotary_emb
                row["softmax_multiplier"] = float(scope["self"].scaling)
                row["call_site"] = "deepseek_v2.DeepseekV2MLAAttention"
            else:
                # The model file forwards the config's dual_chunk_attention_config (qwen2.py).
                dual = None
                if "dual_chunk_attention_config" in self.source:
                    dual = getattr(text, "dual_chunk_attention_config", None)
                emb = self.rotary.get_rope(
                    head,
                    max_position=max_position,
                    rope_parameters=params,
                    is_neox_style=True,
                    dual_chunk_attention_config=dual,
                )
                row["call_site"] = "llama-style get_rope(head_dim, max_position_embeddings)"
        except Exception as exc:  # noqa: BLE001 - vLLM's own error is the result
            row["error"] = f"{type(exc).__name__}: {exc}"
            return row
        return self._measure(row, emb, params)

    def _measure(self, row: dict[str, Any], emb: Any, params: dict[str, Any]) -> dict[str, Any]:
        torch = self.torch
        row["class"] = type(emb).__name__
        row["rope_type"] = params.get("rope_type")
        row["rotary_dim"] = int(getattr(emb, "rotary_dim", 0))
        if not self.calls:
            row["error"] = f"{type(emb).__name__} computed no inverse frequencies"
            return row
        if hasattr(emb, "use_long_rope"):
            use_long = bool(emb.use_long_rope)
            row["factor_set"] = "long" if use_long else "short"
            inv = self.calls[1 if use_long else 0][1]
            row["attention_scaling"] = float(emb.long_mscale if use_long else emb.short_mscale)
        else:
            inv = self.calls[-1][1]
            cache = getattr(emb, "cos_sin_cache", None)
            if cache is None:  # DualChunkRotaryEmbedding: the in-chunk query cache
                cache = getattr(emb, "cos_sin_q_cache", None)
            if cache is None:
                row["error"] = f"{type(emb).__name__} has no cos_sin_cache"
                return row
            row["attention_scaling"] = float(cache[0, 0].to(torch.float64))
            if hasattr(emb, "scaling_factors"):
                # LinearScalingRotaryEmbedding divides the positions by the factor.
                inv = inv.to(torch.float64) / float(emb.scaling_factors[0])
        row["inv_freq"] = [float(x) for x in inv.to(torch.float64).flatten()]
        return row


def main() -> None:
    items = json.load(sys.stdin)
    vllm = Vllm()
    results = {}
    for item in items:
        try:
            results[item["name"]] = vllm.run(item["config"])
        except Exception as exc:  # noqa: BLE001 - vLLM's own error is the result
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            results[item["name"]] = {
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "where": f"{Path(tb.filename).name}:{tb.lineno}",
            }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
