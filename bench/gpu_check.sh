#!/usr/bin/env bash
# Everything that needs a GPU, as one command, for a machine with CUDA (e.g. the `device` tool's H200):
#
#     bash bench/gpu_check.sh            # writes its reports under $OUT (default /tmp/gpu-check)
#
# 1. the GPU tests (pytest -m gpu: every inference path on CUDA against the CPU, fine-tuning on CUDA, the training
#    loop's no-host-sync test);
# 2. bench/train_speed.py --mode gpu for nanoGPT's baby GPT (6 x 6 x 384, context 256), classic and modern recipe:
#    time to val 1.47, MFU, compile time, tokens/s (goal: the modern recipe within 30 s of training on one H100);
# 3. a summary, $OUT/gpu_summary.json.
# Each part has its own timeout; the whole stays under 9 minutes. PY picks the interpreter (default: .venv's if
# there is one, else python3 with this checkout on PYTHONPATH).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; export PYTHONPATH="$PWD:${PYTHONPATH:-}"; fi
fi
export PYTHONUNBUFFERED=1

{ nvidia-smi; $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"; } \
  > "$OUT/env.txt" 2>&1
timeout 150 $PY -m pytest -q -m gpu -p no:cacheprovider tests > "$OUT/gpu_tests.txt" 2>&1
tests_rc=$?
timeout 170 $PY bench/train_speed.py --mode gpu --recipe classic > "$OUT/baby_gpt_classic.txt" 2>&1
classic_rc=$?
timeout 170 $PY bench/train_speed.py --mode gpu --recipe modern > "$OUT/baby_gpt_modern.txt" 2>&1
modern_rc=$?

$PY - "$OUT" "$tests_rc" "$classic_rc" "$modern_rc" <<'PYEOF' > "$OUT/gpu_summary.json"
import json, sys
from pathlib import Path
out, tests_rc, classic_rc, modern_rc = Path(sys.argv[1]), *map(int, sys.argv[2:])
read = lambda name: (out / name).read_text(errors="replace") if (out / name).exists() else ""
tests = read("gpu_tests.txt").strip().splitlines()
summary = {
    "device": read("env.txt").strip().splitlines()[-1:] or ["unknown"],
    "gpu_tests": {"rc": tests_rc, "result": tests[-1] if tests else ""},
    "baby_gpt": {name: {"rc": rc, "table": [ln for ln in read(f"baby_gpt_{name}.txt").splitlines() if ln.startswith("|")]}
                 for name, rc in (("classic", classic_rc), ("modern", modern_rc))},
}
print(json.dumps(summary, indent=1))
PYEOF
cat "$OUT/gpu_summary.json"
