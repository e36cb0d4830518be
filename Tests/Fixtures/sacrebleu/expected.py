"""Prints the reference numbers kept in Tests/NMTTests/EvaluationTests.swift.

Run once with sacreBLEU 2.6.0 (`/root/REF/bin/python Tests/Fixtures/sacrebleu/expected.py` from the
package root); the numbers are pasted into the tests, which never call Python.
Lines are split on "\n" only, exactly as the Swift tests read them.
"""
import os
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

here = os.path.dirname(os.path.abspath(__file__))


def lines(name):
    with open(os.path.join(here, name), encoding="utf-8", newline="\n") as f:
        return f.read().split("\n")[:-1]


def streams(per_segment):
    """sacreBLEU's API takes one stream per reference; None marks a segment with fewer."""
    width = max(len(refs) for refs in per_segment)
    return [[refs[k] if k < len(refs) else None for refs in per_segment] for k in range(width)]


sets = {
    "single": (lines("tatoeba-dev-sample.hyp"), [[r] for r in lines("tatoeba-dev-sample.ref")]),
    "multi": (lines("tatoeba-dev-sample.hyp"), [l.split("\t")[1:] for l in lines("tatoeba-dev-sample.tsv")]),
    "edge": (lines("edge.hyp"), [[r] for r in lines("edge.ref")]),
}

print(f"// sacreBLEU {sacrebleu.__version__}")
for name, (hyps, refs) in sets.items():
    for tok in ["13a", "none"]:
        for lc in [False, True]:
            bleu = BLEU(lowercase=lc, tokenize=tok)
            b = bleu.corpus_score(hyps, streams(refs))
            chrf = CHRF(lowercase=lc)
            c = chrf.corpus_score(hyps, streams(refs))
            swift_tok = ".thirteenA" if tok == "13a" else ".none"
            print(f'Expected(set: "{name}", tokenize: {swift_tok}, lowercase: {str(lc).lower()},')
            print(f"         bleu: {b.score!r}, precisions: {b.precisions!r}, counts: {b.counts!r}, totals: {b.totals!r},")
            print(f"         brevityPenalty: {b.bp!r}, ratio: {b.ratio!r}, hypothesisLength: {b.sys_len}, referenceLength: {b.ref_len},")
            print(f'         chrf: {c.score!r},')
            print(f'         bleuSignature: "{bleu.get_signature()}", chrfSignature: "{chrf.get_signature()}"),')

print("// 13a tokenization of edge.hyp")
tokenizer = Tokenizer13a()
for h in lines("edge.hyp"):
    print(repr(tokenizer(h.rstrip())))

print("// Small corpora that reach the rarer branches (smoothing, empty orders, no match)")
tiny = [
    (["le chat noir dort ici"], [["le chat blanc dort là"]]),
    (["x"], [["x y"]]),
    ([""], [["a b"]]),
    (["a b c d"], [["e f g h"]]),
    (["a b", "abc"], [["a", "a b c"], ["a"]]),
    (["Je suis bon."], [["Tu es bon.", "Je suis bonne.", "Je suis bon."]]),
]
for hyps, refs in tiny:
    b = BLEU().corpus_score(hyps, streams(refs))
    c = CHRF().corpus_score(hyps, streams(refs))
    print(f"Tiny(hypotheses: {hyps!r}, references: {refs!r},".replace("\x27", "\""))
    print(f"     bleu: {b.score!r}, precisions: {b.precisions!r}, brevityPenalty: {b.bp!r}, referenceLength: {b.ref_len}, chrf: {c.score!r}),")

