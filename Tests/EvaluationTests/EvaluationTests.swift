import Evaluation
import Foundation
import TestSupport
import XCTest

/// BLEU and chrF against numbers computed once by sacreBLEU 2.6.0 on the files of
/// `Tests/Fixtures/sacrebleu` (see its README). The numbers were printed by
///
///     /root/REF/bin/python Tests/Fixtures/sacrebleu/expected.py
///
/// which calls `sacrebleu.metrics.BLEU(lowercase:, tokenize:).corpus_score` and
/// `CHRF(lowercase:).corpus_score`; for the single-reference files the command line agrees:
///
///     sacrebleu tatoeba-dev-sample.ref -i tatoeba-dev-sample.hyp -m bleu chrf -f text
///     BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 76.2 92.9/82.9/76.6/73.8 (BP = 0.938 ratio = 0.940 hyp_len = 408 ref_len = 434)
///     chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 85.5
final class EvaluationTests: XCTestCase {
    /// BLEU is exact integer counting followed by a few logs and exponentials; the scores agree to
    /// the last bit or close to it.
    let tolerance = 1e-9

    struct Expected {
        var set: String
        var tokenize: BLEUTokenization
        var lowercase: Bool
        var bleu: Double
        var precisions: [Double]
        var counts: [Int]
        var totals: [Int]
        var brevityPenalty: Double
        var ratio: Double
        var hypothesisLength: Int
        var referenceLength: Int
        var chrf: Double
        var bleuSignature: String
        var chrfSignature: String
    }

