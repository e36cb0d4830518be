import Foundation
import TextIO

/// A source sentence and its translations, as read from one line of a corpus.
public struct SentencePair: Sendable, Equatable {
    public var source: String
    /// Every translation given for the source (at least one). All of them are references for
    /// multi-reference BLEU; the first is the training target.
    public var references: [String]
    /// The 1-based line number the pair was read from (the same line in both files of an aligned pair).
    public var line: Int

    public init(source: String, references: [String], line: Int) {
        precondition(!references.isEmpty, "a sentence pair has at least one translation")
        self.source = source
        self.references = references
        self.line = line
    }

    /// The training target: the first translation.
    public var target: String { references[0] }
}

/// Which lines a corpus keeps. Empty fields, invalid UTF-8 and malformed TSV lines are always
/// problems; the length filters are off unless set. Lengths and the ratio are measured on the
/// source and the target (the first translation), not on further references.
public struct CorpusOptions: Sendable, Equatable {
    /// Longest source or target, in characters (Unicode scalars).
    public var maxCharacters: Int?
    /// Longest source or target, in whitespace-separated words (subword lengths are only known
    /// after tokenization; the `Batcher` drops pairs too long for a batch).
    public var maxWords: Int?
    /// Largest ratio of the longer side's character count to the shorter side's.
    public var maxLengthRatio: Double?
    /// Throw the first problem instead of skipping the line and reporting it.
    public var strict: Bool

    public init(maxCharacters: Int? = nil, maxWords: Int? = nil, maxLengthRatio: Double? = nil, strict: Bool = false) {
        self.maxCharacters = maxCharacters
        self.maxWords = maxWords
        self.maxLengthRatio = maxLengthRatio
        self.strict = strict
    }

    /// No length filters, and any problem is an error: for test sets, whose lines must all stay
    /// aligned with the hypotheses.
    public static let strict = CorpusOptions(strict: true)
}

/// A parallel corpus in memory: either a TSV file, one pair a line,
/// `source<TAB>target[<TAB>another translation …]`, or two aligned files with one sentence a line.
///
/// Lines follow the rule of `TextLines` (one for every line nmt reads). A line with a problem
/// (invalid UTF-8 among them) is skipped and listed in `problems`, or with
/// `CorpusOptions.strict` thrown as a `CorpusProblem`. Two aligned files with different line counts
/// are always an error.
public struct ParallelCorpus: Sendable {
    /// The pairs kept, in file order.
    public var pairs: [SentencePair]
    /// The lines skipped, in file order.
    public var problems: [CorpusProblem]
    /// Lines read (kept and skipped).
    public var lineCount: Int
    /// The file or files, as given.
    public var name: String

