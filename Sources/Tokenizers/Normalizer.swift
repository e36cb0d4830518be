import Foundation

/// One step of a tokenizer.json `normalizer`: `NFKC` or `Lowercase` (a `Sequence` is a list of them).
enum NormalizerStep: String, Sendable, Equatable {
    case nfkc = "NFKC"
    case lowercase = "Lowercase"
}

/// Normalizes text to UTF-8 bytes, as tokenizers' normalizers do.
///
/// Full NFKC costs a few µs a sentence, more than everything else of encoding together, so two
/// fast paths skip it: pure ASCII text, which NFKC leaves as it is, and text whose
/// every scalar is in `QuickTable` (Latin, Greek, Cyrillic, general punctuation: all French text).
struct Normalizer: Sendable, Equatable {
    var steps: [NormalizerStep]

    /// Appends the normalized form of `text` to `output`, or returns `.unchanged` (writing
    /// nothing) when it is `text` itself, as for ASCII text under NFKC.
    func normalize(_ text: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Normalization {
        if steps.isEmpty { return .unchanged }
        if isASCII(text) {
            guard steps.contains(.lowercase) else { return .unchanged }
            for byte in text { output.append(byte &+ (UInt8(ascii: "A")...UInt8(ascii: "Z") ~= byte ? 32 : 0)) }
            return .written
        }
        if steps == [.nfkc] {
            let quick = QuickTable.shared.normalize(text, into: &output)
            if quick != .slow { return quick }
        }
        var string = String(decoding: text, as: UTF8.self)
        for step in steps {
            switch step {
            case .nfkc:
                string = nfkc(string)
            case .lowercase:
                // tokenizers lowercases scalar by scalar (Rust's char::to_lowercase: the full
                // mapping, no final-sigma context), which is what the scalar property gives.
                var lowered = ""
                for scalar in string.unicodeScalars { lowered += scalar.properties.lowercaseMapping }
                string = lowered
            }
        }
        output.append(contentsOf: string.utf8)
        return .written
    }
}

/// NFKC as tokenizers computes it: with the tables of Unicode 9.0, where every character
/// assigned since is unknown, so it stays as it is and, as a starter that composes with nothing,
/// cuts the text into runs that normalize on their own. (A character's normalization never
/// changes once assigned, so for the rest today's tables give the 9.0 result.)
func nfkc(_ text: String) -> String {
    func isNewerThanTables(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major > 9 || (age.major == 9 && age.minor > 0)
    }
    guard text.unicodeScalars.contains(where: isNewerThanTables) else { return currentNFKC(text) }
    var result = ""
    var run = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        if isNewerThanTables(scalar) {
            result += currentNFKC(String(run))
            result.unicodeScalars.append(scalar)
            run = String.UnicodeScalarView()
        } else {
            run.append(scalar)
        }
    }
    return result + currentNFKC(String(run))
}

/// NFKC with today's tables: canonical composition (NFC) of the compatibility decomposition.
///
/// Foundation's own composition is wrong on Linux in ways that change text: it leaves marks that
/// come out of a compatibility mapping uncomposed ("ｶﾞ" gives "カ" + U+3099, not "ガ"), skips
/// Hangul LV + T, and reads a supplementary scalar before a mark as its low 16 bits
/// ("a\u{10041}\u{308}" becomes "aÄ"). Its decomposition is right, and the standard library's
/// NFC — the one `String` comparison uses, public as `_nfcCodeUnits` — composes correctly.
private func currentNFKC(_ text: String) -> String {
    String(decoding: text.decomposedStringWithCompatibilityMapping._nfcCodeUnits, as: UTF8.self)
}

@inline(__always)
func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    var i = 0
    var bits: UInt64 = 0
    while i + 8 <= bytes.count {
        bits |= UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
        i += 8
    }
    while i < bytes.count {
        bits |= UInt64(base[i])
        i += 1
    }
    return bits & 0x8080_8080_8080_8080 == 0
}

