import TextIO

/// The BPE model of tokenizer.json: a vocabulary, ranked merges, and what to do with characters
/// outside the vocabulary (byte fallback, else the unknown token).
struct BPEModel: Sendable {
    /// Piece → id.
    let vocabulary: ByteKeyTable<Int32>
    /// Merges in rank order (rank 0 first), as ids of the two pieces.
    let merges: [(left: Int32, right: Int32)]
    /// `left << 32 | right` → `rank << 32 | merged id`.
    private let mergeTable: [UInt64: UInt64]
    let unknownToken: String?
    let unknownId: Int32?
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// The id of `<0xNN>` for each byte, or -1.
    let byteIds: [Int32]

    /// Builds the model from its vocabulary (piece → id) and merges (pairs of pieces in rank
    /// order); `source` names the file for errors. Every merge's two pieces and their
    /// concatenation must be in the vocabulary.
    init(
        vocabulary: ByteKeyTable<Int32>,
        merges: [(String, String)],
        unknownToken: String?,
        fuseUnknown: Bool,
        byteFallback: Bool,
        ignoreMerges: Bool,
        source: String
    ) throws {
        func id(_ piece: String, _ context: String) throws -> Int32 {
            guard let id = vocabulary.value(forKey: piece.utf8) else {
                throw TokenizerError(source: source, message: "\(context): \(JSON.quoted(piece)) is not in the vocabulary")
            }
            return id
        }
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        var pairs: [(left: Int32, right: Int32)] = []
        pairs.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            let context = "model.merges[\(rank)]"
            let pair = (try id(left, context), try id(right, context))
            let merged = try id(left + right, context)
            pairs.append(pair)
            table[pairKey(pair.0, pair.1)] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
        }
        self.vocabulary = vocabulary
        self.merges = pairs
        self.mergeTable = table
        self.unknownToken = unknownToken
        if let unknownToken {
            unknownId = try id(unknownToken, "model.unk_token")
        } else {
            unknownId = nil
        }
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        byteIds = (0..<256).map { vocabulary.value(forKey: byteToken($0).utf8) ?? -1 }
    }

    /// Appends the ids of one pre-token: its characters (by vocabulary, else their bytes, else
    /// the unknown token), then merges applied lowest rank first, leftmost first among equals —
    /// the order tokenizers' BPE gives.
    func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if ignoreMerges, let id = vocabulary.value(for: word) {
            output.append(id)
            return
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var lastWasUnknown = false
        var i = 0
        while i < word.count {
            let length = utf8Length(lead: word[i])
            let character = UnsafeBufferPointer(rebasing: word[i..<min(i + length, word.count)])
            i += length
            if let id = vocabulary.value(for: character) {
                symbols.append(id)
                lastWasUnknown = false
            } else if byteFallback, character.allSatisfy({ byteIds[Int($0)] >= 0 }) {
                for byte in character { symbols.append(byteIds[Int(byte)]) }
                lastWasUnknown = false
            } else if let unknownId {
                if !(fuseUnknown && lastWasUnknown) { symbols.append(unknownId) }
                lastWasUnknown = true
            }
        }
        applyMerges(&symbols)
        output.append(contentsOf: symbols)
    }

    private func merge(_ left: Int32, _ right: Int32) -> UInt64? {
        mergeTable[pairKey(left, right)]
    }

    /// Repeatedly merges the adjacent pair of lowest rank (leftmost among equal ranks). Words are
    /// short, so a scan over the pairs' ranks beats a heap.
    private func applyMerges(_ symbols: inout [Int32]) {
        guard symbols.count > 1 else { return }
        let none = UInt64.max
        var candidates = (0..<symbols.count - 1).map { merge(symbols[$0], symbols[$0 + 1]) ?? none }
        while !candidates.isEmpty {
            var best = 0
            for k in 1..<candidates.count where candidates[k] < candidates[best] { best = k }
            if candidates[best] == none { return }
            symbols[best] = Int32(truncatingIfNeeded: candidates[best] & 0xFFFF_FFFF)
            symbols.remove(at: best + 1)
            candidates.remove(at: best)
            if best > 0 { candidates[best - 1] = merge(symbols[best - 1], symbols[best]) ?? none }
            if best < candidates.count { candidates[best] = merge(symbols[best], symbols[best + 1]) ?? none }
        }
    }
}

/// Two ids as one key: `left << 32 | right`.
@inline(__always)
func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
}

/// The byte-fallback token of `byte`: `<0x41>` for "A".
func byteToken(_ byte: Int) -> String {
    let hex = String(byte, radix: 16, uppercase: true)
    return "<0x" + (hex.count == 1 ? "0" : "") + hex + ">"
}

/// The byte a byte-fallback token stands for (`<0x41>` → 0x41), or nil for other pieces.
func byteOfToken(_ piece: String) -> UInt8? {
    let utf8 = Array(piece.utf8)
    guard utf8.count == 6, utf8.starts(with: "<0x".utf8), utf8[5] == UInt8(ascii: ">") else { return nil }
    return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
}

/// The length of a UTF-8 sequence from its first byte (1 for a stray continuation byte).
@inline(__always)
func utf8Length(lead: UInt8) -> Int {
    switch lead {
    case 0xF0...: return 4
    case 0xE0...: return 3
    case 0xC0...: return 2
    default: return 1
    }
}
