import Foundation

/// Corpus BLEU (Papineni et al. 2002) as sacreBLEU 2.x computes it by default: n-grams up to
/// order 4 over `13a`-tokenized words, clipped counts against the per-n-gram maximum over a
/// segment's references, the closest reference length for the brevity penalty, and the `exp`
/// smoothing of mteval-v13a for orders with no match.
public struct BLEU: Sendable {
    /// The highest n-gram order counted.
    public static let maxOrder = 4

    public var lowercase: Bool
    public var tokenization: BLEUTokenization

    public init(lowercase: Bool = false, tokenize: BLEUTokenization = .thirteenA) {
        self.lowercase = lowercase
        self.tokenization = tokenize
    }

    /// sacreBLEU's signature for a corpus with these references.
    public func signature(references: [[String]]) -> String {
        Signature.format(references: references, fields: [
            "case": Signature.caseField(lowercase: lowercase),
            "eff": "no",
            "tok": tokenization.rawValue,
            "smooth": "exp",
        ])
    }

    /// Scores `hypotheses` against `references`, where `references[i]` holds every reference of
    /// `hypotheses[i]` (at least one; the number may differ from segment to segment).
    public func corpusScore(hypotheses: [String], references: [[String]]) -> BLEUScore {
        precondition(hypotheses.count == references.count, "one list of references per hypothesis")
        var statistics = Statistics()
        for (hypothesis, segmentReferences) in zip(hypotheses, references) {
            precondition(!segmentReferences.isEmpty, "every hypothesis needs at least one reference")
            statistics.add(hypothesis: words(hypothesis), references: segmentReferences.map(words))
        }
        return statistics.score(signature: signature(references: references))
    }

    /// The segment as BLEU sees it: lowercased if asked, tokenized, its words joined by single
    /// spaces so that each n-gram is one slice of the array.
    private func words(_ segment: String) -> Words {
        var text = Array(segment.unicodeScalars)
        if lowercase { text = PythonText.lower(text) }
        return Words(tokenization.words(of: text))
    }

    /// A tokenized segment: its words joined by single spaces, and where each word starts and ends.
    private struct Words {
        var text: [Unicode.Scalar] = []
        var bounds: [Range<Int>] = []

        init(_ words: [ArraySlice<Unicode.Scalar>]) {
            for word in words {
                if !text.isEmpty { text.append(" ") }
                bounds.append(text.count..<(text.count + word.count))
                text.append(contentsOf: word)
            }
        }

        /// The n-grams of order `n`: the slice from the first word's start to the last word's end
        /// (words hold no whitespace, so equal slices mean equal word sequences).
        func ngramCounts(order n: Int) -> NGramCounts {
            var counts: NGramCounts = [:]
            guard bounds.count >= n else { return counts }
            for first in 0...(bounds.count - n) {
                counts[text[bounds[first].lowerBound..<bounds[first + n - 1].upperBound], default: 0] += 1
            }
            return counts
        }
    }

    /// BLEU's sufficient statistics, summed over segments.
    private struct Statistics {
        var hypothesisLength = 0
        var referenceLength = 0
        var matches = [Int](repeating: 0, count: BLEU.maxOrder)
        var totals = [Int](repeating: 0, count: BLEU.maxOrder)

        mutating func add(hypothesis: Words, references: [Words]) {
            let length = hypothesis.bounds.count
            hypothesisLength += length
            referenceLength += Self.closestLength(to: length, among: references.map(\.bounds.count))
            for n in 1...BLEU.maxOrder {
                var maximumReferenceCounts: NGramCounts = [:]
                for reference in references {
                    maximumReferenceCounts.merge(reference.ngramCounts(order: n), uniquingKeysWith: max)
                }
                totals[n - 1] += max(0, length - n + 1)
                matches[n - 1] += hypothesis.ngramCounts(order: n).clippedMatches(in: maximumReferenceCounts)
            }
        }

        /// The reference length closest to the hypothesis length; of two equally close, the shorter.
        static func closestLength(to length: Int, among lengths: [Int]) -> Int {
            lengths.min { (abs($0 - length), $0) < (abs($1 - length), $1) }!
        }

        func score(signature: String) -> BLEUScore {
            var brevityPenalty = 1.0
            if hypothesisLength < referenceLength {
                brevityPenalty = hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0
            }
            var precisions = [Double](repeating: 0, count: BLEU.maxOrder)
            var score = 0.0
            // With no match at any order the score is 0 and so are the precisions, smoothed or not.
            if matches.contains(where: { $0 > 0 }) {
                var smoothing = 1.0
                for n in 0..<BLEU.maxOrder {
                    // An order with no n-gram at all (all hypotheses too short) stays at precision 0.
                    if totals[n] == 0 { break }
                    if matches[n] == 0 {
                        // `exp` smoothing: each further order without a match counts as 1/2, 1/4, …
                        // of a match.
                        smoothing *= 2
                        precisions[n] = 100 / (smoothing * Double(totals[n]))
                    } else {
                        precisions[n] = 100 * Double(matches[n]) / Double(totals[n])
                    }
                }
                // A precision of 0 contributes sacreBLEU's floor of log(0), −9999999999.
                let logSum = precisions.map { $0 == 0 ? -9_999_999_999 : log($0) }.reduce(0, +)
                score = brevityPenalty * exp(logSum / Double(BLEU.maxOrder))
            }
            return BLEUScore(
                score: score, precisions: precisions, matchCounts: matches, totalCounts: totals,
                brevityPenalty: brevityPenalty,
                ratio: referenceLength > 0 ? Double(hypothesisLength) / Double(referenceLength) : 0,
                hypothesisLength: hypothesisLength, referenceLength: referenceLength,
                signature: signature)
        }
    }
}

/// A corpus BLEU score and what it is made of (sacreBLEU's `BLEUScore`).
public struct BLEUScore: Sendable, Equatable, CustomStringConvertible {
    /// BLEU, 0 … 100.
    public var score: Double
    /// The modified n-gram precisions for n = 1 … 4, in percent (smoothed where no n-gram matched).
    public var precisions: [Double]
    /// Matched (clipped) n-grams for n = 1 … 4 (sacreBLEU's `counts`).
    public var matchCounts: [Int]
    /// Hypothesis n-grams for n = 1 … 4 (sacreBLEU's `totals`).
    public var totalCounts: [Int]
    /// The brevity penalty, exp(1 − ref_len / hyp_len) when the hypotheses are shorter, else 1.
    public var brevityPenalty: Double
    /// hyp_len / ref_len.
    public var ratio: Double
    /// Words in all hypotheses (sacreBLEU's `sys_len`).
    public var hypothesisLength: Int
    /// The sum over segments of the closest reference length (sacreBLEU's `ref_len`).
    public var referenceLength: Int
    /// sacreBLEU's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0-compatible`.
    public var signature: String

    /// sacreBLEU's text line with `decimals` digits for the score:
    /// `BLEU|<signature> = 35.4 68.8/42.5/28.4/19.5 (BP = 1.000 ratio = 1.012 hyp_len = 100 ref_len = 99)`.
    public func formatted(decimals: Int = 1) -> String {
        let precisionText = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        return "BLEU|\(signature) = \(String(format: "%.\(decimals)f", score)) \(precisionText) "
            + String(format: "(BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)",
                     brevityPenalty, ratio, hypothesisLength, referenceLength)
    }

    public var description: String { formatted() }
}
