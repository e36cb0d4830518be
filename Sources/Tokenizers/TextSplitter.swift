import Foundation

/// When Metaspace puts a "▁" in front of a piece of text (tokenizer.json `prepend_scheme`).
enum PrependScheme: String, Sendable {
    /// Before every piece of text (pieces are separated by added tokens) not starting with one.
    case always
    /// Only before the text at the very start of the input.
    case first
    case never
}

/// The Metaspace pre-tokenizer: spaces become `replacement` ("▁"), a "▁" is prepended as the
/// scheme says, and with `split` the text is cut in front of every "▁" (tokenizers'
/// `MergedWithNext`), so runs of spaces give one "▁" piece per space.
struct Metaspace: Sendable, Equatable {
    var replacement: Unicode.Scalar = "▁"
    var prependScheme: PrependScheme = .always
    var split = true
}

/// An entry of tokenizer.json `added_tokens`: matched in the raw text before normalization.
struct AddedToken: Sendable, Equatable {
    var id: Int32
    var content: String
    var special: Bool
}

/// Text → added-token ids and pre-tokens ("words", each starting with "▁" when split), the part
/// of encoding that comes before the BPE model. Learning uses it too, so learned pieces see
/// exactly the words that encoding will look up.
struct TextSplitter: Sendable {
    let addedTokens: [AddedToken]
    let normalizer: Normalizer
    let metaspace: Metaspace

    /// The added tokens' bytes, longest first, so the first match at a position is the longest
    /// (tokenizers matches leftmost-longest).
    private let matchOrder: [(bytes: [UInt8], id: Int32)]
    /// Whether a byte can start an added token: most text has no "<" at all.
    private let startsToken: [Bool]
    private let replacement: [UInt8]

    init(addedTokens: [AddedToken], normalizer: Normalizer, metaspace: Metaspace) {
        self.addedTokens = addedTokens
        self.normalizer = normalizer
        self.metaspace = metaspace
        matchOrder = addedTokens
            .filter { !$0.content.isEmpty }
            .map { (Array($0.content.utf8), $0.id) }
            .sorted { $0.bytes.count > $1.bytes.count }
        var startsToken = [Bool](repeating: false, count: 256)
        for token in matchOrder { startsToken[Int(token.bytes[0])] = true }
        self.startsToken = startsToken
        replacement = Array(String(metaspace.replacement).utf8)
    }

    /// What `split` produces: words side by side in `bytes`, and `items` in text order, each
    /// either a word (its end offset in `bytes`, ≥ 0; it starts where the previous word ended)
    /// or an added token (`-1 - id`).
    struct Output {
        var bytes: [UInt8] = []
        var items: [Int] = []
        /// Scratch for normalization, kept to reuse its storage.
        fileprivate var normalized: [UInt8] = []

        init(capacity: Int = 64) {
            bytes.reserveCapacity(capacity * 2)
            items.reserveCapacity(capacity / 2)
            normalized.reserveCapacity(capacity)
        }

        mutating func removeAll() {
            bytes.removeAll(keepingCapacity: true)
            items.removeAll(keepingCapacity: true)
        }

        /// Calls `word` with each word's bytes and `addedToken` with each added token's id.
        @inline(__always)
        func forEach(word: (UnsafeBufferPointer<UInt8>) -> Void, addedToken: (Int32) -> Void) {
            bytes.withUnsafeBufferPointer { bytes in
                var start = 0
                for item in items {
                    if item < 0 {
                        addedToken(Int32(-1 - item))
                    } else {
                        word(UnsafeBufferPointer(rebasing: bytes[start..<item]))
                        start = item
                    }
                }
            }
        }
    }

    /// Appends the words and added tokens of `text` to `output`.
    func split(_ text: String, into output: inout Output) {
        var text = text
        text.withUTF8 { bytes in
            var segmentStart = 0
            var i = 0
            if !matchOrder.isEmpty {
                while i < bytes.count {
                    guard startsToken[Int(bytes[i])], let (length, id) = addedToken(at: i, in: bytes) else {
                        i += 1
                        continue
                    }
                    splitSegment(bytes, segmentStart..<i, into: &output)
                    output.items.append(-1 - Int(id))
                    i += length
                    segmentStart = i
                }
            }
            splitSegment(bytes, segmentStart..<bytes.count, into: &output)
        }
    }

    private func addedToken(at position: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (length: Int, id: Int32)? {
        for token in matchOrder where token.bytes.count <= bytes.count - position {
            if token.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, bytes.baseAddress! + position, $0.count) == 0 }) {
                return (token.bytes.count, token.id)
            }
        }
        return nil
    }

    /// Normalizes and pre-tokenizes the text between two added tokens.
    private func splitSegment(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into output: inout Output) {
        guard !range.isEmpty else { return }
        let raw = UnsafeBufferPointer(rebasing: text[range])
        output.normalized.removeAll(keepingCapacity: true)
        if normalizer.normalize(raw, into: &output.normalized) == .unchanged {
            preTokenize(raw, atStart: range.lowerBound == 0, into: &output)
        } else {
            let normalized = output.normalized  // a second reference, so `output` can change
            normalized.withUnsafeBufferPointer { preTokenize($0, atStart: range.lowerBound == 0, into: &output) }
        }
    }

    /// Metaspace: spaces become the replacement, one is prepended as the scheme says, and (with
    /// `split`) a word ends before every replacement but one at the very start. Runs of other
    /// bytes are copied whole.
    private func preTokenize(_ text: UnsafeBufferPointer<UInt8>, atStart: Bool, into output: inout Output) {
        guard !text.isEmpty else { return }
        let startsWithReplacement = text[0] == UInt8(ascii: " ") || text.starts(with: replacement)
        let prepend: Bool
        switch metaspace.prependScheme {
        case .always: prepend = !startsWithReplacement
        case .first: prepend = !startsWithReplacement && atStart
        case .never: prepend = false
        }
        let segmentStart = output.bytes.count
        if prepend { output.bytes.append(contentsOf: replacement) }
        let lead = replacement[0]
        var run = 0
        var i = 0
        while i < text.count {
            let byte = text[i]
            let length: Int
            if byte == UInt8(ascii: " ") {
                length = 1
            } else if byte == lead, text[i...].starts(with: replacement) {
                // UTF-8 is self-synchronizing: a byte match is a match of the scalar.
                length = replacement.count
            } else {
                i += 1
                continue
            }
            output.bytes.append(contentsOf: text[run..<i])
            if metaspace.split, output.bytes.count > segmentStart { output.items.append(output.bytes.count) }
            output.bytes.append(contentsOf: replacement)
            i += length
            run = i
        }
        output.bytes.append(contentsOf: text[run...])
        output.items.append(output.bytes.count)
    }
}
