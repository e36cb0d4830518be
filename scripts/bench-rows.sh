#!/usr/bin/env bash
# One-thread CPU time of two nmt builds on the real workload of issue 17 (Tatoeba test from a file,
# beam 4 and greedy) and on `nmt bench decode`, alternating before and after round by round so both
# see the same machine; user + sys from /usr/bin/time, medians over ROUNDS rounds, and whether the
# two builds' translations are identical.
# Usage: scripts/bench-rows.sh BEFORE_NMT AFTER_NMT [ROUNDS]
#   e.g. git archive main | tar -x -C /tmp/before && (cd /tmp/before && swift build -c release)
#        scripts/bench-rows.sh /tmp/before/.build/release/nmt .build/release/nmt 3
set -euo pipefail
before=$1 after=$2 rounds=${3:-3}
model=models/en-fr corpus=../shared/corpora/tatoeba-eng-fra/test.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cut -f1 "$corpus" >"$work/sources.txt"
date -u +"%Y-%m-%d %H:%M UTC, load $(cut -d' ' -f1-3 /proc/loadavg), $(wc -l <"$work/sources.txt") sources"
for round in $(seq "$rounds"); do
    for side in before after; do
        binary=$before
        [ "$side" = after ] && binary=$after
        for beam in 4 1; do
            /usr/bin/time -f "%U %S" -o "$work/time" "$binary" translate --model "$model" --input "$work/sources.txt" \
                --batch-size 64 --threads 1 --beam "$beam" >"$work/$side-beam$beam.txt"
            echo "$side $round translate-beam$beam $(cat "$work/time")" >>"$work/results"
        done
        /usr/bin/time -f "%U %S" -o "$work/time" "$binary" bench decode --threads 1 --repeats 3 --format json >"$work/bench.json"
        echo "$side $round bench-decode-cpu $(cat "$work/time")" >>"$work/results"
        python3 -c 'import json,sys
for line in open(sys.argv[1]):
    f = json.loads(line)
    if f["metric"] == "sentences_per_second": print(sys.argv[2], sys.argv[3], f["benchmark"].replace(" ", "-"), f["value"])' \
            "$work/bench.json" "$side" "$round" >>"$work/results"
    done
done
for beam in 4 1; do
    same=$(paste -d '\t' "$work/before-beam$beam.txt" "$work/after-beam$beam.txt" | awk -F'\t' '$1 == $2' | wc -l)
    echo "beam $beam: identical translations $same of $(wc -l <"$work/before-beam$beam.txt")"
done
python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, _, name, *values = line.split()
    value = sum(map(float, values))  # user + sys, or the one figure
    rows.setdefault(name, {}).setdefault(side, []).append(value)
print("| figure | before (rounds) | after (rounds) | median before | median after | after / before |")
print("| --- | --- | --- | ---: | ---: | ---: |")
for name, sides in rows.items():
    b, a = sides["before"], sides["after"]
    unit = "sentences/s" if name.startswith("decode") else "CPU s"
    mb, ma = statistics.median(b), statistics.median(a)
    print(f"| {name} ({unit}) | {', '.join(f'{v:.2f}' for v in b)} | {', '.join(f'{v:.2f}' for v in a)} | {mb:.2f} | {ma:.2f} | {ma / mb:.3f} |")
PY
