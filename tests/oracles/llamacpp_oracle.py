"""llama.cpp as its own code computes RoPE: the converter's GGUF metadata and ggml's rope math.

Source: the llama.cpp tree vendored in the llama-cpp-python 0.3.36 sdist (fetched once with pip
by `tests.oracles.cache`, never built or installed).

Two halves, each from the real code:

* `converter_metadata(configs)`: for each config, the model class that `convert_hf_to_gguf.py`
  picks (`conversion.get_model_architecture` / `get_model_class`) is instantiated on a folder
  holding only that `config.json` (the weight index is stubbed empty; no tokenizer is read) and
  its `set_gguf_parameters()` runs into the real `gguf.GGUFWriter`; every key it wrote is
  returned, or the converter's own error. `generate_extra_tensors()` supplies the `rope_freqs`
  tensor the converter computes for llama3 scaling. This runs in a subprocess, so the vendored
  `gguf` and `conversion` packages never enter the test process.
* `ggml_rope(...)`: a tiny C harness compiled with the system compiler from ggml's own
  `ggml_rope_yarn_corr_dim(s)` (`ggml/src/ggml.c`) and `rope_yarn_ramp` / `rope_yarn` /
  `ggml_rope_cache_init` (`ggml/src/ggml-cpu/ops.cpp`), cut out of those files verbatim. It
  prints the cos/sin cache ggml builds for given positions. The binary is cached beside the
  extracted sources.

`llamacpp_side(metadata)` reads the captured metadata the way llama.cpp's loader and context do
(`src/llama-model.cpp` `load_hparams`, the per-architecture `load_arch_hparams` in
`src/models/*.cpp`, `src/llama-context.cpp` `llama_context::llama_context`, the DeepSeek-2
`kq_scale` in `src/models/deepseek2.cpp`) and feeds it through the harness.

Run as a script to print the per-config metadata (JSON) for the corpus:

    .venv/bin/python -m tests.oracles.llamacpp_oracle
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.oracles.cache import package_dir

SPEC = "llama-cpp-python==0.3.36"
_VENDOR = "vendor/llama.cpp/"
_GGML_C = "ggml/src/ggml.c"
_GGML_OPS = "ggml/src/ggml-cpu/ops.cpp"
# The four ggml functions the harness compiles: (file, exact start of the definition).
_GGML_FUNCTIONS = (
    (_GGML_C, "static float ggml_rope_yarn_corr_dim("),
    (_GGML_C, "void ggml_rope_yarn_corr_dims("),
    (_GGML_OPS, "static float rope_yarn_ramp("),
    (_GGML_OPS, "static void rope_yarn("),
    (_GGML_OPS, "static void ggml_rope_cache_init("),
)
HARNESS_VERSION = "1"


def _keep(name: str) -> bool:
    """Archive members the oracle reads: converter, gguf-py, ggml's rope sources, loaders."""
    _top, _, rest = name.partition("/")
    if not rest.startswith(_VENDOR):
        return False
    path = rest[len(_VENDOR) :]
    if path == "convert_hf_to_gguf.py":
        return True
    if re.fullmatch(r"conversion/\w+\.py", path) or re.fullmatch(r"gguf-py/gguf/\w+\.py", path):
        return True
    if path in (_GGML_C, _GGML_OPS):
        return True
    return bool(re.fullmatch(r"src/(models/)?[\w-]+\.(cpp|h)", path))


@functools.cache
def vendor_dir() -> Path:
    """The vendored llama.cpp tree (converter, gguf-py, ggml rope sources, loader sources)."""
    return package_dir(SPEC, sdist=True, keep=_keep) / "vendor" / "llama.cpp"


# ---- converter metadata ---------------------------------------------------------------------


