#!/usr/bin/env bash
# CUDA run of the rope benchmark, the fused rotation's check and the verifier's tensor checks,
# in under 5 minutes.
#
#   benchmarks/gpu.sh [CONFIG.json ...]
#
# Uses $PYTHON, else .venv/bin/python, else python3 (it needs a CUDA build of torch, triton and
# transformers). Results go to $OUT (default: a new temporary folder): bench_rope_cuda.json
# (fused Triton kernel, eager, transformers, as fractions of a device-to-device copy, float32
# and bfloat16), fused_check_cuda.json (the Triton kernel against the eager path and a float64
# rotation), check_cuda.jsonl and check_cpu.jsonl (the same checks on CPU, to compare verdicts).
# Without arguments it checks a few corpus configs from ../shared/corpus when present, else a
# built-in set of small configs (YaRN, YaRN with truncate false, Llama 3, dynamic, mRoPE).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"

"$PY" - <<'EOF'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit("gpu.sh: torch sees no CUDA device")
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
try:
    import triton
    print(f"triton {triton.__version__}")
except ImportError:
    print("gpu.sh: triton is not importable: the fused rotation falls back to eager")
EOF

configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
    corpus="$ROOT/../shared/corpus/configs"
    for pattern in DeepSeek-V3 gpt-oss-120b Llama-3.1-8B Qwen2.5-7B-Instruct Phi-3-mini-128k \
        gemma-3-27b Qwen2-VL-7B; do
        for found in "$corpus"/*"$pattern"*.json; do
            [ -e "$found" ] && configs+=("$found") && break
        done
    done
fi
if [ ${#configs[@]} -eq 0 ]; then
    builtin="$OUT/configs"
    mkdir -p "$builtin"
    "$PY" - "$builtin" <<'EOF'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
base = {"hidden_size": 4096, "num_attention_heads": 32, "max_position_embeddings": 131072}
cases = {
    "yarn": {"model_type": "qwen2", "rope_theta": 1e6,
             "rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                              "original_max_position_embeddings": 32768}},
    "yarn_truncate_false": {"model_type": "gpt_oss", "head_dim": 64, "rope_theta": 150000.0,
                            "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "truncate": False,
                                             "original_max_position_embeddings": 4096}},
    "llama3": {"model_type": "llama", "rope_theta": 500000.0,
               "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 8192}},
    "dynamic": {"model_type": "llama", "max_position_embeddings": 4096,
                "rope_scaling": {"rope_type": "dynamic", "factor": 2.0}},
    "mrope": {"model_type": "qwen2_vl", "rope_theta": 1e6,
              "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}},
}
for name, extra in cases.items():
    (out / f"{name}.json").write_text(json.dumps({**base, **extra}))
EOF
    configs=("$builtin"/*.json)
fi

echo "== fused rotation check (cuda)"
status=0
timeout 60 "$PY" benchmarks/fused_check.py --device cuda --json >"$OUT/fused_check_cuda.json" \
    || status=$?
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print({k: d[k] for k in ("backend", "cases", "ok")})' \
    "$OUT/fused_check_cuda.json" || status=1

echo "== benchmark (cuda)"
timeout 120 "$PY" benchmarks/bench_rope.py --device cuda --json | tee "$OUT/bench_rope_cuda.json"

echo "== verifier tensor checks on ${#configs[@]} configs (cuda, then cpu)"
timeout 50 "$PY" -m registry check --device cuda --json "${configs[@]}" \
    >"$OUT/check_cuda.jsonl" || status=$?
timeout 50 "$PY" -m registry check --device cpu --json "${configs[@]}" \
    >"$OUT/check_cpu.jsonl" || status=$?
"$PY" - "$OUT/check_cuda.jsonl" "$OUT/check_cpu.jsonl" <<'EOF'
import json
import sys

def verdicts(path):
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    return {row.get("path"): row.get("verdict") for row in rows}

cuda, cpu = verdicts(sys.argv[1]), verdicts(sys.argv[2])
for path in sorted(cuda):
    mark = "same" if cuda[path] == cpu.get(path) else f"DIFFERS (cpu: {cpu.get(path)})"
    print(f"{cuda[path]!s:6} {mark:8} {path}")
sys.exit(0 if cuda == cpu else 1)
EOF
exit "$status"
