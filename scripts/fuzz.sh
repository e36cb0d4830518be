#!/bin/sh
# Fuzzes nmt's parsers of untrusted files with libFuzzer: the safetensors reader, the
# tokenizer.json reader, the corpus reader, the SentencePiece model reader and the
# pytorch_model.bin reader (zip + restricted unpickler), each for SECONDS (default 240), one after
# another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]        TARGET: safetensors, tokenizer, corpus, sentencepiece,
#                                              pytorch (default: all)
#
# The targets are built with swiftc directly (-sanitize=fuzzer,address) from the module sources
# and the entry files in Tests/Fuzz. Seeds come from the repository's own files
# (vocab/walkthrough.json, Tests/Fixtures, corpora/*.tsv); Tests/Fuzz/*.dict list the formats' keywords. Work goes to .build/fuzz (FUZZ_DIR): the growing corpus of each
# target, crash inputs (crash-…), and each run's log with libFuzzer's final statistics, of which
# this script prints the executions and executions per second. Exit status 1 if a target crashed.
set -eu

seconds=${1:-240}
[ $# -gt 0 ] && shift
targets=${*:-safetensors tokenizer corpus sentencepiece pytorch}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_DIR:-$root/.build/fuzz}
build=$work/build
mkdir -p "$build"

flags="-parse-as-library -O -g -sanitize=fuzzer,address -swift-version 5"
blas_cflags=$(pkg-config --cflags openblas 2>/dev/null || echo "-I/usr/include/x86_64-linux-gnu/openblas-pthread")
blas_libs=$(pkg-config --libs openblas 2>/dev/null || echo "-lopenblas")

# A module of the package as an instrumented static library, rebuilt when a source is newer.
module() {
    name=$1; shift
    library=$build/lib$name.a
    if [ ! -f "$library" ] || [ -n "$(find "$@" -newer "$library" 2>/dev/null | head -n 1)" ]; then
        echo "building $name" >&2
        # shellcheck disable=SC2086
        nice -n 10 swiftc $flags -module-name "$name" -emit-module -emit-module-path "$build/$name.swiftmodule" \
            -emit-library -static -o "$library" -I "$root/Sources/CBLAS" -I "$root/Sources/CKernels/include" -Xcc $blas_cflags \
            -I "$build" "$@" 2>&1 | quiet
    fi
}

