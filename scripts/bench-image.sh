#!/usr/bin/env bash
# nmt bench image beside ../shared/bench/attentionnet_ref.py (PyTorch), round after round in the
# same run: AttentionNet training steps at batch 128 on 2 threads. Prints one table row a round:
# nmt images/s with OpenBLAS as this machine configures it, with OpenBLAS autodetecting its
# kernels, PyTorch images/s, and the two ratios.
# Usage: scripts/bench-image.sh [ROUNDS] [PYTHON]   (PYTHON: a venv with torch)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
python=${2:-python3}
swift build -c release >/dev/null
date -u +"%Y-%m-%d %H:%M UTC"
rate() { grep '"training images/s"' | sed 's/.*"value":\([0-9.]*\).*/\1/'; }
# This machine forces OpenBLAS onto its Haswell (AVX2) kernels through OPENBLAS_CORETYPE; on its
# own OpenBLAS 0.3.21 picks Cooperlake (AVX-512) here. PyTorch's convolutions (oneDNN) use neither.
echo "| round | nmt (${OPENBLAS_CORETYPE:-autodetected}) | nmt (autodetected) | PyTorch | ratio | ratio (autodetected) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for round in $(seq "$rounds"); do
    configured=$(.build/release/nmt bench image --repeats 3 --format json | rate)
    autodetected=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .build/release/nmt bench image --repeats 3 --format json | rate)
    peer=$("$python" ../shared/bench/attentionnet_ref.py | sed -n 's/.*train: \([0-9.]*\) images.*/\1/p')
    python3 -c "import sys; c, a, p = map(float, sys.argv[1:4]); print(f'| {sys.argv[4]} | {c:.1f} | {a:.1f} | {p:.0f} | {c / p:.2f}× | {a / p:.2f}× |')" \
        "$configured" "$autodetected" "$peer" "$round"
done
