#!/usr/bin/env bash
# Two builds of nmt on the same benchmarks, alternating round by round so both see the same
# machine: `nmt bench train` and `nmt bench decode` (greedy and beam 4), each figure the median of
# its own repeats, then the median over ROUNDS rounds and the ratio after / before.
# Usage: scripts/bench-compare.sh BEFORE_NMT AFTER_NMT [ROUNDS]
#   e.g. git archive main | tar -x -C /tmp/before && (cd /tmp/before && swift build -c release)
#        scripts/bench-compare.sh /tmp/before/.build/release/nmt .build/release/nmt 3
set -euo pipefail
before=$1 after=$2 rounds=${3:-3}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
date -u +"%Y-%m-%d %H:%M UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
    for side in before after; do
        binary=$before
        [ "$side" = after ] && binary=$after
        "$binary" bench train --repeats 5 --format json | sed "s/^/$side $round /" >>"$results"
        "$binary" bench decode --repeats 3 --format json | sed "s/^/$side $round /" >>"$results"
    done
done
python3 - "$results" "$rounds" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, round_, text = line.split(" ", 2)
    figure = json.loads(text)
    key = (figure["benchmark"], figure["metric"], figure["unit"])
    rows.setdefault(key, {}).setdefault(side, []).append(figure["value"])
wanted = [("train", "target tokens/s"), ("train", "step time"), ("train", "peak memory"),
          ("decode greedy", "sentences_per_second"), ("decode beam 4", "sentences_per_second")]
print(f"| figure | before (rounds) | after (rounds) | median before | median after | after / before |")
print("| --- | --- | --- | ---: | ---: | ---: |")
for (benchmark, metric, unit), sides in rows.items():
    if (benchmark, metric) not in wanted:
        continue
    b, a = sides["before"], sides["after"]
    mb, ma = statistics.median(b), statistics.median(a)
    print(f"| {benchmark} {metric} ({unit}) | {', '.join(f'{v:.1f}' for v in b)} | {', '.join(f'{v:.1f}' for v in a)} "
          f"| {mb:.1f} | {ma:.1f} | {ma / mb:.3f} |")
EOF