@dataclass
class Conversion:
    """What the converter wrote for one config, or why it could not."""

    arch: str | None = None  # GGUF `general.architecture`
    hf_arch: str | None = None  # the HF architecture name that chose the model class
    model_class: str | None = None
    kv: dict[str, Any] = field(default_factory=dict)  # every key set_gguf_parameters wrote
    rope_freqs: list[float] | None = None  # the llama3 `rope_freqs` tensor, if generated
    rope_factors_long: list[float] | None = None  # LongRoPE tensors, if generated
    rope_factors_short: list[float] | None = None
    error: str | None = None  # the converter's own error
    extra_error: str | None = None  # generate_extra_tensors raised (needs weights, usually)

    def get(self, suffix: str, default: Any = None) -> Any:
        """`{arch}.{suffix}` as written, else `default`."""
        return self.kv.get(f"{self.arch}.{suffix}", default)


def converter_metadata(configs: dict[str, dict[str, Any]]) -> dict[str, Conversion]:
    """Run the real converter's `set_gguf_parameters()` on each config (name -> config)."""
    root = vendor_dir()
    blob = json.dumps([SPEC, _WORKER, configs], sort_keys=True).encode()
    cached = root.parent.parent / "conversions" / f"{hashlib.sha256(blob).hexdigest()[:24]}.json"
    if cached.is_file():
        out = json.loads(cached.read_text(encoding="utf-8"))
        return {name: Conversion(**data) for name, data in out.items()}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(root / "gguf-py")]))
    env["NO_LOCAL_GGUF"] = "1"
    env["TRANSFORMERS_VERBOSITY"] = "error"
    env["HF_HUB_OFFLINE"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER],
        input=json.dumps(configs),
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"converter worker failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps(out), encoding="utf-8")
    tmp.replace(cached)
    return {name: Conversion(**data) for name, data in out.items()}


# The subprocess: imports the vendored converter and runs it per config. Everything below
# calls the converter's own functions; the only replacements are the weight index (no
# weights exist) and logging (quiet).
_WORKER = r"""
import json, logging, sys, tempfile, traceback
from pathlib import Path

logging.disable(logging.CRITICAL)
import warnings
warnings.filterwarnings("ignore")
import torch
import gguf
import conversion
from conversion import ModelBase, ModelType, get_model_architecture, get_model_class

ModelBase.index_tensors = lambda self, remote_hf_model_id=None: {}

def plain(value):
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value] if len(value) <= 4096 else None
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    if isinstance(value, bool):
        return value
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return plain(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (str, bytes)):
        return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return repr(value)

def convert(config, folder):
    out = {"arch": None, "hf_arch": None, "model_class": None, "kv": {}, "rope_freqs": None,
           "rope_factors_long": None, "rope_factors_short": None, "error": None}
    (folder / "config.json").write_text(json.dumps(config))
    try:
        hparams = ModelBase.load_hparams(folder, False)
        out["hf_arch"] = get_model_architecture(hparams, ModelType.TEXT)
        cls = get_model_class(out["hf_arch"])
        out["model_class"] = cls.__name__
        out["arch"] = gguf.MODEL_ARCH_NAMES[cls.model_arch]
        model = cls(folder, gguf.LlamaFileType.MOSTLY_F16, folder / "out.gguf", dry_run=True)
        # A wrapper class (conversion/mistral3.py) writes through the model it delegates to.
        impl = getattr(model, "impl", None)
        if isinstance(impl, ModelBase):
            model = impl
            out["model_class"] += "." + type(impl).__name__
            out["arch"] = gguf.MODEL_ARCH_NAMES[type(impl).model_arch]
        model.set_gguf_parameters()
    except BaseException as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
        return out
    try:
        for name, tensor in model.generate_extra_tensors():
            for kind in ("rope_freqs", "rope_factors_long", "rope_factors_short"):
                if kind in name:
                    out[kind] = [float(x) for x in tensor.float().reshape(-1).tolist()]
    except BaseException as exc:
        out["extra_error"] = f"{type(exc).__name__}: {exc}"[:300]
    # generate_extra_tensors also writes keys (Phi-3's rope.scaling.attn_factor).
    out["kv"] = {k: plain(v.value) for k, v in model.gguf_writer.kv_data[0].items()}
    return out

configs = json.loads(sys.stdin.read())
results = {}
with tempfile.TemporaryDirectory() as tmp:
    for i, (name, config) in enumerate(configs.items()):
        folder = Path(tmp) / str(i)
        folder.mkdir()
        results[name] = convert(config, folder)
sys.stdout.flush()
print(json.dumps(results))
"""