    static let expected: [Expected] = [
        Expected(set: "single", tokenize: .thirteenA, lowercase: false,
                 bleu: 76.21260803877561, precisions: [92.8921568627451, 82.91316526610645, 76.62337662337663, 73.76425855513308], counts: [379, 296, 236, 194], totals: [408, 357, 308, 263],
                 brevityPenalty: 0.9382625264444422, ratio: 0.9400921658986175, hypothesisLength: 408, referenceLength: 434,
                 chrf: 85.53862964824825,
                 bleuSignature: "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0", chrfSignature: "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "single", tokenize: .thirteenA, lowercase: true,
                 bleu: 80.51507360654172, precisions: [95.58823529411765, 86.83473389355743, 81.81818181818181, 79.84790874524715], counts: [390, 310, 252, 210], totals: [408, 357, 308, 263],
                 brevityPenalty: 0.9382625264444422, ratio: 0.9400921658986175, hypothesisLength: 408, referenceLength: 434,
                 chrf: 88.04575392779608,
                 bleuSignature: "nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0", chrfSignature: "nrefs:1|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "single", tokenize: .none, lowercase: false,
                 bleu: 75.56447276564364, precisions: [91.85393258426966, 81.63934426229508, 76.35658914728683, 73.73271889400921], counts: [327, 249, 197, 160], totals: [356, 305, 258, 217],
                 brevityPenalty: 0.9374360455232797, ratio: 0.9393139841688655, hypothesisLength: 356, referenceLength: 379,
                 chrf: 85.53862964824825,
                 bleuSignature: "nrefs:1|case:mixed|eff:no|tok:none|smooth:exp|version:2.6.0", chrfSignature: "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "single", tokenize: .none, lowercase: true,
                 bleu: 80.43307169361557, precisions: [94.9438202247191, 86.22950819672131, 82.55813953488372, 80.18433179723502], counts: [338, 263, 213, 174], totals: [356, 305, 258, 217],
                 brevityPenalty: 0.9374360455232797, ratio: 0.9393139841688655, hypothesisLength: 356, referenceLength: 379,
                 chrf: 88.04575392779608,
                 bleuSignature: "nrefs:1|case:lc|eff:no|tok:none|smooth:exp|version:2.6.0", chrfSignature: "nrefs:1|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "multi", tokenize: .thirteenA, lowercase: false,
                 bleu: 79.27545890567897, precisions: [95.58823529411765, 86.5546218487395, 80.1948051948052, 77.56653992395437], counts: [390, 309, 247, 204], totals: [408, 357, 308, 263],
                 brevityPenalty: 0.9359656793029069, ratio: 0.9379310344827586, hypothesisLength: 408, referenceLength: 435,
                 chrf: 87.43039599011642,
                 bleuSignature: "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0", chrfSignature: "nrefs:var|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "multi", tokenize: .thirteenA, lowercase: true,
                 bleu: 84.6428674339599, precisions: [98.52941176470588, 91.59663865546219, 87.01298701298701, 85.17110266159696], counts: [402, 327, 268, 224], totals: [408, 357, 308, 263],
                 brevityPenalty: 0.9359656793029069, ratio: 0.9379310344827586, hypothesisLength: 408, referenceLength: 435,
                 chrf: 90.33942674743281,
                 bleuSignature: "nrefs:var|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0", chrfSignature: "nrefs:var|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "multi", tokenize: .none, lowercase: false,
                 bleu: 78.95898333391844, precisions: [94.66292134831461, 84.59016393442623, 80.23255813953489, 78.3410138248848], counts: [337, 258, 207, 170], totals: [356, 305, 258, 217],
                 brevityPenalty: 0.9374360455232797, ratio: 0.9393139841688655, hypothesisLength: 356, referenceLength: 379,
                 chrf: 87.43039599011642,
                 bleuSignature: "nrefs:var|case:mixed|eff:no|tok:none|smooth:exp|version:2.6.0", chrfSignature: "nrefs:var|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "multi", tokenize: .none, lowercase: true,
                 bleu: 84.61146319130965, precisions: [98.03370786516854, 90.1639344262295, 87.59689922480621, 85.71428571428571], counts: [349, 275, 226, 186], totals: [356, 305, 258, 217],
                 brevityPenalty: 0.9374360455232797, ratio: 0.9393139841688655, hypothesisLength: 356, referenceLength: 379,
                 chrf: 90.33942674743281,
                 bleuSignature: "nrefs:var|case:lc|eff:no|tok:none|smooth:exp|version:2.6.0", chrfSignature: "nrefs:var|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "edge", tokenize: .thirteenA, lowercase: false,
                 bleu: 80.2058608482869, precisions: [88.3495145631068, 86.51685393258427, 85.52631578947368, 83.07692307692308], counts: [91, 77, 65, 54], totals: [103, 89, 76, 65],
                 brevityPenalty: 0.9342967562418657, ratio: 0.9363636363636364, hypothesisLength: 103, referenceLength: 110,
                 chrf: 75.46368218300655,
                 bleuSignature: "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0", chrfSignature: "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "edge", tokenize: .thirteenA, lowercase: true,
                 bleu: 81.33502922958424, precisions: [92.23300970873787, 87.64044943820225, 85.52631578947368, 83.07692307692308], counts: [95, 78, 65, 54], totals: [103, 89, 76, 65],
                 brevityPenalty: 0.9342967562418657, ratio: 0.9363636363636364, hypothesisLength: 103, referenceLength: 110,
                 chrf: 81.10683489988722,
                 bleuSignature: "nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0", chrfSignature: "nrefs:1|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "edge", tokenize: .none, lowercase: false,
                 bleu: 24.432259464461552, precisions: [60.3448275862069, 50.0, 42.42424242424242, 33.333333333333336], counts: [35, 22, 14, 8], totals: [58, 44, 33, 24],
                 brevityPenalty: 0.5375735693311238, ratio: 0.6170212765957447, hypothesisLength: 58, referenceLength: 94,
                 chrf: 75.46368218300655,
                 bleuSignature: "nrefs:1|case:mixed|eff:no|tok:none|smooth:exp|version:2.6.0", chrfSignature: "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
        Expected(set: "edge", tokenize: .none, lowercase: true,
                 bleu: 25.382772733664435, precisions: [67.24137931034483, 52.27272727272727, 42.42424242424242, 33.333333333333336], counts: [39, 23, 14, 8], totals: [58, 44, 33, 24],
                 brevityPenalty: 0.5375735693311238, ratio: 0.6170212765957447, hypothesisLength: 58, referenceLength: 94,
                 chrf: 81.10683489988722,
                 bleuSignature: "nrefs:1|case:lc|eff:no|tok:none|smooth:exp|version:2.6.0", chrfSignature: "nrefs:1|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.6.0"),
    ]

    /// The hypotheses and references of each fixture set: references[i] are all references of line i.
    func corpus(_ set: String) throws -> (hypotheses: [String], references: [[String]]) {
        switch set {
        case "single":
            return (try lines("tatoeba-dev-sample.hyp"), try lines("tatoeba-dev-sample.ref").map { [$0] })
        case "multi":
            let references = try lines("tatoeba-dev-sample.tsv").map { line in
                line.split(separator: "\t", omittingEmptySubsequences: false).dropFirst().map(String.init)
            }
            return (try lines("tatoeba-dev-sample.hyp"), references)
        default:
            return (try lines("edge.hyp"), try lines("edge.ref").map { [$0] })
        }
    }

    func testScoresMatchSacreBLEU() throws {
        var largestDifference = 0.0
        for expected in Self.expected {
            let (hypotheses, references) = try corpus(expected.set)
            let label = "\(expected.set) tok:\(expected.tokenize.rawValue) lowercase:\(expected.lowercase)"
            let bleu = BLEU(lowercase: expected.lowercase, tokenize: expected.tokenize)
                .corpusScore(hypotheses: hypotheses, references: references)
            let chrf = CHRF(lowercase: expected.lowercase).corpusScore(hypotheses: hypotheses, references: references)

            let differences = [abs(bleu.score - expected.bleu), abs(bleu.brevityPenalty - expected.brevityPenalty),
                               abs(bleu.ratio - expected.ratio), abs(chrf.score - expected.chrf)]
                + zip(bleu.precisions, expected.precisions).map { abs($0 - $1) }
            largestDifference = max(largestDifference, differences.max()!)
            XCTAssertLessThanOrEqual(differences.max()!, tolerance, label)
            XCTAssertEqual(bleu.matchCounts, expected.counts, label)
            XCTAssertEqual(bleu.totalCounts, expected.totals, label)
            XCTAssertEqual(bleu.hypothesisLength, expected.hypothesisLength, label)
            XCTAssertEqual(bleu.referenceLength, expected.referenceLength, label)
            XCTAssertEqual(bleu.signature, ours(expected.bleuSignature), label)
            XCTAssertEqual(chrf.signature, ours(expected.chrfSignature), label)
        }
        print("largest |score difference| to sacreBLEU: \(largestDifference)")
    }

    func test13aTokenizationMatchesSacreBLEU() throws {
        let expected = [
        "",
        "Ça coûte 1,000.50 $ — vraiment ?",
        "« Bonjour » , dit-il… puis il partit .",
        "Entre 1990 - 1995 , à Paris . 3.14 et 2,5 ou 10 . Fin ,",
        "A & B < tag > \" q \" x",
        "ΣΊΣΥΦΟΣ ΟΔΟΣ ΣΑΣ",
        "İstanbul ĞÜŞ",
        "Quoi ? Oui ! Là bas",
        "cafe\u{301} cre\u{300}me",
        "a b c d",
        "semi ; colon : colon / slash \\ back { brace } [ bk ] ^ ~ ` | _",
        "'quoted' -- it's 5 - 6 , ok .",
        "x",
        "emoji 😀 test 👍🏽",
        "a . . b , , c . , d",
        "",
        ]
        let hypotheses = try lines("edge.hyp")
        XCTAssertEqual(hypotheses.count, expected.count)
        for (hypothesis, tokens) in zip(hypotheses, expected) {
            let ourTokens = BLEUTokenization.thirteenA.tokenize(hypothesis).joined(separator: " ")
            // Compared code point by code point, as Python does (Swift's == would equate "é" and "e\u{301}").
            XCTAssertEqual(Array(ourTokens.unicodeScalars), Array(tokens.unicodeScalars), hypothesis)
        }
    }

    struct Tiny {
        var hypotheses: [String]
        var references: [[String]]
        var bleu: Double
        var precisions: [Double]
        var brevityPenalty: Double
        var referenceLength: Int
        var chrf: Double
    }

    /// Small corpora for the rarer branches: `exp` smoothing of orders without a match, orders with
    /// no n-gram at all, no match anywhere, an empty hypothesis, ties between reference lengths,
    /// a reference too short for most chrF orders, and the best of several chrF references.
    func testRareBranchesMatchSacreBLEU() {
        let cases = [
        Tiny(hypotheses: ["le chat noir dort ici"], references: [["le chat blanc dort là"]],
             bleu: 23.643540225079384, precisions: [60.0, 25.0, 16.666666666666668, 12.5], brevityPenalty: 1.0, referenceLength: 5, chrf: 35.479602097249156),
        Tiny(hypotheses: ["x"], references: [["x y"]],
             bleu: 0.0, precisions: [100.0, 0.0, 0.0, 0.0], brevityPenalty: 0.36787944117144233, referenceLength: 2, chrf: 55.55555555555556),
        Tiny(hypotheses: [""], references: [["a b"]],
             bleu: 0.0, precisions: [0.0, 0.0, 0.0, 0.0], brevityPenalty: 0.0, referenceLength: 2, chrf: 0.0),
        Tiny(hypotheses: ["a b c d"], references: [["e f g h"]],
             bleu: 0.0, precisions: [0.0, 0.0, 0.0, 0.0], brevityPenalty: 1.0, referenceLength: 4, chrf: 0.0),
        Tiny(hypotheses: ["a b", "abc"], references: [["a", "a b c"], ["a"]],
             bleu: 0.0, precisions: [66.66666666666667, 100.0, 0.0, 0.0], brevityPenalty: 1.0, referenceLength: 2, chrf: 76.92307692307692),
        Tiny(hypotheses: ["Je suis bon."], references: [["Tu es bon.", "Je suis bonne.", "Je suis bon."]],
             bleu: 100.00000000000004, precisions: [100.0, 100.0, 100.0, 100.0], brevityPenalty: 1.0, referenceLength: 4, chrf: 100.0),
        ]
        for expected in cases {
            let bleu = BLEU().corpusScore(hypotheses: expected.hypotheses, references: expected.references)
            let chrf = CHRF().corpusScore(hypotheses: expected.hypotheses, references: expected.references)
            let label = "\(expected.hypotheses)"
            XCTAssertEqual(bleu.score, expected.bleu, accuracy: tolerance, label)
            XCTAssertEqual(bleu.brevityPenalty, expected.brevityPenalty, accuracy: tolerance, label)
            XCTAssertEqual(bleu.referenceLength, expected.referenceLength, label)
            for (ours, theirs) in zip(bleu.precisions, expected.precisions) {
                XCTAssertEqual(ours, theirs, accuracy: tolerance, label)
            }
            XCTAssertEqual(chrf.score, expected.chrf, accuracy: tolerance, label)
        }
    }

    func testFormattedLinesReadLikeSacreBLEU() throws {
        let (hypotheses, references) = try corpus("single")
        let bleu = BLEU().corpusScore(hypotheses: hypotheses, references: references)
        let chrf = CHRF().corpusScore(hypotheses: hypotheses, references: references)
        XCTAssertEqual(bleu.formatted(), ours("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 76.2 92.9/82.9/76.6/73.8 (BP = 0.938 ratio = 0.940 hyp_len = 408 ref_len = 434)"))
        XCTAssertEqual(chrf.formatted(), ours("chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 85.5"))
    }

    /// sacreBLEU's signature with our version field.
    func ours(_ signature: String) -> String {
        signature.replacingOccurrences(of: "version:2.6.0", with: "version:2.6.0-compatible")
    }

    /// The lines of a fixture file, split on "\n" only (as sacreBLEU reads files).
    func lines(_ name: String) throws -> [String] {
        let text = try String(contentsOf: Fixtures.url("sacrebleu/\(name)"), encoding: .utf8)
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
