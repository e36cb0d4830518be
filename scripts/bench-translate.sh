#!/usr/bin/env bash
# The real workload of issue 17: the shipped model (models/en-fr) translating Tatoeba test's 2,000
# English sources from a file, batches of 64, 2 threads, greedy and beam 4 — `nmt translate --input`
# end to end (load, tokenization, writing, all of it) against CTranslate2 on the same weights
# (../shared/bench/ct2_translate_model.py: its translate_batch time alone), float32 and int8, one
# right after the other in each round. Prints sentences/s, the ratios nmt / CTranslate2 of the same
# compute type (medians over the rounds) and how many outputs are identical.
# CTranslate2 runs in two thread layouts: the shared script's, one batch at a time split across the
# threads (inter_threads 1, intra_threads THREADS: the issue's figure), and one batch per thread
# (inter_threads THREADS, intra_threads 1: scripts/ct2-batches-on-threads.py), which is how nmt
# spreads a file's batches, and was 1.3 to 4 times as fast as the first here.
# Usage: scripts/bench-translate.sh [PYTHON] [ROUNDS] [MODEL] [THREADS]
#   PYTHON: a venv with ctranslate2, tokenizers, sentencepiece (default /root/REF/bin/python)
#   NMT=PATH in the environment runs that binary instead of building one (a build with other traits,
#   e.g. the one `swift test -c release --traits MPI` leaves, is reused without a rebuild).
#   THREADS: 2 by default (the issue's figure); 1 is steadier on a machine shared with other work,
#   where CTranslate2 at 2 threads was seen to slow to a tenth of its 1-thread speed (load 12).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-/root/REF/bin/python}
rounds=${2:-3}
model=${3:-models/en-fr}
threads=${4:-2}
test_set=../shared/corpora/tatoeba-eng-fra/test.tsv
[[ -f $test_set ]] || { echo "bench-translate.sh: $test_set: not found (../shared beside the checkout)" >&2; exit 1; }
[[ -d $model ]] || { echo "bench-translate.sh: $model: no such model directory" >&2; exit 1; }
"$python" -c "import ctranslate2, tokenizers, sentencepiece" 2>/dev/null \
    || { echo "bench-translate.sh: $python cannot import ctranslate2, tokenizers and sentencepiece" >&2; exit 1; }
nmt=${NMT:-}
if [[ -z $nmt ]]; then swift build -c release >/dev/null; nmt=.build/release/nmt; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cut -f1 "$test_set" > "$work/sources.txt"
sentences=$(wc -l < "$work/sources.txt")

# nmt int8 runs the model's int8 export, as a user who exported it would (quantizing at load with
# --compute-type int8 gives the same translations and adds the quantization to every run).
"$nmt" export "$model" --output "$work/model-int8" --dtype int8 >/dev/null

echo "$(date -u +'%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, $sentences sentences of $test_set, model $model, $threads threads"

# One timed nmt run: prints sentences/s, end to end.
run_nmt() {  # compute-type beam output
    # Each line whole and no loop guard, as CTranslate2 gets them (issue 20's defaults cost nothing
    # measurable: docs/BENCHMARKS.md); --overwrite: the rounds write the same file.
    local directory=$model
    [[ $1 == int8 ]] && directory=$work/model-int8
    local options=(--model "$directory" --input "$work/sources.txt" --batch-size 64 --threads "$threads" --beam "$2" --output "$3"
                   --overwrite --no-split --no-repetition-guard)
    local start end
    start=$(date +%s.%N)
    "$nmt" translate "${options[@]}"
    end=$(date +%s.%N)
    awk -v n="$sentences" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", n / (e - s) }'
}

# One timed CTranslate2 run: its own figure, translate_batch alone. The converted model is kept
# for the other layout.
run_ct2() {  # compute-type beam output
    "$python" ../shared/bench/ct2_translate_model.py "$model" "$work/sources.txt" "$3" \
        --beam "$2" --batch 64 --threads "$threads" --compute "$1" --keep "$work/ct2-model" 2>/dev/null \
        | sed -n 's/^ctranslate2 .*: \([0-9.]*\) sent\/s.*/\1/p'
}

