import Foundation

/// Reads a file or a stream (standard input, a pipe) a line at a time without holding it whole,
/// by the rule of `TextLines`.
public enum LineReader {
    /// Calls `body` with each line that is valid UTF-8 and its 1-based number, `invalid` with the
    /// number of each line that is not, and `whenWaiting` whenever every line read so far has been
    /// delivered and reading more would block (a pipe or terminal with nothing ready; never for a
    /// regular file), so a caller can answer lines typed one at a time. `source` names the input
    /// in a read error.
    public static func forEachLine(of descriptor: Int32, source: String,
                                   _ body: (_ text: String, _ number: Int) throws -> Void,
                                   invalid: (_ number: Int) throws -> Void,
                                   whenWaiting: () throws -> Void = {}) throws {
        var buffer: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 1 << 16)
        var delivered = 0  // lines so far
        /// Delivers the lines of buffer[..<end] (which ends a line, or the input).
        func deliver(upTo end: Int) throws {
            try buffer.withUnsafeBufferPointer { all in
                let bytes = UnsafeBufferPointer(rebasing: all[..<end])
                for range in TextLines.lineRanges(bytes, atStart: delivered == 0) {
                    delivered += 1
                    if let text = TextLines.string(utf8: UnsafeBufferPointer(rebasing: bytes[range])) {
                        try body(text, delivered)
                    } else {
                        try invalid(delivered)
                    }
                }
            }
            buffer.removeFirst(end)
        }
        while true {
            if !hasInputReady(descriptor) { try whenWaiting() }
            // read(2) itself: FileHandle's reads wait for the whole count or the end of the input,
            // which would hold back lines that have arrived.
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw FileError(path: source, action: "cannot be read", reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            buffer.append(contentsOf: block[..<count])
            if let lastNewline = buffer.lastIndex(of: UInt8(ascii: "\n")) { try deliver(upTo: lastNewline + 1) }
        }
        if !buffer.isEmpty { try deliver(upTo: buffer.count) }
    }

    /// Whether a read of `descriptor` would return at once (data or end of file).
    private static func hasInputReady(_ descriptor: Int32) -> Bool {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, 0) != 0
    }
}
