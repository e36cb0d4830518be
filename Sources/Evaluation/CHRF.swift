/// Corpus chrF (Popović 2015) as sacreBLEU 2.x's default `CHRF`: character n-grams of orders
/// 1 … 6 with whitespace removed, no word n-grams, β = 2.
///
/// For each segment the reference whose statistics give the best sentence-level chrF is chosen
/// (the first of equals); the chosen statistics are summed over the corpus and the score computed
/// from the sums. Precision and recall are averaged over the orders that occur on both sides
/// (sacreBLEU's "effective order", `eff:yes`), then combined as F_β.
public struct CHRF: Sendable {
    /// The highest character n-gram order.
    public static let characterOrder = 6
    /// Recall weighs β² times as much as precision.
    public static let beta = 2

    public var lowercase: Bool

    public init(lowercase: Bool = false) {
        self.lowercase = lowercase
    }

    /// sacreBLEU's signature for a corpus with these references.
    public func signature(references: [[String]]) -> String {
        Signature.format(references: references, fields: [
            "case": Signature.caseField(lowercase: lowercase),
            "eff": "yes",
            "nc": String(Self.characterOrder),
            "nw": "0",
            "space": "no",
        ])
    }

    /// Scores `hypotheses` against `references`, where `references[i]` holds every reference of
    /// `hypotheses[i]` (at least one; the number may differ from segment to segment).
    public func corpusScore(hypotheses: [String], references: [[String]]) -> CHRFScore {
        precondition(hypotheses.count == references.count, "one list of references per hypothesis")
        var corpus = Statistics()
        for (hypothesis, segmentReferences) in zip(hypotheses, references) {
            precondition(!segmentReferences.isEmpty, "every hypothesis needs at least one reference")
            let hypothesisCounts = ngramCounts(hypothesis)
            var best = Statistics()
            var bestScore = -1.0
            for reference in segmentReferences {
                let candidate = Statistics(hypothesis: hypothesisCounts, reference: ngramCounts(reference))
                let candidateScore = candidate.fScore()
                if candidateScore > bestScore {
                    best = candidate
                    bestScore = candidateScore
                }
            }
            corpus.add(best)
        }
        return CHRFScore(score: corpus.fScore(), signature: signature(references: references))
    }

    /// The character n-gram counts of each order 1 … 6, whitespace removed.
    private func ngramCounts(_ segment: String) -> [NGramCounts] {
        var text = Array(segment.unicodeScalars)
        if lowercase { text = PythonText.lower(text) }
        text.removeAll(where: PythonText.isWhitespace)
        return (1...Self.characterOrder).map { n in
            var counts: NGramCounts = [:]
            if text.count >= n {
                for start in 0...(text.count - n) { counts[text[start..<(start + n)], default: 0] += 1 }
            }
            return counts
        }
    }

    /// For each order: hypothesis n-grams, reference n-grams, matched n-grams.
    private struct Statistics {
        var hypothesis = [Int](repeating: 0, count: CHRF.characterOrder)
        var reference = [Int](repeating: 0, count: CHRF.characterOrder)
        var matches = [Int](repeating: 0, count: CHRF.characterOrder)

        init() {}

        init(hypothesis hypothesisCounts: [NGramCounts], reference referenceCounts: [NGramCounts]) {
            for n in 0..<CHRF.characterOrder {
                // An order the reference is too short for does not count the hypothesis's n-grams
                // either (sacreBLEU's rule).
                hypothesis[n] = referenceCounts[n].isEmpty ? 0 : hypothesisCounts[n].total
                reference[n] = referenceCounts[n].total
                matches[n] = hypothesisCounts[n].clippedMatches(in: referenceCounts[n])
            }
        }

        mutating func add(_ other: Statistics) {
            for n in 0..<CHRF.characterOrder {
                hypothesis[n] += other.hypothesis[n]
                reference[n] += other.reference[n]
                matches[n] += other.matches[n]
            }
        }

        /// chrF in 0 … 100 from precision and recall averaged over the orders present on both sides.
        func fScore() -> Double {
            var precisionSum = 0.0, recallSum = 0.0
            var effectiveOrder = 0
            for n in 0..<CHRF.characterOrder where hypothesis[n] > 0 && reference[n] > 0 {
                precisionSum += Double(matches[n]) / Double(hypothesis[n])
                recallSum += Double(matches[n]) / Double(reference[n])
                effectiveOrder += 1
            }
            guard effectiveOrder > 0 else { return 0 }
            let precision = precisionSum / Double(effectiveOrder)
            let recall = recallSum / Double(effectiveOrder)
            guard precision + recall > 0 else { return 0 }
            let factor = Double(CHRF.beta * CHRF.beta)
            return 100 * ((1 + factor) * precision * recall / (factor * precision + recall))
        }
    }
}

/// A corpus chrF score (sacreBLEU's `CHRFScore`).
public struct CHRFScore: Sendable, Equatable, CustomStringConvertible {
    /// chrF, 0 … 100.
    public var score: Double
    /// sacreBLEU's signature, e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0-compatible`.
    public var signature: String

    /// The metric's name as sacreBLEU prints it: chrF with β = 2.
    public static let name = "chrF\(CHRF.beta)"

    /// sacreBLEU's text line with `decimals` digits: `chrF2|<signature> = 59.1`.
    public func formatted(decimals: Int = 1) -> String {
        "\(Self.name)|\(signature) = \(String(format: "%.\(decimals)f", score))"
    }

    public var description: String { formatted() }
}
