/// How BLEU splits a segment into words before counting n-grams (sacreBLEU's `tokenize`).
public enum BLEUTokenization: String, CaseIterable, Sendable {
    /// mteval-v13a's rules, sacreBLEU's default: most ASCII punctuation becomes its own token,
    /// periods and commas do too except between digits ("1,000.5" stays one token), and a dash
    /// after a digit is split off.
    case thirteenA = "13a"
    /// Split on whitespace only: for text that is already tokenized (e.g. Multi30k).
    case none

    /// The words of `line` as BLEU counts them (after the trailing whitespace is removed, as
    /// sacreBLEU does).
    public func tokenize(_ line: String) -> [String] {
        words(of: Array(line.unicodeScalars)).map { String(String.UnicodeScalarView($0)) }
    }

    /// The words of `line`, each a slice of code points.
    func words(of line: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        switch self {
        case .none: return PythonText.split(line)
        case .thirteenA: return PythonText.split(Tokenizer13a.separate(PythonText.rstrip(line)))
        }
    }
}

/// The mteval-v13a tokenization as sacreBLEU defines it: a few literal replacements, then four
/// regular expressions applied one after the other, each replacing its non-overlapping matches
/// from left to right (Python's `re.sub`). Every pattern matches one or two fixed characters, so
/// each pass is a single scan.
enum Tokenizer13a {
    /// Returns `line` with spaces inserted around the tokens; splitting on whitespace then gives
    /// the words.
    static func separate(_ line: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var text = replacing(Array("<skipped>".unicodeScalars), with: [], in: line)
        text = replacing(["-", "\n"], with: [], in: text)
        text = replacing(["\n"], with: [" "], in: text)
        if text.contains("&") {
            for (entity, character) in [("&quot;", "\""), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")] {
                text = replacing(Array(entity.unicodeScalars), with: Array(character.unicodeScalars), in: text)
            }
        }
        text = [" "] + text + [" "]

        // `([\{-\~\[-\` -\&\(-\+\:-\@\/])` → ` \1 `: ASCII punctuation except ' , - .
        var spaced: [Unicode.Scalar] = []
        spaced.reserveCapacity(text.count * 2)
        for scalar in text {
            if isSeparatedPunctuation(scalar) {
                spaced.append(" ")
                spaced.append(scalar)
                spaced.append(" ")
            } else {
                spaced.append(scalar)
            }
        }
        // `([^0-9])([\.,])` → `\1 \2 `: period and comma unless preceded by a digit.
        text = substitutePairs(in: spaced, where: { !isDigit($0) && isPeriodOrComma($1) }, with: { [$0, " ", $1, " "] })
        // `([\.,])([^0-9])` → ` \1 \2`: period and comma unless followed by a digit.
        text = substitutePairs(in: text, where: { isPeriodOrComma($0) && !isDigit($1) }, with: { [" ", $0, " ", $1] })
        // `([0-9])(-)` → `\1 \2 `: a dash after a digit.
        return substitutePairs(in: text, where: { isDigit($0) && $1 == "-" }, with: { [$0, " ", $1, " "] })
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    private static func isPeriodOrComma(_ scalar: Unicode.Scalar) -> Bool { scalar == "." || scalar == "," }

    /// The character class `[\{-\~\[-\` -\&\(-\+\:-\@\/]`.
    private static func isSeparatedPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    /// `re.sub` of a two-character pattern: scanning left to right, each pair of adjacent
    /// characters that matches is replaced and the scan resumes after it.
    private static func substitutePairs(
        in text: [Unicode.Scalar],
        where matches: (Unicode.Scalar, Unicode.Scalar) -> Bool,
        with replacement: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]
    ) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count + text.count / 2)
        var index = 0
        while index < text.count {
            if index + 1 < text.count && matches(text[index], text[index + 1]) {
                result.append(contentsOf: replacement(text[index], text[index + 1]))
                index += 2
            } else {
                result.append(text[index])
                index += 1
            }
        }
        return result
    }

    /// `str.replace(target, replacement)`: non-overlapping occurrences, left to right.
    private static func replacing(
        _ target: [Unicode.Scalar], with replacement: [Unicode.Scalar], in text: [Unicode.Scalar]
    ) -> [Unicode.Scalar] {
        guard text.count >= target.count else { return text }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if index + target.count <= text.count && text[index..<(index + target.count)].elementsEqual(target) {
                result.append(contentsOf: replacement)
                index += target.count
            } else {
                result.append(text[index])
                index += 1
            }
        }
        return result
    }
}
