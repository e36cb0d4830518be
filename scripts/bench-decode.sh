#!/usr/bin/env bash
# nmt bench decode beside the peer references of ../shared/bench (CTranslate2 float32/int8 and
# transformers generate), one after the other in the same run, on the same workload: a random
# model of the benchmark shape, 256 sources of 18 tokens, 20 output tokens forced, batch 64, 2 threads;
# nmt float32 and int8 (--compute-type int8), CTranslate2 float32 and int8.
# Usage: scripts/bench-decode.sh [PYTHON]   (PYTHON: a venv with torch transformers ctranslate2 sentencepiece)
#   NMT=PATH in the environment runs that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
nmt=${NMT:-}
if [[ -z $nmt ]]; then swift build -c release >/dev/null; nmt=.build/release/nmt; fi
date -u +"%Y-%m-%d %H:%M UTC"
# Machines of this kind have been set up with OPENBLAS_CORETYPE=Haswell (AVX2 kernels), others
# leave OpenBLAS to pick its own (Cooperlake, AVX-512, on Zen 4): float32 is measured both ways.
for beam in 1 4; do
    echo "nmt float32, OpenBLAS autodetected:"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$nmt" bench decode --beams $beam --repeats 3
    echo "nmt float32, OPENBLAS_CORETYPE=Haswell:"
    OPENBLAS_CORETYPE=Haswell "$nmt" bench decode --beams $beam --repeats 3
    echo "nmt int8 (the random model quantized as it loads; no OpenBLAS in its products):"
    "$nmt" bench decode --beams $beam --repeats 3 --compute-type int8
    "$python" ../shared/bench/ct2_decode_ref.py --beam $beam 2>/dev/null | grep -v "^convert"
done
