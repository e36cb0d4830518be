"""Writes Tests/Fixtures/marian-cases/FOLDER.json for the two OPUS-MT fixtures: what transformers'
MarianTokenizer gives for random strings (special tokens, language tokens and odd spacing mixed
in) as source and as target, and for random id sequences decoded with and without special tokens.

Usage: python make_marian_cases.py  (from Tests/Fixtures; needs transformers and sentencepiece)
"""
import json, os, random

from transformers import MarianTokenizer

PARTS = ["</s>", "<unk>", "<pad>", ">>fra<<", ">>de<<", ">>", "<<", "<", ">", " ", "  ", "\t", "\n", "\u00a0", "\u2581",
         "I am a student.", "Je suis étudiant.", "Tom", "l'école", "ﬁ", "Ｆｕｌｌ", "e\u0301", "日本", "🙂", "\u200b", "...",
         "<s>", "</S>", "<unk", "pad>"]


def random_text(rng):
    pieces = []
    for _ in range(rng.randint(0, 8)):
        roll = rng.random()
        if roll < 0.5:
            pieces.append(rng.choice(PARTS))
        elif roll < 0.8:
            pieces.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyzéèàç'-,.?! ") for _ in range(rng.randint(1, 12))))
        else:
            pieces.append(chr(rng.choice([rng.randint(0x20, 0x2FF), rng.randint(0x370, 0x52F), rng.randint(0x3040, 0x30FF),
                                          rng.randint(0x4E00, 0x4FFF), rng.randint(0x1F300, 0x1F6FF)])))
    text = "".join(pieces)
    return (">>" + rng.choice(["fr", "de", "es_MX"]) + "<< " + text) if rng.random() < 0.1 else text


os.makedirs("marian-cases", exist_ok=True)
for folder in ["opus-mt-tiny", "opus-mt-tiny-separate"]:
    rng = random.Random(folder)
    tokenizer = MarianTokenizer.from_pretrained(folder)
    size = len(tokenizer.target_encoder if tokenizer.separate_vocabs else tokenizer.encoder)
    encode, decode = [], []
    for _ in range(600):
        text = random_text(rng)
        encode.append({"text": text, "source": tokenizer(text).input_ids, "target": tokenizer(text_target=text).input_ids})
    for _ in range(400):
        ids = [rng.randrange(size) for _ in range(rng.randint(0, 15))]
        if rng.random() < 0.5:
            ids = [tokenizer.pad_token_id] + ids + [tokenizer.eos_token_id]
        decode.append({"ids": ids, "skip": tokenizer.decode(ids, skip_special_tokens=True),
                       "keep": tokenizer.decode(ids, skip_special_tokens=False)})
    with open(f"marian-cases/{folder}.json", "w") as f:
        json.dump({"encode": encode, "decode": decode}, f, ensure_ascii=False, indent=0)
