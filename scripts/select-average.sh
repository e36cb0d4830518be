#!/usr/bin/env bash
# How many of a run's newest checkpoints to average: for each N, the mean of the N newest
# checkpoints (N = 1: the newest alone) scored with beam 5 on a development set, never the test set.
# The averages stay beside the run as RUN-avgN (float32) for `nmt export … --dtype f16`.
# Usage: scripts/select-average.sh RUN DEV.tsv [N …]          (default N: 1 4 8 12)
#        EVALUATE="--lowercase" scripts/select-average.sh …     (options for nmt evaluate)
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1%/}; dev=$2; shift 2
counts=("${@:-}")
[[ -n "${counts[0]}" ]] || counts=(1 4 8 12)
nmt=.build/release/nmt
read -r -a evaluate_options <<< "${EVALUATE:-}"
available=$(find "$run/checkpoints" -maxdepth 1 -name 'step-*' -type d | wc -l)
echo "| checkpoints averaged | BLEU | chrF |"
echo "| --- | --- | --- |"
for n in "${counts[@]}"; do
    if (( n > available )); then echo "$run holds $available checkpoints; skipping $n" >&2; continue; fi
    if (( n == 1 )); then
        model=$(find "$run/checkpoints" -maxdepth 1 -name 'step-*' -type d | sort | tail -n 1)  # a checkpoint is a model directory
    else
        model=$run-avg$n
        "$nmt" average --last "$n" "$run" --output "$model" > /dev/null
    fi
    scores=$("$nmt" evaluate --model "$model" --beam 5 "${evaluate_options[@]}" "$dev" --format json)
    python3 - "$n" "$scores" <<'PY'
import json, sys
scores = json.loads(sys.argv[2])
print(f"| {sys.argv[1]} | {scores['bleu']:.2f} | {scores['chrf']:.2f} |")
PY
done
