#!/usr/bin/env python3
"""SentencePiece parity cases: trains SentencePiece models of several kinds, builds test strings,
and writes what the `sentencepiece` package gives for each, for nmt's SentencePieceParityTests
to compare against (ids, pieces and decoded text, 0 differences allowed).

    scripts/sentencepiece-parity.py OUT [--strings N]     # the full run, models trained on Tatoeba
    scripts/sentencepiece-parity.py OUT --small           # the small set committed in Tests/Fixtures

then
    NMT_SPM_PARITY=OUT swift test -c release --filter SentencePieceParityTests

The full run trains on ../shared/corpora (Tatoeba English and French) and takes its corpus strings
from there: write OUT under .build or /tmp, never into the repository. --small trains on synthetic
text made here from a seeded random generator (no corpus), so its models may be committed.

OUT/models/NAME.model    the models (also those edited after training: UNUSED pieces, no charsmap)
OUT/cases.txt            one test string a line, as hex of its bytes (some are malformed UTF-8)
OUT/expected/NAME.tsv    a line per case: ids; the pieces of the unknown ones (hex, comma-separated: the
                         others are the model's pieces of their ids); decode(ids) (hex)
"""
import argparse, os, random, sys, unicodedata

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TATOEBA = os.path.join(ROOT, "..", "shared", "corpora", "tatoeba-eng-fra")
MULTI30K = os.path.join(ROOT, "..", "shared", "corpora", "multi30k")

# Each model: name, trainer options; after training, "unused" marks that share of the learned pieces
# UNUSED, "no_charsmap" empties the precompiled charsmap (the rule name stays), "normalizer_edits"
# sets normalizer_spec fields the trainer refuses (escape_whitespaces false for unigram); "rules"
# normalizes with USER_RULES (a normalization_rule_tsv, compiled into a small charsmap).
FULL_MODELS = [
    ("uni-nmt_nfkc-1k", dict(vocab_size=1000)),
    ("uni-nmt_nfkc-8k", dict(vocab_size=8000)),
    ("uni-nfkc-4k", dict(vocab_size=4000, normalization_rule_name="nfkc")),
    ("uni-identity-2k", dict(vocab_size=2000, normalization_rule_name="identity")),
    ("uni-nmt_nfkc_cf-4k", dict(vocab_size=4000, normalization_rule_name="nmt_nfkc_cf")),
    ("uni-nfkc_cf-2k-bytes", dict(vocab_size=2000, normalization_rule_name="nfkc_cf", byte_fallback=True)),
    ("uni-nmt_nfkc-16k-bytes", dict(vocab_size=16000, byte_fallback=True, character_coverage=0.995)),
    ("uni-user-defined-3k", dict(vocab_size=3000, user_defined_symbols=["<sep>", "@@", "ab", "▁the", "é", "..."],
                                 control_symbols=["<ctl>"])),
    ("uni-no-prefix-no-extra-ws-2k", dict(vocab_size=2000, add_dummy_prefix=False, remove_extra_whitespaces=False)),
    ("uni-no-extra-ws-2k", dict(vocab_size=2000, remove_extra_whitespaces=False)),
    ("uni-suffix-ws-2k", dict(vocab_size=2000, treat_whitespace_as_suffix=True)),
    ("uni-no-escape-ws-2k", dict(vocab_size=2000, normalizer_edits=dict(escape_whitespaces=False))),
    ("uni-unused-4k", dict(vocab_size=4000, unused=0.15)),
    ("uni-no-charsmap-2k", dict(vocab_size=2000, no_charsmap=True)),
    ("uni-user-rules-2k", dict(vocab_size=2000, rules=True)),
    ("bpe-nmt_nfkc-4k", dict(vocab_size=4000, model_type="bpe")),
    ("bpe-identity-1k-bytes", dict(vocab_size=1000, model_type="bpe", normalization_rule_name="identity", byte_fallback=True)),
    ("bpe-nfkc-8k-user", dict(vocab_size=8000, model_type="bpe", normalization_rule_name="nfkc",
                              user_defined_symbols=["<sep>", "@@", "th"], split_digits=True)),
    ("bpe-unused-3k", dict(vocab_size=3000, model_type="bpe", unused=0.15)),
    ("bpe-nmt_nfkc_cf-2k-suffix", dict(vocab_size=2000, model_type="bpe", normalization_rule_name="nmt_nfkc_cf",
                                       treat_whitespace_as_suffix=True)),
]

