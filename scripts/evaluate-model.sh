#!/usr/bin/env bash
# Scores a model on a test set, greedy and beam 5, BLEU (cased and --lowercase) and chrF, as the
# rows of docs/RESULTS.md. The test set is a TSV (source<TAB>reference[<TAB>more references]) or a
# pair of aligned files.
# Usage: scripts/evaluate-model.sh MODEL_DIR TEST.tsv
#        scripts/evaluate-model.sh MODEL_DIR SOURCE.txt REFERENCE.txt
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1; shift
nmt=.build/release/nmt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ $# -eq 1 ]]; then
    cut -f1 "$1" > "$work/source.txt"
    references=("$1")
else
    cp "$1" "$work/source.txt"
    references=(--reference "$2")
fi
for beam in 1 5; do
    start=$(date +%s%N)
    "$nmt" translate --model "$model" --beam "$beam" --input "$work/source.txt" --output "$work/beam$beam.txt"
    milliseconds=$(( ($(date +%s%N) - start) / 1000000 ))
    cased=$("$nmt" evaluate --hypotheses "$work/beam$beam.txt" "${references[@]}" --format json)
    lower=$("$nmt" evaluate --hypotheses "$work/beam$beam.txt" "${references[@]}" --lowercase --format json)
    python3 - "$beam" "$milliseconds" "$cased" "$lower" <<'PY'
import json, sys
beam, seconds, cased, lower = sys.argv[1], float(sys.argv[2]) / 1000, json.loads(sys.argv[3]), json.loads(sys.argv[4])
search = "greedy" if beam == "1" else f"beam {beam}"
print(f"| {search} | {cased['bleu']:.1f} | {lower['bleu']:.1f} | {cased['chrf']:.1f} | {seconds:.1f} s |")
print(f"  signatures: {cased['signature']['bleu']} ; {cased['signature']['chrf']}", file=sys.stderr)
PY
done
