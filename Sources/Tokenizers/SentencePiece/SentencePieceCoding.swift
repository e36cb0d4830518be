import Foundation

extension SentencePieceModel {
    /// Buffers for encoding, reused from one text to the next so that encoding a corpus does not
    /// allocate per line. After `encode(_:into:)`, `tokens` hold the result.
    public struct Encoding {
        /// The normalized text, which the tokens' ranges index.
        public internal(set) var normalized: [UInt8] = []
        /// The pieces: an id and the byte range of its text in `normalized`.
        public internal(set) var tokens: [Token] = []
        var raw: [RawPiece] = []
        var ends: [UnigramSegmenter.PathEnd] = []
        var bpe = BPESegmenter.Scratch()

        public init() {}
    }

    /// Encodings lent to `encode` calls, so that the one-call API does not allocate its buffers
    /// for every text (that took about a third of the time of encoding a Tatoeba sentence).
    final class EncodingPool: @unchecked Sendable {
        private let lock = NSLock()
        private var free: [Encoding] = []

        func withEncoding<Result>(_ body: (inout Encoding) -> Result) -> Result {
            lock.lock()
            var encoding = free.popLast() ?? Encoding()
            lock.unlock()
            defer {
                lock.lock()
                if free.count < 64 { free.append(encoding) }
                lock.unlock()
            }
            return body(&encoding)
        }
    }

    /// One piece of an encoding.
    public struct Token: Sendable, Equatable {
        public var id: Int32
        /// Where the piece's text lies in `Encoding.normalized`; for a byte piece, its one byte.
        public var start: Int32
        public var end: Int32
    }

    // MARK: Encoding

    /// Normalizes and segments `text` (any bytes: malformed UTF-8 is handled as SentencePiece
    /// does) into `encoding`.
    public func encode(_ text: UnsafeBufferPointer<UInt8>, into encoding: inout Encoding) {
        normalizer.normalize(text, into: &encoding.normalized)
        encoding.raw.removeAll(keepingCapacity: true)
        encoding.tokens.removeAll(keepingCapacity: true)
        encoding.normalized.withUnsafeBufferPointer { normalized in
            switch segmenter {
            case .unigram(let unigram): unigram.segment(normalized, ends: &encoding.ends, into: &encoding.raw)
            case .bpe(let bpe): bpe.segment(normalized, scratch: &encoding.bpe, into: &encoding.raw)
            }
        }
        // Adjacent unknown pieces become one; with byte fallback each becomes its bytes.
        var previousUnknown = false
        for piece in encoding.raw {
            let isUnknown = types[Int(piece.id)] == .unknown
            if isUnknown && byteFallback {
                for k in piece.start..<piece.end {
                    encoding.tokens.append(Token(id: byteIds[Int(encoding.normalized[Int(k)])], start: k, end: k + 1))
                }
            } else if isUnknown && previousUnknown {
                encoding.tokens[encoding.tokens.count - 1].end = piece.end
            } else {
                encoding.tokens.append(Token(id: piece.id, start: piece.start, end: piece.end))
            }
            previousUnknown = isUnknown
        }
    }

    /// The text of a token as `encode(text, out_type=str)` gives it: the piece, or for an
    /// unknown piece the normalized text it covers.
    public func tokenBytes(_ token: Token, in encoding: Encoding) -> ArraySlice<UInt8> {
        if types[Int(token.id)] == .unknown { return encoding.normalized[Int(token.start)..<Int(token.end)] }
        return pieces[Int(token.id)]
    }