SMALL_MODELS = [
    ("uni-nfkc-bytes", dict(vocab_size=700, normalization_rule_name="nfkc", byte_fallback=True)),
    ("uni-nmt_nfkc_cf-user-unused", dict(vocab_size=400, normalization_rule_name="nmt_nfkc_cf",
                                         user_defined_symbols=["<sep>", "@@", "ka", "▁to"], unused=0.15)),
    ("uni-identity-suffix-no-extra-ws", dict(vocab_size=300, normalization_rule_name="identity", add_dummy_prefix=False,
                                             remove_extra_whitespaces=False, treat_whitespace_as_suffix=True)),
    ("uni-user-rules", dict(vocab_size=300, rules=True)),
    ("bpe-identity-unused", dict(vocab_size=300, model_type="bpe", normalization_rule_name="identity", unused=0.15)),
    ("bpe-nfkc_cf-bytes-user", dict(vocab_size=700, model_type="bpe", normalization_rule_name="nfkc_cf", byte_fallback=True,
                                    user_defined_symbols=["<sep>", "ba"])),
]


# Source code points → replacement, as normalization_rule_tsv writes them: a multi-character key
# (longest match), a decomposition, a ligature, spaces.
USER_RULES = [("41", "61"), ("61 62 63", "78"), ("FB01", "66 69"), ("2026", "2E 2E 2E"), ("3000", "20"),
              ("E9", "65 301"), ("9", "20"), ("4B 41", "20 4B")]


def read_lines(path, column=None):
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            for field in (fields if column is None else fields[column:column + 1]):
                if field:
                    yield field


# ---- Strings --------------------------------------------------------------------------------

# Code point ranges random strings draw from: scripts, marks, compatibility forms, spaces.
RANGES = [
    (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0x00, 0x1F), (0x7F, 0x9F), (0xA0, 0xFF), (0x100, 0x24F),
    (0x250, 0x2FF), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF), (0x600, 0x6FF),
    (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x2070, 0x209F),
    (0x20A0, 0x20CF), (0x2100, 0x218F), (0x2190, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x259F), (0x3000, 0x303F),
    (0x3040, 0x30FF), (0x3130, 0x318F), (0x3200, 0x33FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0xD7B0, 0xD7FF),
    (0xE000, 0xE0FF), (0xF900, 0xFAFF), (0xFB00, 0xFB4F), (0xFE00, 0xFE6F), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF),
    (0x1D400, 0x1D7FF), (0x1F300, 0x1F6FF), (0x1F900, 0x1F9FF), (0x10000, 0x10FFFF),
]
SPECIALS = ["\u2581", "\ufffd", "\u00a0", "\u3000", "\u200b", "\u200d", "\ufeff", "\t", "\n", "\r", " ", "  ",
            "\u0301", "\u0308", "\u1680", "\u2028", "<unk>", "<s>", "</s>", "<pad>", "<0x41>", "<sep>", "@@", "...",
            "\u00e9", "e\u0301", "\ufb01", "\u2460", "\u339f", "\uff21", "\u212b", "A\u030a", "\u1e9b\u0323"]


def random_character(rng):
    low, high = rng.choice(RANGES)
    while True:
        value = rng.randint(low, high)
        if not 0xD800 <= value <= 0xDFFF:
            return chr(value)


def random_string(rng):
    length = rng.choice([1, 2, 3, 5, 8, 13, 21, 40, 80])
    parts = []
    for _ in range(length):
        roll = rng.random()
        parts.append(rng.choice(SPECIALS) if roll < 0.15 else " " if roll < 0.3 else random_character(rng))
    return "".join(parts)


