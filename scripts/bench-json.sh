#!/usr/bin/env bash
# TextIO's JSON.parse against JSONSerialization and JSONDecoder, three rounds of medians of 21:
# scripts/bench-json.sh [TOKENIZER.json] [MODEL.safetensors]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp scripts/bench-json.swift "$work/main.swift"  # top-level code lives in main.swift
swiftc -O "$work/main.swift" Sources/TextIO/*.swift -o "$work/bench-json" 2>&1 | grep -v warning || true
"$work/bench-json" "${1:-vocab/tatoeba-en-fr-8k.json}" "${2:-models/en-fr/model.safetensors}"