    /// Reads a TSV file: `source<TAB>target[<TAB>another translation …]`.
    public init(tsv url: URL, options: CorpusOptions = CorpusOptions()) throws {
        let file = url.relativePath
        var loader = Loader(options: options, sourceFile: file, targetFile: file)
        let data = try Self.contents(of: url)
        lineCount = try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let lines = TextLines.lineRanges(bytes)
            for (index, range) in lines.enumerated() {
                let fieldRanges = Self.split(range, of: bytes, at: UInt8(ascii: "\t"))
                let line = index + 1
                guard let fields = Self.strings(fieldRanges, of: bytes) else {
                    try loader.report(CorpusProblem(file: file, line: line, kind: .invalidUTF8))
                    continue
                }
                guard fields.count >= 2 else {
                    try loader.report(CorpusProblem(file: file, line: line, kind: .wrongColumnCount(found: fields.count)))
                    continue
                }
                try loader.add(source: fields[0], references: Array(fields[1...]), line: line)
            }
            return lines.count
        }
        name = file
        pairs = loader.pairs
        problems = loader.problems
    }

    /// Reads two aligned files: line i of `source` translates to line i of `target`.
    public init(source sourceURL: URL, target targetURL: URL, options: CorpusOptions = CorpusOptions()) throws {
        let (sourceFile, targetFile) = (sourceURL.relativePath, targetURL.relativePath)
        var loader = Loader(options: options, sourceFile: sourceFile, targetFile: targetFile)
        let sourceData = try Self.contents(of: sourceURL)
        let targetData = try Self.contents(of: targetURL)
        lineCount = try sourceData.withUnsafeBytes { sourceRaw in
            try targetData.withUnsafeBytes { targetRaw in
                let sourceBytes = sourceRaw.bindMemory(to: UInt8.self)
                let targetBytes = targetRaw.bindMemory(to: UInt8.self)
                let sourceLines = TextLines.lineRanges(sourceBytes)
                let targetLines = TextLines.lineRanges(targetBytes)
                guard sourceLines.count == targetLines.count else {
                    // Name the first line that has no partner, in the longer file.
                    let longer = sourceLines.count > targetLines.count ? sourceFile : targetFile
                    throw CorpusProblem(
                        file: longer, line: min(sourceLines.count, targetLines.count) + 1,
                        kind: .lineCountMismatch(sourceLines: sourceLines.count, targetLines: targetLines.count))
                }
                for (index, (sourceRange, targetRange)) in zip(sourceLines, targetLines).enumerated() {
                    let line = index + 1
                    guard let source = Self.string(sourceRange, of: sourceBytes) else {
                        try loader.report(CorpusProblem(file: sourceFile, line: line, kind: .invalidUTF8))
                        continue
                    }
                    guard let target = Self.string(targetRange, of: targetBytes) else {
                        try loader.report(CorpusProblem(file: targetFile, line: line, kind: .invalidUTF8))
                        continue
                    }
                    try loader.add(source: source, references: [target], line: line)
                }
                return sourceLines.count
            }
        }
        name = "\(sourceFile) + \(targetFile)"
        pairs = loader.pairs
        problems = loader.problems
    }

    /// One line: how many pairs were kept and how many lines were skipped, by kind.
    /// `train.tsv: 135590 pairs from 135594 lines; skipped 4 (3 empty field, 1 length ratio)`.
    public var summary: String {
        var text = "\(name): \(pairs.count) pairs from \(lineCount) lines"
        if !problems.isEmpty {
            var counts: [String: Int] = [:]
            for problem in problems { counts[problem.category, default: 0] += 1 }
            let details = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            text += "; skipped \(problems.count) (\(details))"
        }
        return text
    }

    /// The lines of a UTF-8 text file, read as a corpus file is (the rule of `TextLines`). Invalid
    /// UTF-8 is a `CorpusProblem` naming the line: the lines must stay in step with another file's.
    public static func readLines(of url: URL) throws -> [String] {
        let file = url.relativePath
        do {
            return try TextLines.strings(in: try contents(of: url), source: file)
        } catch let error as LineError {
            throw CorpusProblem(file: file, line: error.line, kind: .invalidUTF8)
        }
    }

    // MARK: Reading bytes

    private static func contents(of url: URL) throws -> Data {
        do {
            return try TextLines.read(url)
        } catch let error as FileError {
            throw CorpusProblem(file: url.relativePath, line: nil, kind: .unreadable(reason: error.reason))
        }
    }

    /// The pieces of `range` between occurrences of `separator`.
    private static func split(_ range: Range<Int>, of bytes: UnsafeBufferPointer<UInt8>, at separator: UInt8) -> [Range<Int>] {
        var fields: [Range<Int>] = []
        var start = range.lowerBound
        for index in range where bytes[index] == separator {
            fields.append(start..<index)
            start = index + 1
        }
        fields.append(start..<range.upperBound)
        return fields
    }

    /// The range decoded as UTF-8, or nil if it is invalid.
    private static func string(_ range: Range<Int>, of bytes: UnsafeBufferPointer<UInt8>) -> String? {
        TextLines.string(utf8: UnsafeBufferPointer(rebasing: bytes[range]))
    }

    /// The ranges decoded as UTF-8, or nil if any is invalid. (A tab or newline byte never occurs
    /// inside a multi-byte UTF-8 sequence, so validating the pieces validates the line.)
    private static func strings(_ ranges: [Range<Int>], of bytes: UnsafeBufferPointer<UInt8>) -> [String]? {
        var strings: [String] = []
        strings.reserveCapacity(ranges.count)
        for range in ranges {
            guard let string = string(range, of: bytes) else { return nil }
            strings.append(string)
        }
        return strings
    }

    // MARK: Checking pairs

    /// Applies the checks to each pair and collects what is kept and what is reported.
    private struct Loader {
        let options: CorpusOptions
        let sourceFile: String
        let targetFile: String
        var pairs: [SentencePair] = []
        var problems: [CorpusProblem] = []

        mutating func report(_ problem: CorpusProblem) throws {
            if options.strict { throw problem }
            problems.append(problem)
        }

        mutating func add(source: String, references: [String], line: Int) throws {
            if let problem = problem(source: source, references: references, line: line) {
                try report(problem)
            } else {
                pairs.append(SentencePair(source: source, references: references, line: line))
            }
        }

        private func problem(source: String, references: [String], line: Int) -> CorpusProblem? {
            if isBlank(source) { return CorpusProblem(file: sourceFile, line: line, kind: .emptySource) }
            if isBlank(references[0]) { return CorpusProblem(file: targetFile, line: line, kind: .emptyTarget) }
            if let column = references.indices.dropFirst().first(where: { isBlank(references[$0]) }) {
                return CorpusProblem(file: targetFile, line: line, kind: .emptyReference(column: column + 2))
            }
            let sides = [(source, sourceFile), (references[0], targetFile)]
            if let limit = options.maxCharacters {
                for (text, file) in sides where text.unicodeScalars.count > limit {
                    return CorpusProblem(file: file, line: line,
                                         kind: .tooManyCharacters(count: text.unicodeScalars.count, limit: limit))
                }
            }
            if let limit = options.maxWords {
                for (text, file) in sides where wordCount(text) > limit {
                    return CorpusProblem(file: file, line: line, kind: .tooManyWords(count: wordCount(text), limit: limit))
                }
            }
            if let limit = options.maxLengthRatio {
                let lengths = [source.unicodeScalars.count, references[0].unicodeScalars.count]
                let ratio = Double(lengths.max()!) / Double(lengths.min()!)
                if ratio > limit {
                    return CorpusProblem(file: sourceFile, line: line, kind: .lengthRatio(ratio: ratio, limit: limit))
                }
            }
            return nil
        }

        private func isBlank(_ text: String) -> Bool {
            text.unicodeScalars.allSatisfy(\.properties.isWhitespace)
        }

        private func wordCount(_ text: String) -> Int {
            var count = 0
            var inWord = false
            for scalar in text.unicodeScalars {
                let isSpace = scalar.properties.isWhitespace
                if !isSpace && !inWord { count += 1 }
                inWord = !isSpace
            }
            return count
        }
    }
}
