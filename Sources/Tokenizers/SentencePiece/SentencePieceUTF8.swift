/// UTF-8 as SentencePiece reads it: characters are stepped over by their lead byte alone (so a
/// stray continuation byte is a character of one byte), and a sequence is valid when it is
/// well-formed UTF-8 of one scalar (no overlong forms, no surrogates, nothing above U+10FFFF).
enum SentencePieceUTF8 {
    /// The length a lead byte announces: 1 for ASCII and for continuation bytes (0x80–0xBF),
    /// 2 for 0xC0–0xDF, 3 for 0xE0–0xEF, 4 for 0xF0–0xFF.
    @inline(__always)
    static func characterLength(lead: UInt8) -> Int {
        // Nibble table "1111 1111 1111 2234", as SentencePiece's OneCharLen.
        let table: UInt64 = 0x4322_1111_1111_1111
        return Int((table >> (UInt64(lead >> 4) * 4)) & 0xF)
    }

    /// The byte length of the scalar at `text[start...]` if it is well-formed UTF-8, else nil.
    @inline(__always)
    static func validLength(_ text: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        let lead = text[start]
        if lead < 0x80 { return 1 }
        let left = text.count - start
        @inline(__always) func trail(_ k: Int) -> UInt32? {
            let byte = text[start + k]
            return byte & 0xC0 == 0x80 ? UInt32(byte & 0x3F) : nil
        }
        switch lead {
        case 0xC0...0xDF where left >= 2:
            guard let b1 = trail(1) else { return nil }
            let scalar = UInt32(lead & 0x1F) << 6 | b1
            return scalar >= 0x80 ? 2 : nil
        case 0xE0...0xEF where left >= 3:
            guard let b1 = trail(1), let b2 = trail(2) else { return nil }
            let scalar = UInt32(lead & 0x0F) << 12 | b1 << 6 | b2
            return scalar >= 0x800 && !(0xD800...0xDFFF).contains(scalar) ? 3 : nil
        case 0xF0...0xF7 where left >= 4:
            guard let b1 = trail(1), let b2 = trail(2), let b3 = trail(3) else { return nil }
            let scalar = UInt32(lead & 0x07) << 18 | b1 << 12 | b2 << 6 | b3
            return (0x10000...0x10FFFF).contains(scalar) ? 4 : nil
        default:
            return nil
        }
    }

    /// U+FFFD, what SentencePiece puts in place of each byte of malformed UTF-8.
    static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]
    /// U+2581 "▁", SentencePiece's visible space.
    static let spaceSymbol: [UInt8] = [0xE2, 0x96, 0x81]
}
