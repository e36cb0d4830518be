/// A SentencePiece `precompiled_charsmap`: the normalization rules compiled into a double-array
/// trie (darts-clone's layout) over UTF-8 byte strings, each key leading to a NUL-terminated
/// replacement in a string blob.
///
/// Layout: a little-endian UInt32 N, N bytes of trie (32-bit little-endian units), the blob.
/// A unit is a value unit when bit 31 is set (the value is bits 0…30); otherwise bits 0…7 are
/// the label (the byte that leads to it), bit 8 says a key ends here (its value unit sits at the
/// node's children base XOR 0), and bits 10…30 are the offset to the children base, shifted
/// left by 8 more when bit 9 is set.
struct PrecompiledCharsMap: Sendable {
    private let units: [UInt32]
    /// Replacement strings; one ends at the first NUL after its offset (or at the end). Index it
    /// with `longestMatch`'s ranges.
    let blob: [UInt8]

    /// Decodes the field's bytes; the problem in words if they do not make a charsmap.
    init(_ bytes: [UInt8]) throws {
        guard bytes.count > 4 else { throw CharsMapProblem("is \(bytes.count) bytes, too short for a trie size and a trie") }
        let trieSize = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard trieSize <= bytes.count - 4 else {
            throw CharsMapProblem("announces a trie of \(trieSize) bytes but holds \(bytes.count - 4)")
        }
        guard trieSize >= 4 else { throw CharsMapProblem("has an empty trie") }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for i in units.indices {
            let at = 4 + 4 * i
            units[i] = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        let blob = Array(bytes[(4 + trieSize)...])
        // A value unit points into the blob; SentencePiece would read past its end otherwise.
        for unit in units where unit & 0x8000_0000 != 0 && Int(unit & 0x7FFF_FFFF) > blob.count {
            throw CharsMapProblem("has a replacement at offset \(unit & 0x7FFF_FFFF), past its \(blob.count)-byte string table")
        }
        self.units = units
        self.blob = blob
    }

    /// The longest key that is a prefix of `text[start...]`: its length and the range of its
    /// replacement in `blob`, or nil when no key matches (darts-clone's
    /// `commonPrefixSearch`, keeping the longest result as SentencePiece does).
    @inline(__always)
    func longestMatch(_ text: UnsafeBufferPointer<UInt8>, at start: Int) -> (length: Int, replacement: Range<Int>)? {
        units.withUnsafeBufferPointer { units in
            var found: (length: Int, value: Int)? = nil
            var position = Int(Self.offset(units[0]))
            var i = start
            while i < text.count {
                let byte = text[i]
                position ^= Int(byte)
                guard position < units.count else { break }
                let unit = units[position]
                guard unit & 0x8000_00FF == UInt32(byte) else { break }  // label, and not a value unit
                position ^= Int(Self.offset(unit))
                i += 1
                if unit & 0x100 != 0 {
                    guard position < units.count else { break }
                    found = (i - start, Int(units[position] & 0x7FFF_FFFF))
                }
            }
            guard let found else { return nil }
            let value = min(found.value, blob.count)
            let end = blob[value...].firstIndex(of: 0) ?? blob.count
            return (found.length, value..<end)
        }
    }

    /// Whether some key starts with `byte` (the root has a child labelled with it).
    func hasKey(startingWith byte: UInt8) -> Bool {
        child(of: Int(Self.offset(units[0])), byte) != nil
    }

    /// Whether a text that starts with the ASCII byte `byte` followed by another ASCII byte (or
    /// nothing) has no key as its prefix: `byte` alone is no key, and no key goes on from it with
    /// an ASCII byte. (Keys go on from letters with combining marks, which are not ASCII.)
    func hasNoKey(startingWithASCII byte: UInt8) -> Bool {
        guard let node = child(of: Int(Self.offset(units[0])), byte) else { return true }
        let unit = units[node]
        let base = node ^ Int(Self.offset(unit))
        return unit & 0x100 == 0 && (0..<0x80).allSatisfy { child(of: base, UInt8($0)) == nil }
    }

    /// The position of the child labelled `byte` of the node whose children start at `base`.
    private func child(of base: Int, _ byte: UInt8) -> Int? {
        let position = base ^ Int(byte)
        return position < units.count && units[position] & 0x8000_00FF == UInt32(byte) ? position : nil
    }

    @inline(__always)
    private static func offset(_ unit: UInt32) -> UInt32 {
        (unit >> 10) << ((unit & 0x200) >> 6)
    }
}

/// Why a `precompiled_charsmap` cannot be used, in words.
struct CharsMapProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
