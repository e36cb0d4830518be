/// BPE segmentation as SentencePiece does it (bpe_model.cc): the text split into characters
/// (a USER_DEFINED piece is one symbol that never merges), then repeatedly the adjacent pair whose
/// concatenation is the best-scoring piece merges — ties to the leftmost pair — until no pair
/// makes a piece. An UNUSED piece produced on the way is split back into the two symbols it was
/// merged from, recursively.
struct BPESegmenter: Sendable {
    /// NORMAL, USER_DEFINED and UNUSED pieces → id.
    let pieces: PieceTrie
    let userDefined: PieceTrie?
    let scores: [Float]
    let types: [ModelProto.PieceType]
    /// Looks a piece up as SentencePiece's PieceToId does (reserved pieces first, else `<unk>`).
    let pieceToId: @Sendable (UnsafeBufferPointer<UInt8>) -> Int

    private struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
        var frozen: Bool
    }

    /// A candidate merge in the agenda: a max-heap on score, then on the smaller left index.
    private struct Pair {
        var score: Float
        var left: Int
        var right: Int
        var length: Int

        func comesBefore(_ other: Pair) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// Appends the pieces of `text` to `output` as (id, start, end).
    func segment(_ text: UnsafeBufferPointer<UInt8>, into output: inout [RawPiece]) {
        var symbols: [Symbol] = []
        var start = 0
        while start < text.count {
            var length = min(SentencePieceUTF8.characterLength(lead: text[start]), text.count - start)
            var frozen = false
            if let userDefined, let matched = userDefined.longestPrefix(of: text, from: start) {
                length = matched
                frozen = true
            }
            symbols.append(Symbol(start: start, length: length, previous: symbols.count - 1,
                                  next: start + length < text.count ? symbols.count + 1 : -1, frozen: frozen))
            start += length
        }
        guard !symbols.isEmpty else { return }

        var agenda = Heap()
        /// Merged UNUSED piece (its byte range) → the two symbols (byte ranges) it came from.
        var unusedMerges: [[UInt8]: (Range<Int>, Range<Int>)] = [:]
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, !symbols[left].frozen, !symbols[right].frozen else { return }
            let range = symbols[left].start..<symbols[left].start + symbols[left].length + symbols[right].length
            guard let id = pieces.value(of: UnsafeBufferPointer(rebasing: text[range])) else { return }
            agenda.push(Pair(score: scores[id], left: left, right: right, length: range.count))
            if types[id] == .unused {
                unusedMerges[Array(text[range])] = (symbols[left].start..<symbols[left].start + symbols[left].length,
                                                    symbols[right].start..<symbols[right].start + symbols[right].length)
            }
        }
        for index in 1..<symbols.count { consider(index - 1, index) }

        while let top = agenda.pop() {
            let left = symbols[top.left], right = symbols[top.right]
            // A pair is stale once either symbol changed.
            guard left.length > 0, right.length > 0, left.length + right.length == top.length else { continue }
            symbols[top.left].length += right.length
            symbols[top.left].next = right.next
            if right.next >= 0 { symbols[right.next].previous = top.left }
            symbols[top.right].length = 0
            consider(symbols[top.left].previous, top.left)
            consider(top.left, symbols[top.left].next)
        }

        func resegment(_ range: Range<Int>) {
            let bytes = UnsafeBufferPointer(rebasing: text[range])
            let id = pieceToId(bytes)
            if types[id] == .unused, let (first, second) = unusedMerges[Array(bytes)] {
                resegment(first)
                resegment(second)
            } else {
                output.append(RawPiece(id: Int32(id), start: Int32(range.lowerBound), end: Int32(range.upperBound)))
            }
        }
        var index = 0
        while index != -1 {
            resegment(symbols[index].start..<symbols[index].start + symbols[index].length)
            index = symbols[index].next
        }
    }

    /// A binary max-heap of pairs in `comesBefore` order.
    private struct Heap {
        private var items: [Pair] = []

        mutating func push(_ pair: Pair) {
            items.append(pair)
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard items[child].comesBefore(items[parent]) else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> Pair? {
            guard let top = items.first else { return nil }
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var best = parent
                    if left < items.count, items[left].comesBefore(items[best]) { best = left }
                    if right < items.count, items[right].comesBefore(items[best]) { best = right }
                    guard best != parent else { break }
                    items.swapAt(parent, best)
                    parent = best
                }
            }
            return top
        }
    }
}
