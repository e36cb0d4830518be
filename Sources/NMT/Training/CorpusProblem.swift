import Foundation

/// Something wrong with one line of a corpus file (or with a whole file): reported and skipped
/// when loading leniently, thrown when loading strictly. Its description is one line that names
/// the file and line: `corpora/train.tsv:1207: empty target`.
public struct CorpusProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file could not be read (the reason as the system gave it).
        case unreadable(reason: String)
        /// The two files of an aligned pair have different numbers of lines. Always fatal: past the
        /// first missing line nothing says which lines belong together.
        case lineCountMismatch(sourceLines: Int, targetLines: Int)
        /// The bytes of the line are not UTF-8.
        case invalidUTF8
        /// A TSV line with fewer than two tab-separated columns (source, target).
        case wrongColumnCount(found: Int)
        /// A source that is empty or only whitespace.
        case emptySource
        /// A target (the first translation) that is empty or only whitespace.
        case emptyTarget
        /// A further translation of a TSV line, at `column` (from 1), that is empty or only whitespace.
        case emptyReference(column: Int)
        /// The source or the target has more characters (Unicode scalars) than allowed.
        case tooManyCharacters(count: Int, limit: Int)
        /// The source or the target has more whitespace-separated words than allowed.
        case tooManyWords(count: Int, limit: Int)
        /// One side is more than `limit` times as long (in characters) as the other.
        case lengthRatio(ratio: Double, limit: Double)
    }

    /// The file, as the path was given.
    public var file: String
    /// The 1-based line number, or nil for a problem with the whole file.
    public var line: Int?
    public var kind: Kind

    public init(file: String, line: Int?, kind: Kind) {
        self.file = file
        self.line = line
        self.kind = kind
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return "\(place): \(explanation)"
    }

    /// A short name for the kind, used to count problems in a summary.
    public var category: String {
        switch kind {
        case .unreadable: return "unreadable"
        case .lineCountMismatch: return "line count mismatch"
        case .invalidUTF8: return "invalid UTF-8"
        case .wrongColumnCount: return "wrong column count"
        case .emptySource, .emptyTarget, .emptyReference: return "empty field"
        case .tooManyCharacters: return "too many characters"
        case .tooManyWords: return "too many words"
        case .lengthRatio: return "length ratio"
        }
    }

    private var explanation: String {
        switch kind {
        case .unreadable(let reason):
            return "cannot read the file (\(reason))"
        case .lineCountMismatch(let sourceLines, let targetLines):
            return "the source has \(sourceLines) lines but the target has \(targetLines)"
        case .invalidUTF8:
            return "not valid UTF-8"
        case .wrongColumnCount(let found):
            return "expected at least 2 tab-separated columns (source, target), found \(found)"
        case .emptySource:
            return "empty source"
        case .emptyTarget:
            return "empty target"
        case .emptyReference(let column):
            return "empty reference (column \(column))"
        case .tooManyCharacters(let count, let limit):
            return "\(count) characters, more than the limit of \(limit)"
        case .tooManyWords(let count, let limit):
            return "\(count) words, more than the limit of \(limit)"
        case .lengthRatio(let ratio, let limit):
            return "length ratio \(String(format: "%.2f", ratio)) exceeds \(String(format: "%g", limit))"
        }
    }
}
