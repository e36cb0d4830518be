/// The few Python `str` operations sacreBLEU's definitions are written in, reproduced exactly so
/// that scores match to the last digit.
///
/// Python strings are sequences of code points and compare code point by code point, while Swift's
/// `String` compares by canonical equivalence ("é" precomposed equals "e" + U+0301). So the metrics
/// work on arrays of `Unicode.Scalar`, and n-grams are slices of them.
enum PythonText {
    /// `str.isspace()`: the code points `str.split()` and `str.rstrip()` treat as whitespace.
    /// This is wider than Unicode's White_Space property: it includes the ASCII separators
    /// U+001C…U+001F (and Swift's `Character.isWhitespace` would differ on those).
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `str.split()` without arguments: the maximal runs of non-whitespace.
    static func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start: Int? = nil
        for (index, scalar) in text.enumerated() {
            if isWhitespace(scalar) {
                if let wordStart = start { words.append(text[wordStart..<index]) }
                start = nil
            } else if start == nil {
                start = index
            }
        }
        if let wordStart = start { words.append(text[wordStart...]) }
        return words
    }

    /// `str.rstrip()` without arguments.
    static func rstrip(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var end = text.count
        while end > 0 && isWhitespace(text[end - 1]) { end -= 1 }
        return Array(text[..<end])
    }

    /// `str.lower()`: the full Unicode lowercase mapping, with the one context rule Python applies,
    /// Final_Sigma (Σ becomes ς at the end of a word). Swift's `lowercased()` has no such rule.
    static func lower(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var lowered: [Unicode.Scalar] = []
        lowered.reserveCapacity(text.count)
        for (index, scalar) in text.enumerated() {
            if scalar.isASCII {
                let value = scalar.value
                lowered.append((0x41...0x5A).contains(value) ? Unicode.Scalar(value + 0x20)! : scalar)
            } else if scalar == "\u{03A3}" && isFinalSigma(text, at: index) {
                lowered.append("\u{03C2}")
            } else {
                lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return lowered
    }

    /// Unicode's Final_Sigma condition: a cased letter before (skipping case-ignorable code
    /// points) and none after.
    private static func isFinalSigma(_ text: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0 && text[before].properties.isCaseIgnorable { before -= 1 }
        guard before >= 0 && text[before].properties.isCased else { return false }
        var after = index + 1
        while after < text.count && text[after].properties.isCaseIgnorable { after += 1 }
        return after == text.count || !text[after].properties.isCased
    }
}

/// Counts of n-grams, each n-gram a slice of code points (a run of characters, or of
/// single-space-separated tokens) compared code point by code point.
typealias NGramCounts = [ArraySlice<Unicode.Scalar>: Int]

extension Dictionary where Key == ArraySlice<Unicode.Scalar>, Value == Int {
    /// The number of n-grams of `self` (a hypothesis) found in `reference`, each counted at most
    /// as often as it occurs there ("clipped" counts).
    func clippedMatches(in reference: NGramCounts) -> Int {
        var matches = 0
        for (ngram, count) in self {
            if let referenceCount = reference[ngram] { matches += Swift.min(count, referenceCount) }
        }
        return matches
    }

    /// The number of n-grams counted, with repetition.
    var total: Int { values.reduce(0, +) }
}