def mutate(line, rng):
    """A corpus line with Unicode trouble mixed in: marks, compatibility forms, odd spaces, case."""
    kind = rng.randrange(7)
    if kind == 0:
        return "".join(c + rng.choice("\u0300\u0301\u0302\u0308\u0327\u030a") if c.isalpha() and rng.random() < 0.3 else c
                       for c in line)
    if kind == 1:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and rng.random() < 0.5 else c for c in line)
    if kind == 2:
        return "".join(rng.choice(["\u00a0", "\u3000", "\t", "  ", "\u2009", "\u200b"]) if c == " " else c for c in line)
    if kind == 3:
        return unicodedata.normalize(rng.choice(["NFD", "NFKD", "NFC"]), line)
    if kind == 4:
        return line.upper() if rng.random() < 0.5 else line.swapcase()
    if kind == 5:
        position = rng.randrange(len(line) + 1)
        return line[:position] + "".join(random_character(rng) for _ in range(rng.randint(1, 4))) + line[position:]
    return "  " + line.replace(" ", "   ") + " \u2581 "


def malformed(rng):
    """Bytes that are not UTF-8: stray continuation bytes, cut sequences, overlongs, surrogates."""
    pieces = [b"\x80", b"\xbf", b"\xc3", b"\xe2\x96", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80",
              b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff", b"\xe2\x96\x81", b" ", b"ab", "é".encode()]
    return b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))


def edge_cases(repeat):
    cases = ["", " ", "  ", "\t", "\n", "\u2581", "\u2581\u2581", " \u2581 ", "a", " a", "a ", "  a  b  ", "\u00a0a\u00a0",
             "\ufffd", "x" * repeat, "ab" * (3 * repeat), "é" * (repeat // 2), " ".join(["word"] * (2 * repeat)), "<unk>", "<s>", "</s>", "<pad>",
             "<0x41>", "<sep>x<sep>", "@@@@", "a<sep>b", "\u200b", "\ufeff\ufeffa", "\u0301", "a\u0301\u0301",
             "\U0001F642\U0001F44D", "\u65e5\u672c\u8a9e", "\ud55c\uad6d\uc5b4", "\u1100\u1161\u11a8", "\uff76\uff9e",
             "\ufb01ne \ufb02", "\u2460\u2461", "\u00bd", "x\x00y", "\x00", "\x7f\x80\x9f", "I am a student."]
    return [c.encode("utf-8") for c in cases]


def synthetic_sentence(rng):
    """A sentence of made-up words: syllables with some accented and non-Latin letters."""
    onsets = ["", "b", "k", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "ch", "tr", "pl", "é", "ñ", "ж", "カ"]
    vowels = ["a", "e", "i", "o", "u", "é", "è", "ô", "ü", "ai", "ou", "я", "ア"]
    words = []
    for _ in range(rng.randint(2, 12)):
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(1, 4)))
        words.append(word.capitalize() if rng.random() < 0.2 else word)
    return " ".join(words) + rng.choice([".", "?", "!", "", " ...", ","])


