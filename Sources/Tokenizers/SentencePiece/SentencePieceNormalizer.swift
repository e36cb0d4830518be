/// SentencePiece's normalizer: the precompiled character map applied by longest match, then the
/// spec's whitespace rules, exactly as SentencePiece does them (normalizer.cc), quirks included:
///
/// - Text matching a USER_DEFINED piece is copied as it is, never normalized.
/// - A malformed UTF-8 byte becomes U+FFFD, one for each byte.
/// - With `removeExtraWhitespaces`, spaces (after the character map, so NBSP or a tab mapped to
///   a space count) are dropped at the start and collapsed inside; at the end every trailing
///   "▁" goes — even one that was a literal U+2581 in the input.
/// - `addDummyPrefix` puts one "▁" in front (behind, with `treat_whitespace_as_suffix`) of a
///   text that is not empty after the leading spaces went.
///
/// The name of the rule set (`nmt_nfkc`, `nfkc`, `nmt_nfkc_cf`, `nfkc_cf`, `identity`,
/// `user_defined`) is not consulted: SentencePiece compiled those rules into the charsmap when
/// it trained the model, and an empty charsmap means no mapping at all.
struct SentencePieceNormalizer: Sendable {
    let charsMap: PrecompiledCharsMap?
    /// The USER_DEFINED pieces, which pass through unnormalized (nil for none).
    let userDefined: PieceTrie?
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    let treatWhitespaceAsSuffix: Bool
    /// By ASCII byte: whether it normalizes to itself without a lookup — 2 always (no charsmap
    /// or USER_DEFINED key starts with it), 1 when the next byte is ASCII too or the text ends
    /// (letters, which keys combine with marks), 0 never. Most of most text takes this path.
    private let plainASCII: [UInt8]

    init(spec: ModelProto.NormalizerSpec, treatWhitespaceAsSuffix: Bool, userDefined: PieceTrie?) throws {
        let charsMap = spec.precompiledCharsmap.isEmpty ? nil : try PrecompiledCharsMap(spec.precompiledCharsmap)
        self.charsMap = charsMap
        self.userDefined = userDefined
        addDummyPrefix = spec.addDummyPrefix
        removeExtraWhitespaces = spec.removeExtraWhitespaces
        escapeWhitespaces = spec.escapeWhitespaces
        self.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix
        plainASCII = (0..<128).map { value in
            let byte = UInt8(value)
            if userDefined?.startsKey(byte) ?? false { return 0 }
            guard let charsMap else { return 2 }
            return !charsMap.hasKey(startingWith: byte) ? 2 : charsMap.hasNoKey(startingWithASCII: byte) ? 1 : 0
        }
    }

    /// What one step of normalization turns the text at a position into.
    private enum Replacement {
        /// The next `length` bytes of the input, unchanged.
        case input(length: Int)
        /// Bytes of the charsmap's string table.
        case table(Range<Int>)
        /// U+FFFD for one malformed byte.
        case replacementCharacter
    }

    /// The replacement of the text at `text[start...]` and how many input bytes it consumes
    /// (SentencePiece's NormalizePrefix).
    @inline(__always)
    private func prefix(_ text: UnsafeBufferPointer<UInt8>, at start: Int) -> (Replacement, consumed: Int) {
        if let userDefined, let length = userDefined.longestPrefix(of: text, from: start) {
            return (.input(length: length), length)
        }
        if let charsMap, let match = charsMap.longestMatch(text, at: start) {
            return (.table(match.replacement), match.length)
        }
        if let length = SentencePieceUTF8.validLength(text, at: start) { return (.input(length: length), length) }
        return (.replacementCharacter, 1)
    }

    /// Replaces `output` with the normalized form of `text`.
    func normalize(_ text: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        output.reserveCapacity(text.count + text.count / 2 + 8)
        let blob = charsMap?.blob ?? []
        blob.withUnsafeBufferPointer { blob in
            SentencePieceUTF8.replacementCharacter.withUnsafeBufferPointer { replacementCharacter in
                normalize(text, blob: blob, replacementCharacter: replacementCharacter, into: &output)
            }
        }
    }

    private func normalize(_ text: UnsafeBufferPointer<UInt8>, blob: UnsafeBufferPointer<UInt8>,
                           replacementCharacter: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        func bytes(of replacement: Replacement, at start: Int) -> UnsafeBufferPointer<UInt8> {
            switch replacement {
            case .input(let length): return UnsafeBufferPointer(rebasing: text[start..<start + length])
            case .table(let range): return UnsafeBufferPointer(rebasing: blob[range])
            case .replacementCharacter: return replacementCharacter
            }
        }
        var start = 0
        if removeExtraWhitespaces {
            while start < text.count {
                let (replacement, consumed) = prefix(text, at: start)
                let replaced = bytes(of: replacement, at: start)
                guard replaced.count == 1, replaced[0] == 0x20 else { break }
                start += consumed
            }
        }
        guard start < text.count else { return }
        let space: [UInt8] = escapeWhitespaces ? SentencePieceUTF8.spaceSymbol : [0x20]
        if !treatWhitespaceAsSuffix && addDummyPrefix { output += space }

        var isPreviousSpace = removeExtraWhitespaces
        while start < text.count {
            let byte = text[start]
            if byte < 0x80, case let plain = plainASCII[Int(byte)], plain == 2 || (plain == 1 && (start + 1 == text.count || text[start + 1] < 0x80)) {
                // The general step below, for a replacement of one byte that is itself.
                if byte != 0x20 {
                    output.append(byte)
                    isPreviousSpace = false
                } else if !isPreviousSpace {
                    output += space
                    isPreviousSpace = removeExtraWhitespaces
                }
                start += 1
                continue
            }
            let (replacement, consumed) = prefix(text, at: start)
            var replaced = bytes(of: replacement, at: start)[...]
            while isPreviousSpace, replaced.first == 0x20 { replaced = replaced.dropFirst() }
            if !replaced.isEmpty {
                for byte in replaced {
                    if escapeWhitespaces && byte == 0x20 { output += SentencePieceUTF8.spaceSymbol } else { output.append(byte) }
                }
                isPreviousSpace = replaced.last == 0x20
            }
            start += consumed
            if !removeExtraWhitespaces { isPreviousSpace = false }
        }
        if removeExtraWhitespaces {
            while output.count >= space.count, output[(output.count - space.count)...].elementsEqual(space) {
                output.removeLast(space.count)
            }
        }
        if treatWhitespaceAsSuffix && addDummyPrefix { output += space }
    }
}
