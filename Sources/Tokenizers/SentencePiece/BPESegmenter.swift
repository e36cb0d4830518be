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
    /// Whether a symbol can be a reserved piece (CONTROL, UNKNOWN, BYTE): only when one is a
    /// single character or has the text of a segmenting piece. Otherwise a symbol's id is the one
    /// its trie walk found (or `<unk>`), with no lookup.
    let reservedCanMatch: Bool
    let unknownId: Int

    struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
        var frozen: Bool
        /// The trie node the symbol's bytes lead to (its children's base), or -1 when no piece
        /// starts with them — then no merge with it on the left can make a piece.
        var node: Int
        /// The segmenting piece the symbol is, or -1.
        var id: Int
    }

    /// A candidate merge in the agenda: a max-heap on score, then on the smaller left index.
    struct Pair {
        var score: Float
        var left: Int32
        var right: Int32
        var length: Int32
        /// The trie node of the merged bytes, and its piece.
        var node: Int32
        var id: Int32

        func comesBefore(_ other: Pair) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// Reusable buffers.
    struct Scratch {
        var symbols: [Symbol] = []
        var agenda = Heap()
    }

    /// Appends the pieces of `text` to `output` as (id, start, end).
    func segment(_ text: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into output: inout [RawPiece]) {
        var symbols = scratch.symbols
        var agenda = scratch.agenda
        symbols.removeAll(keepingCapacity: true)
        agenda.removeAll()
        defer { (scratch.symbols, scratch.agenda) = (symbols, agenda) }
        var start = 0
        while start < text.count {
            var length = min(SentencePieceUTF8.characterLength(lead: text[start]), text.count - start)
            var frozen = false
            if let userDefined, let matched = userDefined.longestPrefix(of: text, from: start) {
                length = matched
                frozen = true
            }
            let walk = pieces.walk(from: pieces.rootBase, UnsafeBufferPointer(rebasing: text[start..<start + length]))
            symbols.append(Symbol(start: start, length: length, previous: symbols.count - 1,
                                  next: start + length < text.count ? symbols.count + 1 : -1, frozen: frozen,
                                  node: walk?.base ?? -1, id: walk?.value ?? -1))
            start += length
        }
        guard !symbols.isEmpty else { return }

        /// Merged UNUSED piece (its byte range) → the two symbols (byte ranges) it came from.
        var unusedMerges: [[UInt8]: (Range<Int>, Range<Int>)] = [:]
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, symbols[left].node >= 0, !symbols[left].frozen, !symbols[right].frozen else { return }
            let range = symbols[left].start..<symbols[left].start + symbols[left].length + symbols[right].length
            // The concatenation's node: the left symbol's, walked on through the right one's bytes.
            let rightBytes = UnsafeBufferPointer(rebasing: text[symbols[right].start..<range.upperBound])
            guard let (node, id) = pieces.walk(from: symbols[left].node, rightBytes), id >= 0 else { return }
            agenda.push(Pair(score: scores[id], left: Int32(left), right: Int32(right), length: Int32(range.count), node: Int32(node), id: Int32(id)))
            if types[id] == .unused {
                unusedMerges[Array(text[range])] = (symbols[left].start..<symbols[left].start + symbols[left].length,
                                                    symbols[right].start..<symbols[right].start + symbols[right].length)
            }
        }
        for index in 1..<symbols.count { consider(index - 1, index) }

        while let top = agenda.pop() {
            let (leftIndex, rightIndex) = (Int(top.left), Int(top.right))
            let left = symbols[leftIndex], right = symbols[rightIndex]
            // A pair is stale once either symbol changed.
            guard left.length > 0, right.length > 0, left.length + right.length == Int(top.length) else { continue }
            symbols[leftIndex].length += right.length
            symbols[leftIndex].node = Int(top.node)
            symbols[leftIndex].id = Int(top.id)
            symbols[leftIndex].next = right.next
            if right.next >= 0 { symbols[right.next].previous = leftIndex }
            symbols[rightIndex].length = 0
            consider(symbols[leftIndex].previous, leftIndex)
            consider(leftIndex, symbols[leftIndex].next)
        }

        func resegment(_ range: Range<Int>, knownId: Int? = nil) {
            let bytes = UnsafeBufferPointer(rebasing: text[range])
            let id = knownId ?? pieceToId(bytes)
            if types[id] == .unused, let (first, second) = unusedMerges[Array(bytes)] {
                resegment(first)
                resegment(second)
            } else {
                output.append(RawPiece(id: Int32(id), start: Int32(range.lowerBound), end: Int32(range.upperBound)))
            }
        }
        var index = 0
        while index != -1 {
            let symbol = symbols[index]
            resegment(symbol.start..<symbol.start + symbol.length, knownId: reservedCanMatch ? nil : symbol.id >= 0 ? symbol.id : unknownId)
            index = symbol.next
        }
    }

    /// A binary max-heap of pairs in `comesBefore` order.
    struct Heap {
        private var items: [Pair] = []

        mutating func removeAll() { items.removeAll(keepingCapacity: true) }

        mutating func push(_ pair: Pair) {
            items.append(pair)
            items.withUnsafeMutableBufferPointer { items in
                var child = items.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard pair.comesBefore(items[parent]) else { break }
                    items[child] = items[parent]
                    child = parent
                }
                items[child] = pair
            }
        }

        mutating func pop() -> Pair? {
            guard let top = items.first else { return nil }
            let last = items.removeLast()
            items.withUnsafeMutableBufferPointer { items in
                guard !items.isEmpty else { return }
                // Sift the last item down from the root, moving the better child up into the hole.
                var hole = 0
                while true {
                    var child = 2 * hole + 1
                    guard child < items.count else { break }
                    if child + 1 < items.count, items[child + 1].comesBefore(items[child]) { child += 1 }
                    guard items[child].comesBefore(last) else { break }
                    items[hole] = items[child]
                    hole = child
                }
                items[hole] = last
            }
            return top
        }
    }
}