# The same with one batch per thread.
run_ct2_batches() {  # compute-type beam output
    "$python" scripts/ct2-batches-on-threads.py "$model" "$work/ct2-model" "$work/sources.txt" "$3" \
        --beam "$2" --threads "$threads" --compute "$1" 2>/dev/null \
        | sed -n 's/^ctranslate2 .*: \([0-9.]*\) sent\/s.*/\1/p'
}

# Lines two files share, position by position.
identical() { paste -d '\t' "$1" "$2" | awk -F '\t' '$1 == $2 { n++ } END { print n + 0 }'; }

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# nmt's latest figure over the peer's latest (PEER: ct2 or ct2b), to two decimals.
latest_ratio() {  # peer type beam
    awk -v a="$(echo "${speed[nmt.$2.$3]}" | awk '{ print $NF }')" -v b="$(echo "${speed[$1.$2.$3]}" | awk '{ print $NF }')" \
        'BEGIN { printf "%.2f", a / b }'
}

declare -A speed ratios   # keyed by peer.type.beam (ratios: nmt over that peer)
for round in $(seq "$rounds"); do
    for beam in 4 1; do
        line="round $round, beam $beam:"
        for type in float32 int8; do
            c=$(run_ct2 $type $beam "$work/ct2.$type.$beam.txt")
            speed[ct2.$type.$beam]+=" $c"
            line+=" CTranslate2 $type $c;"
            c=$(run_ct2_batches $type $beam "$work/ct2-batches.$type.$beam.txt")
            speed[ct2b.$type.$beam]+=" $c"
            line+=" (batch a thread $c);"
        done
        for type in float32 int8; do
            n=$(run_nmt $type $beam "$work/nmt.$type.$beam.txt")
            speed[nmt.$type.$beam]+=" $n"
            for peer in ct2 ct2b; do ratios[$peer.$type.$beam]+=" $(latest_ratio $peer $type $beam)"; done
            line+=" nmt $type $n ($(latest_ratio ct2 $type $beam)×);"
        done
        echo "$line sentences/s"
    done
done

# The medians against one peer, a row per search.
table() {  # peer
    printf '%-8s %14s %14s %12s %12s %14s %14s\n' search "CT2 float32" "nmt float32" "ratio" "CT2 int8" "nmt int8" "ratio"
    for beam in 4 1; do
        local row=("$([[ $beam == 1 ]] && echo greedy || echo "beam $beam")")
        for type in float32 int8; do
            row+=("$(echo "${speed[$1.$type.$beam]}" | median)" "$(echo "${speed[nmt.$type.$beam]}" | median)"
                  "$(echo "${ratios[$1.$type.$beam]}" | median)×")
        done
        printf '%-8s %14s %14s %12s %12s %14s %14s\n' "${row[@]}"
    done
}

echo
echo "medians over $rounds rounds, sentences/s (nmt end to end; CTranslate2 translate_batch alone):"
table ct2
echo
echo "against CTranslate2 with one batch a thread (inter_threads $threads, intra_threads 1), medians:"
table ct2b

echo
echo "identical outputs (of $sentences), last round:"
for beam in 4 1; do
    name=$([[ $beam == 1 ]] && echo greedy || echo "beam $beam")
    line="$name: nmt float32 = CT2 float32 $(identical "$work/nmt.float32.$beam.txt" "$work/ct2.float32.$beam.txt");"
    line+=" CT2 int8 = CT2 float32 $(identical "$work/ct2.int8.$beam.txt" "$work/ct2.float32.$beam.txt")"
    line+="; nmt int8 = CT2 int8 $(identical "$work/nmt.int8.$beam.txt" "$work/ct2.int8.$beam.txt")"
    line+="; nmt int8 = nmt float32 $(identical "$work/nmt.int8.$beam.txt" "$work/nmt.float32.$beam.txt")"
    echo "$line"
done