    /// The ids of `text`, as `SentencePieceProcessor.encode(text)`.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { encode(bytes: $0) }
    }

    /// The ids of UTF-8 (or malformed) bytes, as `SentencePieceProcessor.encode(bytes)`.
    public func encode(bytes: UnsafeBufferPointer<UInt8>) -> [Int] {
        encodings.withEncoding { encoding in
            encode(bytes, into: &encoding)
            return encoding.tokens.map { Int($0.id) }
        }
    }

    /// The pieces of `text`, as `SentencePieceProcessor.encode(text, out_type=str)`.
    public func encodeAsPieces(_ text: String) -> [String] {
        var text = text
        return encodings.withEncoding { encoding in
            text.withUTF8 { encode($0, into: &encoding) }
            return encoding.tokens.map { String(decoding: tokenBytes($0, in: encoding), as: UTF8.self) }
        }
    }

    /// `text` normalized, as `SentencePieceProcessor.normalize(text)`.
    public func normalize(_ text: String) -> String {
        var text = text
        var output: [UInt8] = []
        text.withUTF8 { normalizer.normalize($0, into: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: Decoding

    /// The text of `ids`, as `SentencePieceProcessor.decode(ids)`; ids out of range are skipped
    /// (SentencePiece refuses them).
    public func decode(_ ids: [Int]) -> String {
        String(decoding: decode(pieceBytes: ids.compactMap { pieceBytes(for: $0) }), as: UTF8.self)
    }

    /// The text of `pieces`, as `SentencePieceProcessor.decode_pieces(pieces)`: a piece that is
    /// not in the model passes through as it is.
    public func decode(pieces: [String]) -> String {
        String(decoding: decode(pieceBytes: pieces.map { Array($0.utf8)[...] }), as: UTF8.self)
    }

    /// SentencePiece's Decode: control pieces vanish, `<unk>` becomes the unknown surface, runs of
    /// byte pieces are joined into UTF-8 (U+FFFD for each byte that does not fit), "▁" becomes
    /// a space, and the first piece loses a leading "▁" that the normalizer put there — every
    /// piece up to the first text when extra whitespace is removed.
    func decode(pieceBytes pieces: [ArraySlice<UInt8>]) -> [UInt8] {
        let ids = pieces.map { id(forPiece: $0) }
        var text: [UInt8] = []
        var byteStart = 0
        var isStart = true
        var startSpaceSeen = false
        func appendBytes(_ range: Range<Int>) {
            let bytes = range.map { PieceBytes.byte(ofPiece: pieces[$0]) ?? 0 }
            bytes.withUnsafeBufferPointer { bytes in
                var offset = 0
                while offset < bytes.count {
                    if let length = SentencePieceUTF8.validLength(bytes, at: offset) {
                        text += bytes[offset..<offset + length]
                        offset += length
                    } else {
                        text += SentencePieceUTF8.replacementCharacter
                        offset += 1
                    }
                }
            }
        }
        for (index, id) in ids.enumerated() where !isByte(id) {
            appendBytes(byteStart..<index)
            if startSpaceSeen || !text.isEmpty { isStart = false }
            byteStart = index + 1
            let decoded: ArraySlice<UInt8>
            (decoded, startSpaceSeen) = decodePiece(pieces[index], id: id, atStart: isStart)
            text += decoded
        }
        appendBytes(byteStart..<ids.count)
        guard let denormalizer else { return text }
        var denormalized: [UInt8] = []
        text.withUnsafeBufferPointer { denormalizer.normalize($0, into: &denormalized) }
        return denormalized
    }

    /// One non-byte piece's text, and whether it consumed the normalizer's leading "▁".
    private func decodePiece(_ piece: ArraySlice<UInt8>, id: Int, atStart: Bool) -> (ArraySlice<UInt8>, Bool) {
        if isControl(id) { return ([], false) }
        if isUnknown(id) { return (piece == pieces[id] ? unknownSurface[...] : piece, false) }
        var rest = piece
        var consumedSpace = false
        if atStart && (addDummyPrefix || removeExtraWhitespaces) {
            consumedSpace = rest.starts(with: SentencePieceUTF8.spaceSymbol)
            if consumedSpace { rest = rest.dropFirst(3) }
            if removeExtraWhitespaces { consumedSpace = false }
        }
        return (replacingSpaceSymbols(rest), consumedSpace)
    }

    private func replacingSpaceSymbols(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard bytes.contains(0xE2) else { return bytes }
        var output: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i...].starts(with: SentencePieceUTF8.spaceSymbol) {
                output.append(0x20)
                i += 3
            } else {
                output.append(bytes[i])
                i += 1
            }
        }
        return output[...]
    }
}

/// `<0xHH>` pieces: the byte they stand for.
enum PieceBytes {
    /// The byte a piece `<0xHH>` (two upper-case hex digits, as SentencePiece writes them) stands for.
    static func byte(ofPiece piece: ArraySlice<UInt8>) -> UInt8? {
        let text = Array(piece.prefix(7))
        guard text.count == 6, text[0] == UInt8(ascii: "<"), text[1] == UInt8(ascii: "0"), text[2] == UInt8(ascii: "x"),
              text[5] == UInt8(ascii: ">") else { return nil }
        func digit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        guard let high = digit(text[3]), let low = digit(text[4]) else { return nil }
        return high << 4 | low
    }

    /// `<0xHH>` for `byte`.
    static func piece(of byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return "<0x" + (digits.count == 1 ? "0" : "") + digits + ">"
    }
}
