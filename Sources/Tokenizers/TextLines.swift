import Foundation

/// Reading text one line at a time as bytes, so one line of invalid UTF-8 in a corpus can be
/// reported by its number and skipped instead of silently turned into U+FFFD.
public enum TextLines {
    /// The bytes of a file; the error names the file and the reason in a few words.
    public static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            var isDirectory: ObjCBool = false
            let reason = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
                ? "it is a directory" : describeFileError(error)
            throw TokenizerError(source: url.relativePath, message: "cannot read the file (\(reason))")
        }
    }

    /// The text of `bytes` if they are well-formed UTF-8 (no overlong forms, no surrogates,
    /// nothing above U+10FFFF), or nil.
    public static func string(utf8 bytes: UnsafeBufferPointer<UInt8>) -> String? {
        isValidUTF8(bytes) ? String(decoding: bytes, as: UTF8.self) : nil
    }

    /// Calls `body` with each line of `data` that is valid UTF-8 and its 1-based number, and
    /// `invalid` with the number of each line that is not. Lines end at "\n"; a "\r" before it
    /// is dropped, and so is an empty last line after a final newline. With a `separator` (a tab
    /// for TSV), each non-empty field of a line is passed on its own; the split is done on the
    /// bytes, which is many times faster than splitting a `String` by `Character`.
    public static func forEachLine(
        in data: Data,
        separator: UInt8? = nil,
        _ body: (_ text: String, _ number: Int) throws -> Void,
        invalid: (_ number: Int) throws -> Void
    ) rethrows {
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            var number = 0
            while start < bytes.count {
                number += 1
                var end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
                let next = end + 1
                if end > start, bytes[end - 1] == 0x0D { end -= 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
                start = next
                guard isValidUTF8(line) else {
                    try invalid(number)
                    continue
                }
                guard let separator else {
                    try body(String(decoding: line, as: UTF8.self), number)
                    continue
                }
                for field in line.split(separator: separator) {
                    try body(String(decoding: UnsafeBufferPointer(rebasing: field), as: UTF8.self), number)
                }
            }
        }
    }
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
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        guard let text = bytes.withUnsafeBufferPointer({ TextLines.string(utf8: $0) }) else { return nil }
        self = text
    }
}
