#!/usr/bin/env bash
# Training throughput on the benchmark shape: 1 process × 2 threads against 2 MPI ranks × 1 thread
# (the same global batch of 128 pairs shared between them), ROUNDS rounds back to back, JSON lines.
# Needs a build with the MPI trait: swift build -c release --traits MPI
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
nmt=.build/release/nmt
for round in $(seq "$rounds"); do
    echo "# round $round $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
    "$nmt" bench train --threads 2 --repeats 5 --format json
    mpirun --allow-run-as-root --oversubscribe -np 2 "$nmt" bench train --threads 1 --repeats 5 --format json
done