def build_strings(rng, count, corpus_lines, repeat):
    strings = edge_cases(repeat)
    seen = set(strings)

    def add(value):
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        if data not in seen:
            seen.add(data)
            strings.append(data)

    rng.shuffle(corpus_lines)
    plain = corpus_lines[:count * 3 // 10]
    for line in plain:
        add(line)
    for line in corpus_lines[len(plain):len(plain) + count * 2 // 10]:
        add(mutate(line, rng))
    while len(strings) < count * 95 // 100:
        add(random_string(rng))
    while len(strings) < count:
        add(malformed(rng))
    return strings


# ---- Models ---------------------------------------------------------------------------------

def train(name, options, text_file, out):
    options = dict(options)
    unused = options.pop("unused", 0)
    no_charsmap = options.pop("no_charsmap", False)
    edits = options.pop("normalizer_edits", {})
    if options.pop("rules", False):
        options["normalization_rule_tsv"] = os.path.join(out, "user-rules.tsv")
        with open(options["normalization_rule_tsv"], "w") as f:
            f.write("".join(f"{source}\t{target}\n" for source, target in USER_RULES))
    prefix = os.path.join(out, "models", name)
    if os.path.exists(prefix + ".model"):  # from an earlier, interrupted run
        return prefix + ".model"
    spm.SentencePieceTrainer.train(input=text_file, model_prefix=prefix, num_threads=1, minloglevel=2,
                                   input_sentence_size=200000, shuffle_input_sentence=True, seed_sentencepiece_size=100000,
                                   **options)
    os.remove(prefix + ".vocab")
    if unused or no_charsmap or edits:
        proto = model_pb2.ModelProto()
        with open(prefix + ".model", "rb") as f:
            proto.ParseFromString(f.read())
        rng = random.Random(name)
        for piece in proto.pieces:
            if piece.type == model_pb2.ModelProto.SentencePiece.NORMAL and len(piece.piece) > 1 and rng.random() < unused:
                piece.type = model_pb2.ModelProto.SentencePiece.UNUSED
        if no_charsmap:
            proto.normalizer_spec.precompiled_charsmap = b""
        for field, value in edits.items():
            setattr(proto.normalizer_spec, field, value)
        with open(prefix + ".model", "wb") as f:
            f.write(proto.SerializeToString())
    return prefix + ".model"


def write_expected(model_path, strings, path):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    with open(path, "w") as out:
        for data in strings:
            ids = sp.encode(data)
            pieces = sp.encode(data, out_type=bytes)
            unknown = [piece.hex() for piece, id in zip(pieces, ids) if sp.IsUnknown(id)]
            decoded = sp.decode(ids).encode("utf-8")
            out.write(" ".join(map(str, ids)) + "\t" + ",".join(unknown) + "\t" + decoded.hex() + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--small", action="store_true", help="synthetic training text, few strings (the committed set)")
    parser.add_argument("--strings", type=int, help="number of test strings (default 110000, or 1000 with --small)")
    args = parser.parse_args()
    rng = random.Random(20261203)
    os.makedirs(os.path.join(args.out, "models"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "expected"), exist_ok=True)
    text_file = os.path.join(args.out, "training-text.txt")
    if args.small:
        models, count = SMALL_MODELS, args.strings or 1000
        sentences = [synthetic_sentence(rng) for _ in range(20000)]
        corpus_lines = sentences[:3000] + list(read_lines(os.path.join(ROOT, "corpora", "walkthrough.tsv")))
    else:
        models, count = FULL_MODELS, args.strings or 110000
        sentences = list(read_lines(os.path.join(TATOEBA, "train.tsv")))
        corpus_lines = [line for name in ("dev.tsv", "test.tsv") for line in read_lines(os.path.join(TATOEBA, name))]
        corpus_lines += list(read_lines(os.path.join(MULTI30K, "val.en"))) + list(read_lines(os.path.join(MULTI30K, "val.fr")))
        corpus_lines += rng.sample(sentences, 60000)
    with open(text_file, "w", encoding="utf-8") as f:
        f.write("\n".join(sentences) + "\n")
    strings = build_strings(rng, count, corpus_lines, 100 if args.small else 1000)
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("".join(data.hex() + "\n" for data in strings))
    for name, options in models:
        print(f"training {name}", file=sys.stderr)
        path = train(name, options, text_file, args.out)
        write_expected(path, strings, os.path.join(args.out, "expected", name + ".tsv"))
    if not args.small:  # the OPUS-MT fixtures' models too (trained by sentencepiece 0.2 on Tatoeba)
        for folder in ("opus-mt-tiny", "opus-mt-tiny-separate"):
            for side in ("source", "target"):
                name = f"fixture-{folder}-{side}"
                path = os.path.join(args.out, "models", name + ".model")
                with open(os.path.join(ROOT, "Tests", "Fixtures", folder, side + ".spm"), "rb") as source, open(path, "wb") as copy:
                    copy.write(source.read())
                write_expected(path, strings, os.path.join(args.out, "expected", name + ".tsv"))
    os.remove(text_file)
    print(f"{len(strings)} strings × {len(models)} models in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
