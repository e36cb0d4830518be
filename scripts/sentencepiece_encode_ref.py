#!/usr/bin/env python3
"""Encode throughput of the `sentencepiece` package (C++, one thread) on a TSV corpus: the peer of
`nmt bench tokenize --tokenizer MODEL.spm`, which runs it in the same invocation.

    sentencepiece_encode_ref.py MODEL.spm CORPUS.tsv [REPEATS]

Every non-empty field is one `encode` call (ids), as nmt's side does; the median of REPEATS
(default 5) timed passes is reported."""
import statistics, sys, time

import sentencepiece as spm

model = spm.SentencePieceProcessor(model_file=sys.argv[1], num_threads=1)
lines = [field for line in open(sys.argv[2], encoding="utf-8") for field in line.rstrip("\n").split("\t") if field]
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
model.encode(lines[0])
times, tokens = [], 0
for _ in range(repeats):
    start = time.perf_counter()
    tokens = 0
    for line in lines:
        tokens += len(model.encode(line))
    times.append(time.perf_counter() - start)
seconds = statistics.median(times)
print(f"sentencepiece encode (one call per line): {len(lines) / seconds:.0f} lines/s, {tokens / seconds:.0f} tokens/s, "
      f"{sum(map(len, lines)) / seconds / 1e6:.1f} MB/s")