# The C kernels Tensor calls (Sources/CKernels/*.c), as object files for the fuzzers' link line.
ckernels() {
    objects=""
    for file in "$root"/Sources/CKernels/*.c; do
        [ -f "$file" ] || continue
        object="$build/CKernels-$(basename "$file" .c).o"
        nice -n 10 clang -O2 -g -fsanitize=address -I "$root/Sources/CKernels/include" -c "$file" -o "$object"
        objects="$objects $object"
    done
}

# A fuzzer executable: the entry file plus any extra sources, linked with the given modules.
fuzzer() {
    name=$1; shift
    echo "building fuzz-$name" >&2
    rm -f "$build/fuzz-$name"
    # shellcheck disable=SC2086
    nice -n 10 swiftc $flags -module-name "Fuzz_$name" -I "$build" -L "$build" -I "$root/Sources/CBLAS" \
        -I "$root/Sources/CKernels/include" -Xcc $blas_cflags "$@" $blas_libs -o "$build/fuzz-$name" 2>&1 | quiet
    [ -x "$build/fuzz-$name" ]
}

# The compiler's output without gold's hundreds of "Cannot export local symbol '__asan_…'".
quiet() { grep -v "Cannot export local symbol" >&2 || true; }

# Seed files for a target's corpus directory (copied, so the fuzzer may add beside them).
seed() {
    directory=$work/corpus-$1; shift
    mkdir -p "$directory"
    for file in "$@"; do [ -f "$file" ] && cp "$file" "$directory/seed-$(basename "$(dirname "$file")")-$(basename "$file")"; done
    true
}

# A seed that is one byte (the target's mode, in octal) followed by FILE, or by standard input.
prefixed_seed() {
    directory=$work/corpus-$1
    mkdir -p "$directory"
    { printf "\\$2"; if [ -n "${4:-}" ]; then cat "$4"; else cat; fi; } >"$directory/seed-$3"
}

# FILE DATA_BYTES HEADER: a safetensors file of that header (under 64 KiB) and DATA_BYTES bytes
# of data taken from the end of a fixture (real floats).
small_safetensors() {
    length=${#3}
    printf "\\$(printf %03o $((length % 256)))\\$(printf %03o $((length / 256)))\\000\\000\\000\\000\\000\\000" >"$1"
    printf '%s' "$3" >>"$1"
    tail -c "$2" "$root/Tests/Fixtures/marian-tiny/model.safetensors" >>"$1"
}

status=0
for target in $targets; do
    case $target in
    safetensors)
        ckernels
        module TextIO "$root"/Sources/TextIO/*.swift
        module Tensor $(find "$root/Sources/Tensor" -name '*.swift')
        # shellcheck disable=SC2086
        fuzzer safetensors "$root/Tests/Fuzz/SafeTensorsFuzz.swift" -lTensor -lTextIO $objects
        seed safetensors "$root"/Tests/Fixtures/marian-tiny/*.safetensors
        # Two small files as well, every dtype among them: the 200 KB fixtures run 20 times slower.
        small_safetensors "$work/corpus-safetensors/seed-small-1" 22 \
            '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]}}'
        small_safetensors "$work/corpus-safetensors/seed-small-2" 22 \
            '{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"BF16","shape":[],"data_offsets":[16,18]},"y":{"dtype":"F64","shape":[1,0,3],"data_offsets":[18,18]},"z":{"dtype":"I32","shape":[1],"data_offsets":[18,22]}}'
        options="-dict=$root/Tests/Fuzz/safetensors.dict"
        max_len=16384 ;;
    tokenizer)
        module TextIO "$root"/Sources/TextIO/*.swift
        module Tokenizers $(find "$root/Sources/Tokenizers" -name '*.swift')
        fuzzer tokenizer "$root/Tests/Fuzz/TokenizerJSONFuzz.swift" -lTokenizers -lTextIO
        # The small learned vocabulary (the 8k ones take 20 ms a run) and two plain JSON files.
        seed tokenizer "$root"/vocab/walkthrough.json "$root"/Tests/Fixtures/marian-tiny/config.json \
            "$root"/Tests/Fixtures/marian-tiny/generation_config.json
        options="-dict=$root/Tests/Fuzz/tokenizer.dict"
        max_len=16384 ;;
    corpus)
        module TextIO "$root"/Sources/TextIO/*.swift
        fuzzer corpus "$root/Tests/Fuzz/CorpusFuzz.swift" "$root/Sources/NMT/Training/Corpus.swift" \
            "$root/Sources/NMT/Training/CorpusProblem.swift" -lTextIO
        seed corpus "$root"/corpora/*.tsv "$root"/Tests/Fixtures/sacrebleu/*.tsv "$root"/Tests/Fixtures/sacrebleu/*.hyp
        options=""
        max_len=16384 ;;
    sentencepiece)
        module TextIO "$root"/Sources/TextIO/*.swift
        module Tokenizers $(find "$root/Sources/Tokenizers" -name '*.swift')
        fuzzer sentencepiece "$root/Tests/Fuzz/SentencePieceFuzz.swift" -lTokenizers -lTextIO
        # The small models (the others carry a 240 KB charsmap); uni-user-rules has a small one.
        seed sentencepiece "$root"/Tests/Fixtures/sentencepiece/models/bpe-identity-unused.model \
            "$root"/Tests/Fixtures/sentencepiece/models/uni-identity-suffix-no-extra-ws.model \
            "$root"/Tests/Fixtures/sentencepiece/models/uni-user-rules.model
        options="-dict=$root/Tests/Fuzz/sentencepiece.dict"
        max_len=16384 ;;
    pytorch)
        ckernels
        module TextIO "$root"/Sources/TextIO/*.swift
        module Tensor $(find "$root/Sources/Tensor" -name '*.swift')
        # shellcheck disable=SC2086
        fuzzer pytorch "$root/Tests/Fuzz/PyTorchFuzz.swift" -lTensor -lTextIO $objects
        # Mode 0: whole files; mode 1: pickles alone (PyTorchFuzz wraps them in an archive).
        for file in "$root"/Tests/Fixtures/pytorch/*.bin; do prefixed_seed pytorch 000 "file-$(basename "$file")" "$file"; done
        unzip -p "$root/Tests/Fixtures/pytorch/checkpoint.bin" checkpoint/data.pkl | prefixed_seed pytorch 001 pickle-checkpoint
        unzip -p "$root/Tests/Fixtures/opus-mt-tiny/pytorch/pytorch_model.bin" pytorch_model/data.pkl | prefixed_seed pytorch 001 pickle-opus
        options="-dict=$root/Tests/Fuzz/pickle.dict"
        max_len=16384 ;;
    *) echo "unknown target $target (safetensors, tokenizer, corpus, sentencepiece, pytorch)" >&2; exit 2 ;;
    esac
    log=$work/$target.log
    echo "fuzzing $target for $seconds s (log: $log)" >&2
    # shellcheck disable=SC2086
    # A 16 MB quarantine instead of ASan's 256 MB: with the default, the corpus target slowed from
    # 2,000 to 150 runs a second within minutes as freed memory piled up.
    if ! ASAN_OPTIONS="quarantine_size_mb=16${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
        LSAN_OPTIONS="suppressions=$root/Tests/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" nice -n 10 "$build/fuzz-$target" "$work/corpus-$target" $options -max_total_time="$seconds" -max_len="$max_len" \
        -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$work/$target-" >"$log" 2>&1; then
        status=1
        echo "$target: CRASH, see $log and $work/$target-crash-*" >&2
    fi
    rm -rf /dev/shm/nmt-fuzz-corpus-* 2>/dev/null || true
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    coverage=$(sed -n 's/.*DONE *cov: \([0-9]*\).*corp: \([0-9]*\).*/\1 coverage points, \2 inputs kept/p' "$log")
    echo "$target: ${executions:-?} executions in $seconds s, ${rate:-?}/s, ${coverage:-?}"
done
exit $status
