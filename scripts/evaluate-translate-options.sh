#!/usr/bin/env bash
# BLEU and chrF of a model on a test set with nmt translate's content safeguards on and off:
# sentence splitting (--no-split) and the repetition guard (--no-repetition-guard), greedy and
# beam 5, and how many lines each safeguard changes. docs/RESULTS.md, "Sentence splitting and the
# repetition guard".
# Usage: scripts/evaluate-translate-options.sh MODEL_DIR TEST.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1 test=$2
nmt=${NMT:-.build/release/nmt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cut -f1 "$test" > "$work/source.txt"
for beam in 1 5; do
    for variant in "default:" "no-guard:--no-repetition-guard" "no-split:--no-split" "neither:--no-repetition-guard --no-split"; do
        name=${variant%%:*} flags=${variant#*:}
        # shellcheck disable=SC2086
        "$nmt" translate --model "$model" --beam "$beam" $flags --input "$work/source.txt" --output "$work/$beam-$name.txt" 2> "$work/$beam-$name.err"
        scores=$("$nmt" evaluate --hypotheses "$work/$beam-$name.txt" "$test" --format json |
                 python3 -c 'import json, sys; d = json.load(sys.stdin); print("BLEU %.2f  chrF %.2f" % (d["bleu"], d["chrf"]))')
        changed=$(diff "$work/$beam-default.txt" "$work/$beam-$name.txt" | grep -c '^<' || true)
        echo "beam $beam, $name: $scores; $(wc -l < "$work/$beam-$name.err") warnings; $changed lines differ from the default"
    done
done
