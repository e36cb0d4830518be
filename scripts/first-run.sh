#!/usr/bin/env bash
# Issue 20's acceptance run, as FirstRunTests.testThreeHundredUpdatesWithTheDefaultsLearn makes it:
# 3,000 Tatoeba pairs (every 45th line of train.tsv: the file is sorted by length), every 10th
# pair of dev.tsv for validation, an 8,000-piece vocabulary learned from the pairs, then
# `nmt train --preset tiny --max-steps 300` with the default schedule (extra options after the
# folder, e.g. --warmup 4000 --learning-rate 5e-4 for the defaults before issue 20).
# Prints the validation losses and a translation.
# Usage: scripts/first-run.sh WORK_DIR [nmt train options…]
set -euo pipefail
cd "$(dirname "$0")/.."
nmt=${NMT:-.build/release/nmt}
work=$1; shift
corpus=../shared/corpora/tatoeba-eng-fra
mkdir -p "$work"
awk 'NR % 45 == 1 && n < 3000 { print; n++ }' "$corpus/train.tsv" > "$work/pairs.tsv"
awk 'NR % 10 == 1' "$corpus/dev.tsv" > "$work/dev.tsv"
[[ -f "$work/vocab.json" ]] || "$nmt" vocab learn --quiet --size 8000 --output "$work/vocab.json" "$work/pairs.tsv"
"$nmt" train --train "$work/pairs.tsv" --valid "$work/dev.tsv" --tokenizer "$work/vocab.json" \
    --output "$work/run" --overwrite --preset tiny --max-steps 300 "$@" > "$work/train.out"
grep '"event":"validation"' "$work/run/training-log.jsonl"
"$nmt" translate --model "$work/run" --beam 1 "I am a student."
