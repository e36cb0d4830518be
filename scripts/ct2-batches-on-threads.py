"""Times CTranslate2 on a converted model with one thread per batch (inter_threads = THREADS,
intra_threads = 1) — the layout nmt uses for a file — beside ../shared/bench/ct2_translate_model.py,
which times one batch at a time split across THREADS threads (inter_threads = 1). Same inputs and
settings otherwise: the model's tokenizer.json pieces plus EOS, batches of 64, max length 100,
length penalty 1. Prints sentences/s (translate_batch alone) and writes the translations.
Usage: ct2-batches-on-threads.py MODEL_DIR CT2_DIR SOURCE.txt OUT.txt [--beam 4 --threads 2 --compute int8]
CT2_DIR: the model converted by ct2_translate_model.py --keep."""
import argparse, json, os, time
import ctranslate2
from tokenizers import Tokenizer

parser = argparse.ArgumentParser()
for name in ("model", "converted", "source", "out"):
    parser.add_argument(name)
parser.add_argument("--beam", type=int, default=4)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--compute", default="int8")
args = parser.parse_args()

tokenizer = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
config = json.load(open(os.path.join(args.model, "config.json")))
vocabulary = tokenizer.get_vocab()
eos = next(piece for piece, id in vocabulary.items() if id == config["eos_token_id"])
lines = open(args.source, encoding="utf-8").read().splitlines()
pieces = [tokenizer.encode(line, add_special_tokens=False).tokens + [eos] for line in lines]

translator = ctranslate2.Translator(args.converted, device="cpu", compute_type=args.compute,
                                    inter_threads=args.threads, intra_threads=1)
translator.translate_batch(pieces[:8], beam_size=args.beam)  # warm-up
start = time.perf_counter()
results = translator.translate_batch(pieces, max_batch_size=64, beam_size=args.beam, max_decoding_length=100,
                                     length_penalty=1.0)
seconds = time.perf_counter() - start
with open(args.out, "w", encoding="utf-8") as out:
    for result in results:
        out.write(tokenizer.decode([vocabulary[p] for p in result.hypotheses[0] if p in vocabulary]) + "\n")
print(f"ctranslate2 {args.compute} beam {args.beam}, {args.threads} batches at once: {len(lines) / seconds:.1f} sent/s")
