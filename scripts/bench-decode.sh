#!/usr/bin/env bash
# nmt bench decode beside the peer references of ../shared/bench (CTranslate2 float32/int8 and
# transformers generate), one after the other in the same run, on the same workload: a random
# model of the benchmark shape, 256 sources of 18 tokens, 20 output tokens forced, batch 64, 2 threads;
# nmt float32 and int8 (--compute-type int8), CTranslate2 float32 and int8.
# Usage: scripts/bench-decode.sh [PYTHON]   (PYTHON: a venv with torch transformers ctranslate2 sentencepiece)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
swift build -c release >/dev/null
date -u +"%Y-%m-%d %H:%M UTC"
# This machine forces OpenBLAS onto its Haswell (AVX2) kernels through OPENBLAS_CORETYPE; on its
# own OpenBLAS 0.3.21 picks Cooperlake (AVX-512) here. Both are measured; the peers do not use OpenBLAS.
for beam in 1 4; do
    echo "nmt, OpenBLAS as configured (${OPENBLAS_CORETYPE:-autodetected}):"
    .build/release/nmt bench decode --beams $beam --repeats 3
    echo "nmt, OpenBLAS autodetected:"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .build/release/nmt bench decode --beams $beam --repeats 3
    echo "nmt int8 (the random model quantized as it loads; no OpenBLAS in its products):"
    .build/release/nmt bench decode --beams $beam --repeats 3 --compute-type int8
    "$python" ../shared/bench/ct2_decode_ref.py --beam $beam 2>/dev/null | grep -v "^convert"
done