# ---- ggml's rope math -----------------------------------------------------------------------


def _function_source(text: str, start: str) -> str:
    """The definition beginning with `start`, up to its matching closing brace, verbatim."""
    at = text.index(start)
    depth, i = 0, text.index("{", at)
    while True:
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[at : i + 1]
        i += 1


_HARNESS_MAIN = r"""
/* Reads one request per line:
 *   n_dims n_ctx_orig freq_base freq_scale ext_factor attn_factor beta_fast beta_slow
 *   n_ff ff[0..n_ff) n_pos pos[0..n_pos)
 * and prints "dims LOW HIGH" then, per position, "P cos0 sin0 cos1 sin1 ..." (float32, %.9g). */
int main(void) {
    int n_dims, n_ctx_orig, n_ff, n_pos;
    float freq_base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow;
    while (scanf("%d %d %f %f %f %f %f %f %d", &n_dims, &n_ctx_orig, &freq_base, &freq_scale,
                 &ext_factor, &attn_factor, &beta_fast, &beta_slow, &n_ff) == 9) {
        float *ff = n_ff > 0 ? malloc(sizeof(float) * n_ff) : NULL;
        for (int i = 0; i < n_ff; i++) scanf("%f", &ff[i]);
        if (scanf("%d", &n_pos) != 1) return 2;
        float corr_dims[2];
        ggml_rope_yarn_corr_dims(n_dims, n_ctx_orig, freq_base, beta_fast, beta_slow, corr_dims);
        printf("dims %.9g %.9g\n", corr_dims[0], corr_dims[1]);
        const float theta_scale = powf(freq_base, -2.0f/n_dims);
        float *cache = malloc(sizeof(float) * n_dims);
        for (int k = 0; k < n_pos; k++) {
            long p;
            if (scanf("%ld", &p) != 1) return 2;
            ggml_rope_cache_init((float) p, freq_scale, ff, corr_dims, n_dims, ext_factor,
                                 attn_factor, cache, 1.0f, theta_scale);
            printf("%ld", p);
            for (int i = 0; i < n_dims; i++) printf(" %.9g", cache[i]);
            printf("\n");
        }
        free(cache);
        free(ff);
        fflush(stdout);
    }
    return 0;
}
"""


