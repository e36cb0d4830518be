#!/bin/sh
# Decoding speed of an OPUS-MT folder with untied embeddings (Tests/Fixtures/opus-mt-tiny-separate)
# against the same network with one tied matrix (its decoder embedding as model.shared.weight),
# measured in one run, alternating: generated tokens per second of `nmt translate --threads 1`,
# greedy and beam 4, on the first 1,000 Tatoeba dev sources. Rough: the tied copy is untrained, so
# its outputs differ in length. Usage: scripts/opus-mt-decode-speed.sh [ROUNDS] (needs /root/REF's
# Python for the tied copy and ../shared/corpora).
set -e
cd "$(dirname "$0")/.."
rounds=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/root/REF/bin/python - "$work/tied" <<'PY'
import json, os, shutil, sys
from safetensors.torch import load_file, save_file
source, target = "Tests/Fixtures/opus-mt-tiny-separate", sys.argv[1]
shutil.copytree(source, target, ignore=shutil.ignore_patterns("pytorch"))
tensors = load_file(source + "/model.safetensors")
tensors["model.shared.weight"] = tensors.pop("model.decoder.embed_tokens.weight")
del tensors["model.encoder.embed_tokens.weight"], tensors["lm_head.weight"]
save_file(tensors, target + "/model.safetensors", metadata={"format": "pt"})
for name, changes in [("config.json", {"share_encoder_decoder_embeddings": True, "tie_word_embeddings": True}),
                      ("tokenizer_config.json", {"separate_vocabs": False})]:
    data = json.load(open(f"{target}/{name}")); data.update(changes); json.dump(data, open(f"{target}/{name}", "w"), indent=2)
shutil.move(target + "/target_vocab.json", target + "/vocab.json")
PY
cut -f1 ../shared/corpora/tatoeba-eng-fra/dev.tsv | head -1000 > "$work/dev.en"
echo "round model beam tokens tokens/s"
for round in $(seq "$rounds"); do
  for model in Tests/Fixtures/opus-mt-tiny-separate "$work/tied"; do
    for beam in 1 4; do
      start=$(date +%s.%N)
      .build/release/nmt translate --model "$model" --beam $beam --format json --threads 1 --input "$work/dev.en" > "$work/out.json"
      end=$(date +%s.%N)
      tokens=$(python3 -c "import json,sys; print(sum(len(json.loads(l)['translations'][0]['ids']) for l in open(sys.argv[1])))" "$work/out.json")
      echo "$round $(basename "$model") $beam $tokens $(echo "$tokens / ($end - $start)" | bc -l | cut -c1-8)"
    done
  done
done