/// NFKC of one scalar at a time, for the scalars where that is the NFKC of the text.
///
/// NFKC(text) is the concatenation of NFKC(scalar) when every scalar is a starter (canonical
/// combining class 0) that cannot combine with the one before it (NFC_Quick_Check is not
/// "Maybe"), and each NFKC(scalar) consists of such scalars too. In the covered ranges every
/// "Maybe" scalar has a non-zero combining class, so the class test below is enough; the Indic
/// vowel signs and Hangul jamo that are "Maybe" with class 0 lie outside them. The table is
/// built once from `nfkc`, so it cannot disagree with the slow path.
final class QuickTable: Sendable {
    static let shared = QuickTable()

    /// Scalars `0 ..< limit` are looked up; ranges outside `covered` are always slow.
    private static let covered: [Range<UInt32>] = [0..<0x0900, 0x1E00..<0x2200]
    private static let limit: UInt32 = 0x2200

    private static let slow: UInt16 = 0
    private static let unchanged: UInt16 = 1
    /// `entries[scalar]`: slow, unchanged, or 2 + an index into `replacements`.
    private let entries: [UInt16]
    private let replacements: [[UInt8]]

    private init() {
        var entries = [UInt16](repeating: QuickTable.slow, count: Int(QuickTable.limit))
        var replacements: [[UInt8]] = []
        var candidates: [UInt32: String] = [:]
        for range in QuickTable.covered {
            for value in range {
                guard let scalar = Unicode.Scalar(value), scalar.properties.canonicalCombiningClass == .notReordered
                else { continue }
                candidates[value] = nfkc(String(scalar))
            }
        }
        func isUnchanged(_ scalar: Unicode.Scalar) -> Bool {
            candidates[scalar.value].map { $0.unicodeScalars.elementsEqual([scalar]) } ?? false
        }
        for (value, normalized) in candidates.sorted(by: { $0.key < $1.key }) {
            if isUnchanged(Unicode.Scalar(value)!) {
                entries[Int(value)] = QuickTable.unchanged
            } else if normalized.unicodeScalars.allSatisfy(isUnchanged) {
                entries[Int(value)] = UInt16(2 + replacements.count)
                replacements.append(Array(normalized.utf8))
            }
        }
        self.entries = entries
        self.replacements = replacements
    }

    /// NFKC(`text`) if every scalar is in the table: `.unchanged` when that is `text` itself
    /// (nothing written), else `.written` (appended to `output`); `.slow` (nothing written) when
    /// some scalar needs the full algorithm.
    func normalize(_ text: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Normalization {
        let mark = output.count
        var copied = 0  // text[..<copied] is in `output` once something was replaced
        var replaced = false
        var i = 0
        while i < text.count {
            let lead = text[i]
            var value: UInt32
            let length: Int
            switch lead {
            case 0..<0x80: value = UInt32(lead); length = 1
            case 0xC0..<0xE0: value = UInt32(lead & 0x1F); length = 2
            case 0xE0..<0xF0: value = UInt32(lead & 0x0F); length = 3
            default: value = UInt32(lead & 0x07); length = 4
            }
            for k in 1..<length { value = value << 6 | UInt32(text[i + k] & 0x3F) }
            let entry = value < QuickTable.limit ? entries[Int(value)] : QuickTable.slow
            if entry == QuickTable.slow {
                output.removeSubrange(mark...)
                return .slow
            }
            if entry != QuickTable.unchanged {
                output.append(contentsOf: text[copied..<i])
                output.append(contentsOf: replacements[Int(entry) - 2])
                copied = i + length
                replaced = true
            }
            i += length
        }
        guard replaced else { return .unchanged }
        output.append(contentsOf: text[copied...])
        return .written
    }
}

/// What a normalizer did with a text.
enum Normalization {
    /// The text is already normalized; nothing was written.
    case unchanged
    /// The normalized text was appended to the output.
    case written
    /// (QuickTable only) the full algorithm is needed; nothing was written.
    case slow
}
