import Foundation

/// Lines of text, read as bytes. The one rule for every file and stream nmt reads a line at a time
/// (corpora, sentences to translate, hypotheses and references, `nmt tokenize` input):
///
/// - A line ends at "\n"; a "\r" before it is dropped. A UTF-8 byte order mark at the very start
///   is dropped. A last line without "\n" counts; the empty "line" after a final "\n" does not.
/// - A line that is not well-formed UTF-8 is never repaired (no U+FFFD) and never dropped
///   silently: the reader hands the caller its 1-based number instead of its text. The caller
///   either skips it and says so on standard error (`file:7: invalid UTF-8, line skipped`: vocab
///   learning, tokenizing, training corpora), or, where every line must stay in step with
///   another file or with the output (`--strict`, test sets, hypotheses and references, `nmt
///   translate`), stops with an error naming `file:line`.
public enum TextLines {
    /// The bytes of a file, or a `FileError` naming it and the reason in a few words.
    public static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw FileError(path: url.relativePath, action: "cannot read the file", reason: FileError.reason(for: error, at: url))
        }
    }

    /// The text of `bytes` if they are well-formed UTF-8 (no overlong forms, no surrogates,
    /// nothing above U+10FFFF), or nil.
    public static func string(utf8 bytes: UnsafeBufferPointer<UInt8>) -> String? {
        isValidUTF8(bytes) ? String(decoding: bytes, as: UTF8.self) : nil
    }

    /// The byte ranges of the lines of `bytes`, without their "\n" or "\r\n". `atStart`: the bytes
    /// begin the input, so a byte order mark there is dropped.
    public static func lineRanges(_ bytes: UnsafeBufferPointer<UInt8>, atStart: Bool = true) -> [Range<Int>] {
        guard let base = bytes.baseAddress.map(UnsafeRawPointer.init) else { return [] }
        var start = 0
        if atStart && bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        var lines: [Range<Int>] = []
        lines.reserveCapacity(bytes.count / 40)
        while start < bytes.count {
            let end = memchr(base + start, 0x0A, bytes.count - start).map { base.distance(to: $0) } ?? bytes.count
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            lines.append(start..<lineEnd)
            start = end + 1
        }
        return lines
    }

    /// Calls `body` with each line of `data` that is valid UTF-8 and its 1-based number, and
    /// `invalid` with the number of each line that is not. With a `separator` (a tab for TSV),
    /// each non-empty field of a line is passed on its own; the split is done on the bytes, which
    /// is many times faster than splitting a `String` by `Character`.
    public static func forEachLine(
        in data: Data,
        separator: UInt8? = nil,
        _ body: (_ text: String, _ number: Int) throws -> Void,
        invalid: (_ number: Int) throws -> Void
    ) rethrows {
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            for (index, range) in lineRanges(bytes).enumerated() {
                let line = UnsafeBufferPointer(rebasing: bytes[range])
                guard isValidUTF8(line) else {
                    try invalid(index + 1)
                    continue
                }
                guard let separator else {
                    try body(String(decoding: line, as: UTF8.self), index + 1)
                    continue
                }
                for field in line.split(separator: separator) {
                    try body(String(decoding: UnsafeBufferPointer(rebasing: field), as: UTF8.self), index + 1)
                }
            }
        }
    }

    /// Every line of `data` as text; the first invalid one is a `LineError` naming `source:line`.
    public static func strings(in data: Data, source: String) throws -> [String] {
        var lines: [String] = []
        try forEachLine(in: data, { text, _ in lines.append(text) },
                        invalid: { number in throw LineError(source: source, line: number, reason: "not valid UTF-8") })
        return lines
    }
}

/// A line that cannot be used: `file:7: not valid UTF-8`.
public struct LineError: Error, Sendable, CustomStringConvertible, Equatable {
    public var source: String
    public var line: Int
    public var reason: String

    public var description: String { "\(source):\(line): \(reason)" }
}

/// Whether `bytes` is well-formed UTF-8 (Unicode Table 3-7). ASCII runs are checked eight bytes
/// at a time, since corpora are mostly ASCII.
func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    let count = bytes.count
    var i = 0
    while i < count {
        if i + 8 <= count,
           UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
            i += 8
            continue
        }
        let lead = base[i]
        if lead < 0x80 { i += 1; continue }
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // allowed range of the second byte
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return false
        }
        guard i + length <= count, (low...high).contains(base[i + 1]) else { return false }
        for k in 2..<length where base[i + k] & 0xC0 != 0x80 { return false }
        i += length
    }
    return true
}

extension String {
    /// The text of `bytes` if they are well-formed UTF-8, or nil.
    public init?(validatingUTF8Bytes bytes: [UInt8]) {
        guard let text = bytes.withUnsafeBufferPointer({ TextLines.string(utf8: $0) }) else { return nil }
        self = text
    }
}