@functools.cache
def harness_binary() -> Path:
    """Compile (once, cached beside the sources) the harness around ggml's rope functions."""
    root = vendor_dir()
    out = root.parent.parent / f"ggml-rope-harness-{HARNESS_VERSION}"
    if out.is_file():
        return out
    texts = {name: (root / name).read_text(encoding="utf-8") for name in (_GGML_C, _GGML_OPS)}
    parts = [
        "#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n",
        "#define MAX(a, b) ((a) > (b) ? (a) : (b))\n#define MIN(a, b) ((a) < (b) ? (a) : (b))\n",
    ]
    for name, start in _GGML_FUNCTIONS:
        parts.append(f"/* from {name} */\n{_function_source(texts[name], start)}\n")
    parts.append(_HARNESS_MAIN)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "harness.c"
        src.write_text("\n".join(parts), encoding="utf-8")
        built = Path(tmp) / "harness"
        # Plain C, no fast-math: float32 arithmetic as ggml's CPU backend does it.
        cmd = ["gcc", "-std=gnu11", "-O2", "-ffp-contract=off", "-o", str(built), str(src), "-lm"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        tmp_out = out.with_suffix(".tmp")
        built.replace(tmp_out)
        tmp_out.replace(out)
    return out


@dataclass(frozen=True)
class RopeRequest:
    """One call of ggml's rope with the arguments llama.cpp passes (`ggml_rope_ext`)."""

    n_dims: int
    n_ctx_orig: int
    freq_base: float
    freq_scale: float
    ext_factor: float
    attn_factor: float
    beta_fast: float
    beta_slow: float
    freq_factors: tuple[float, ...] | None = None


@dataclass
class RopeResult:
    corr_dims: tuple[float, float]
    cos_sin: dict[int, list[tuple[float, float]]]  # position -> per pair (cos, sin)

    def inv_freq(self) -> list[float]:
        """Per-pair angle at position 1 (= the inverse frequency ggml uses), from its cos/sin."""
        return [math.atan2(s, c) for c, s in self.cos_sin[1]]

    def magnitude(self) -> float:
        """The cos/sin multiplier (|(cos, sin)| of the first pair at position 1)."""
        c, s = self.cos_sin[1][0]
        return math.hypot(c, s)


def ggml_rope(
    requests: list[RopeRequest], positions: tuple[int, ...] = (1, 4096)
) -> list[RopeResult]:
    """ggml's cos/sin cache for each request at `positions` (position 1 is always included)."""
    pos = (1, *[p for p in positions if p != 1])
    lines = []
    for r in requests:
        ff = list(r.freq_factors or ())
        head = (
            f"{r.n_dims} {r.n_ctx_orig} {r.freq_base!r} {r.freq_scale!r} {r.ext_factor!r} "
            f"{r.attn_factor!r} {r.beta_fast!r} {r.beta_slow!r} {len(ff)}"
        )
        lines.append(" ".join([head, *map(repr, ff), str(len(pos)), *map(str, pos)]))
    proc = subprocess.run(
        [str(harness_binary())],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out_lines = iter(proc.stdout.splitlines())
    results = []
    for _ in requests:
        _tag, low, high = next(out_lines).split()
        table: dict[int, list[tuple[float, float]]] = {}
        for _p in pos:
            fields = next(out_lines).split()
            vals = [float(v) for v in fields[1:]]
            table[int(fields[0])] = list(zip(vals[0::2], vals[1::2], strict=True))
        results.append(RopeResult((float(low), float(high)), table))
    return results


# ---- the loader: GGUF metadata -> ggml_rope_ext arguments -----------------------------------


@functools.cache
def loader_reads() -> dict[str, frozenset[str]]:
    """Per GGUF architecture name, which optional rope keys its `load_arch_hparams` reads.

    Read from the loader sources themselves: `src/llama-arch.cpp` maps `LLM_ARCH_X` to the
    GGUF name, `src/models/*.cpp` define `llama_model_x::load_arch_hparams`. Tags returned:
    `beta` (yarn_beta_fast/slow), `log_mul` (yarn_log_multiplier), `log_mul_div` (the
    DeepSeek-2 division by 0.1), `ext_factor`, `attn_factor_yarn` (yarn_attn_factor),
    `freq_base_swa`, `kq_mscale` (the MLA softmax scale from the YaRN magnitude).
    """
    src = vendor_dir() / "src"
    names = dict(
        re.findall(
            r'\{\s*LLM_ARCH_(\w+)\s*,\s*"([\w.-]+)"\s*\}', (src / "llama-arch.cpp").read_text()
        )
    )
    by_class: dict[str, frozenset[str]] = {}
    for path in sorted((src / "models").glob("*.cpp")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for cls in set(re.findall(r"void llama_model_(\w+)::load_arch_hparams", text)):
            tags = set()
            if "LLM_KV_ROPE_SCALING_YARN_BETA_FAST" in text:
                tags.add("beta")
            if "LLM_KV_ROPE_SCALING_YARN_LOG_MUL" in text:
                tags.add("log_mul")
                if re.search(r"rope_yarn_log_mul\s*/=\s*0\.1f", text):
                    tags.add("log_mul_div")
            if "LLM_KV_ROPE_SCALING_YARN_EXT_FACTOR" in text:
                tags.add("ext_factor")
            if "LLM_KV_ROPE_SCALING_YARN_ATTN_FACTOR" in text:
                tags.add("attn_factor_yarn")
            if "LLM_KV_ROPE_FREQ_BASE_SWA" in text:
                tags.add("freq_base_swa")
            if re.search(r"kq_scale\s*=\s*1\.0f\s*\*\s*mscale\s*\*\s*mscale", text):
                tags.add("kq_mscale")
            if re.search(r"std::fill\(hparams\.rope_pattern[^;]*rope_finetuned\)", text):
                tags.add("finetuned_switch")  # granite: rope.scaling.finetuned false = NoPE
            if "dsv4_compress_rope_base" in text:
                tags.add("dsv4_compress")  # deepseek4.cpp: YaRN on compressed layers only
            if "pos_embd" in text and "ggml_rope" not in text:
                tags.add("learned_positions")  # e.g. starcoder.cpp adds model.pos_embd
            if re.search(r"case LLM_TYPE_13B:", text) and "ggml_rope_ext" in text:
                tags.add("rope_7b_only")  # baichuan.cpp: RoPE for 7B, ALiBi for 13B
            by_class[cls] = by_class.get(cls, frozenset()) | frozenset(tags)
    # A class deriving from another model's class (models.h, e.g. mistral4 from deepseek2)
    # reuses its loader and graph.
    header = (src / "models" / "models.h").read_text(encoding="utf-8", errors="replace")
    parents = dict(re.findall(r"struct llama_model_(\w+)\s*:\s*public llama_model_(\w+)", header))
    reads: dict[str, frozenset[str]] = {}
    for cls in set(by_class) | set(parents):
        tags, parent = by_class.get(cls, frozenset()), parents.get(cls)
        while parent is not None and parent != "base":
            tags |= by_class.get(parent, frozenset())
            parent = parents.get(parent)
        arch = names.get(cls.upper())
        if arch is not None:
            reads[arch] = tags
    return reads


@functools.cache
def arch_rope_types() -> dict[str, str]:
    """GGUF architecture name -> the rope kind `llama_model_rope_type` returns for it.

    Parsed from the switch in `src/llama-model.cpp`: "NONE" (no RoPE), "NORM" (consecutive
    pairs), "NEOX" (halves), "MROPE", "IMROPE", or "COND" where the choice depends on hparams.
    """
    src = vendor_dir() / "src"
    names = dict(
        re.findall(
            r'\{\s*LLM_ARCH_(\w+)\s*,\s*"([\w.-]+)"\s*\}', (src / "llama-arch.cpp").read_text()
        )
    )
    text = (src / "llama-model.cpp").read_text(encoding="utf-8", errors="replace")
    body = text[text.index("llama_rope_type llama_model_rope_type(") :]
    body = body[: body.index("\n}\n")]
    kinds: dict[str, str] = {}
    pending: list[str] = []
    for line in body.splitlines():
        pending += re.findall(r"case LLM_ARCH_(\w+):", line)
        if "return" in line and pending:
            found = re.findall(r"LLAMA_ROPE_TYPE_(\w+)", line)
            kind = found[0] if len(found) == 1 else "COND"
            for enum in pending:
                if enum in names:
                    kinds[names[enum]] = kind
            pending = []
    return kinds


@dataclass
class LlamaCppSide:
    """What llama.cpp runs for one converted config (full-attention layers)."""

    arch: str
    served_context: int | None  # default n_ctx = GGUF context_length
    n_dims: int
    freq_base: float
    scaling_type: str
    request: RopeRequest
    inv_freq: list[float]
    attention_scaling: float  # cos/sin multiplier
    softmax_multiplier: float  # multiplier on 1/sqrt(d) in kq_scale
    factor_set: str | None = None  # longrope: "long" / "short"; llama3: "rope_freqs"
    no_rope: str | None = None  # why llama.cpp's graph rotates nothing for this GGUF


def llamacpp_side(conv: Conversion) -> LlamaCppSide | None:
    """The converted metadata interpreted as llama.cpp's loader and context do (no CLI flags).

    None when the converter wrote no rotary dimension or head count (no GGUF llama.cpp loads).
    """
    assert conv.arch is not None
    kv = conv.get
    arch = conv.arch
    reads = loader_reads().get(arch, frozenset())
    n_ctx_train = kv("context_length")
    n_head = kv("attention.head_count")
    n_embd = kv("embedding_length")
    if isinstance(n_head, list):
        n_head = max(n_head) if n_head else None
    # llama-model.cpp load_hparams: n_rot = rope.dimension_count, else the key length, else
    # n_embd / n_head.
    head_k = kv("attention.key_length")
    if head_k is None and n_head and n_embd:
        head_k = n_embd // n_head
    n_dims = kv("rope.dimension_count", head_k)
    if not n_dims or n_ctx_train is None:
        return None  # llama-model.cpp requires context_length; no heads: nothing rotates
    freq_base = float(kv("rope.freq_base", 10000.0))
    no_rope = _no_rope(conv, reads)
    if "dsv4_compress" in reads:
        # deepseek4.cpp build_attention: compressed layers rotate with the compress base and
        # the scaling; the window layers use freq_base unscaled. The long context is there.
        freq_base = float(kv("attention.compress_rope_freq_base", freq_base))
    scaling_type = kv("rope.scaling.type", "linear")
    ropescale = kv("rope.scaling.factor", kv("rope.scale_linear", 0.0)) or 0.0
    freq_scale = 1.0 if ropescale == 0.0 else 1.0 / float(ropescale)
    if scaling_type == "none":
        freq_scale = 1.0
    n_ctx_orig = kv("rope.scaling.original_context_length", n_ctx_train) or n_ctx_train or 0
    ext_factor = kv("rope.scaling.yarn_ext_factor", -1.0) if "ext_factor" in reads else -1.0
    if ext_factor < 0:
        ext_factor = 1.0 if scaling_type == "yarn" else 0.0
    beta_fast, beta_slow = 32.0, 1.0
    if "beta" in reads:
        beta_fast = float(kv("rope.scaling.yarn_beta_fast", beta_fast))
        beta_slow = float(kv("rope.scaling.yarn_beta_slow", beta_slow))
    log_mul = 0.0
    if "log_mul" in reads:
        log_mul = float(kv("rope.scaling.yarn_log_multiplier", 0.0))
        if "log_mul_div" in reads:
            log_mul = f32(f32(log_mul) / f32(0.1))
    attn_factor = (
        float(kv("rope.scaling.yarn_attn_factor", 1.0)) if "attn_factor_yarn" in reads else 1.0
    )
    factor = 1.0 / freq_scale
    if ext_factor != 0:
        # llama-context.cpp: the YaRN magnitude, divided by the kernel's own 1 + 0.1 ln s.
        if log_mul != 0.0:
            mscale = log_mul if (arch == "deepseek2" and log_mul != 1.0) else 1.0
            attn_factor = _mscale(factor, mscale) / _mscale(factor, log_mul)
        else:
            attn_factor = _mscale(factor, 1.0)
        attn_factor *= 1.0 / (1.0 + 0.1 * math.log(factor))
    attn_factor *= float(kv("rope.scaling.attn_factor", 1.0))
    if "dsv4_compress" in reads:
        # deepseek4.cpp dsv4_rope_attn_factor: cancels the kernel's YaRN magnitude.
        attn_factor = 1.0 if ext_factor == 0 else 1.0 / (1.0 + 0.1 * math.log(1.0 / freq_scale))
    freq_factors: tuple[float, ...] | None = None
    factor_set = None
    if conv.rope_freqs is not None:
        freq_factors, factor_set = tuple(conv.rope_freqs), "rope_freqs"
    elif conv.rope_factors_long is not None and conv.rope_factors_short is not None:
        # llama-model.cpp get_rope_factors: long when n_ctx_seq > n_ctx_orig_yarn; the default
        # n_ctx_seq is n_ctx_train.
        long = (n_ctx_train or 0) > n_ctx_orig
        chosen = conv.rope_factors_long if long else conv.rope_factors_short
        freq_factors, factor_set = tuple(chosen), "long" if long else "short"
    softmax = 1.0
    if "kq_mscale" in reads:
        # deepseek2.cpp: kq_scale = mscale^2 / sqrt(d), mscale = attn_factor_org *
        # (1 + 0.1 * log_mul * ln(1/freq_scale)), attn_factor_org = attn_factor * (1 + 0.1 ln s).
        org = attn_factor * (1.0 + 0.1 * math.log(1.0 / freq_scale))
        mscale_kq = org * (1.0 + 0.1 * log_mul * math.log(1.0 / freq_scale))
        softmax = mscale_kq * mscale_kq
    request = RopeRequest(
        n_dims=int(n_dims),
        n_ctx_orig=int(n_ctx_orig),
        freq_base=freq_base,
        freq_scale=freq_scale,
        ext_factor=float(ext_factor),
        attn_factor=float(attn_factor),
        beta_fast=beta_fast,
        beta_slow=beta_slow,
        freq_factors=freq_factors,
    )
    return LlamaCppSide(
        arch=arch,
        served_context=n_ctx_train,
        n_dims=int(n_dims),
        freq_base=freq_base,
        scaling_type=scaling_type,
        request=request,
        inv_freq=[],
        attention_scaling=math.nan,
        softmax_multiplier=softmax,
        factor_set=factor_set,
        no_rope=no_rope,
    )


def _no_rope(conv: Conversion, reads: frozenset[str]) -> str | None:
    """Why llama.cpp's graph for this GGUF applies no rotary embedding (None: it does)."""
    arch = conv.arch
    if arch_rope_types().get(arch or "", "NEOX") == "NONE":
        return f"llama_model_rope_type: {arch} uses no RoPE"
    if arch == "bert":
        return "bert.cpp rotates only nomic-bert / jina-bert-v3; bert keeps learned positions"
    if "learned_positions" in reads:
        return f"{arch}: learned position table (model.pos_embd), no rope call"
    if "finetuned_switch" in reads and conv.get("rope.scaling.finetuned", True) is False:
        return f"{arch}: rope.scaling.finetuned = false switches RoPE off"
    if "rope_7b_only" in reads and conv.get("block_count") == 40:
        return f"{arch}: the 13B graph (40 layers) uses ALiBi"
    return None


def f32(value: float) -> float:
    import struct

    return float(struct.unpack("f", struct.pack("f", value))[0])


def _mscale(scale: float, mscale: float) -> float:
    return 1.0 if scale <= 1.0 else 0.1 * mscale * math.log(scale) + 1.0


def run_sides(convs: dict[str, Conversion]) -> dict[str, LlamaCppSide]:
    """`llamacpp_side` for every converted config, ggml's numbers filled in (one harness run)."""
    sides = {}
    for name, conv in convs.items():
        if conv.error is None:
            side = llamacpp_side(conv)
            if side is not None:
                sides[name] = side
    results = ggml_rope([s.request for s in sides.values()])
    for side, res in zip(sides.values(), results, strict=True):
        side.inv_freq = res.inv_freq()
        side.attention_scaling = res.magnitude()
    return sides


def _main() -> None:
    from tests.conftest import corpus_configs

    configs = {name: json.loads(path.read_text()) for name, path in corpus_configs()}
    convs = converter_metadata(configs)
    rope = {
        n: {
            "arch": c.arch,
            "error": c.error,
            "kv": {k: v for k, v in c.kv.items() if "rope" in k or "context_length" in k},
        }
        for n, c in convs.items()
    }
    print(json.dumps(rope, indent=1))


if __name__ == "__main__":
    _main()
