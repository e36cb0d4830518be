/// Learns a BPE vocabulary from sentences, SentencePiece style: the text is normalized (NFKC) and
/// cut into "▁" words exactly as encoding will do it, every character seen at least
/// `minCharacterFrequency` times becomes a piece, and then the most frequent adjacent pair of
/// pieces is merged into a new piece until the vocabulary is full.
///
/// The result is a `Tokenizer` with the ids of docs/formats.md: `</s>` 0, `<unk>` 1, the 256 byte
/// tokens `<0x00>` … `<0xFF>` (2 … 257), the characters by code point, the merged pieces in the
/// order they were learned, and `<pad>` last. Characters left out are encoded as their bytes.
///
/// Learning is deterministic: ties between equally frequent pairs go to the pair of lower ids, and
/// nothing depends on the order of hash tables, so the same sentences give the same file.
///
///     var learner = BPELearner(options: .init(vocabularySize: 8000))
///     for line in lines { learner.add(line) }
///     let tokenizer = try learner.learn { progress in … }
public struct BPELearner {
    public struct Options: Sendable {
        /// Ids in all: the fixed tokens, the characters, the merged pieces and `<pad>`.
        public var vocabularySize: Int
        /// A pair seen fewer times than this is not merged (learning may then stop short of
        /// `vocabularySize`).
        public var minPairFrequency: Int
        /// A character seen fewer times than this gets no piece of its own; it is encoded as its
        /// UTF-8 bytes.
        public var minCharacterFrequency: Int

        public init(vocabularySize: Int = 8000, minPairFrequency: Int = 2, minCharacterFrequency: Int = 2) {
            self.vocabularySize = vocabularySize
            self.minPairFrequency = minPairFrequency
            self.minCharacterFrequency = minCharacterFrequency
        }
    }

    /// How far the merging has come.
    public struct Progress: Sendable {
        /// New pieces learned so far.
        public var merges: Int
        /// The new pieces that fit in `vocabularySize`: learning ends there, or earlier when no
        /// pair is frequent enough.
        public var totalMerges: Int
    }

    public let options: Options
    /// The special tokens of docs/formats.md; they are cut out of the text, never learned.
    static let specialTokens = ["</s>", "<unk>", "<pad>"]
    static let firstCharacterId = 2 + 256

    private let splitter = TextSplitter(
        addedTokens: specialTokens.enumerated().map { AddedToken(id: Int32($0), content: $1, special: true) },
        normalizer: Normalizer(steps: [.nfkc]),
        metaspace: Metaspace()
    )
    /// Each distinct word and how often it was seen.
    private var words = ByteKeyTable<Int>(capacity: 1 << 16)
    private var split = TextSplitter.Output()

    /// Sentences added so far.
    public private(set) var sentenceCount = 0
    /// Distinct words ("▁" pre-tokens) seen so far.
    public var distinctWordCount: Int { words.count }

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Counts the words of one sentence (a line of a corpus, or one side of a TSV pair).
    public mutating func add(_ sentence: String) {
        sentenceCount += 1
        split.removeAll()
        splitter.split(sentence, into: &split)
        split.forEach(word: { word in
            let (index, inserted) = words.insert(word, 1)
            if !inserted { words.setValue(words.values[index] + 1, at: index) }
        }, addedToken: { _ in })
    }

    /// Learns the pieces and returns the tokenizer. `progress` is called after every merge.
    public func learn(progress: (Progress) -> Void = { _ in }) throws -> Tokenizer {
        let alphabet = characters()
        let fixedCount = Self.firstCharacterId + alphabet.count + 1  // + <pad>
        guard options.vocabularySize >= fixedCount else {
            throw TokenizerError(source: "vocabulary", message: "size \(options.vocabularySize) is too small: the special and byte "
                + "tokens, <pad> and the \(alphabet.count) characters seen at least \(options.minCharacterFrequency) times need \(fixedCount)")
        }
        var state = MergeState(words: words, alphabet: alphabet)
        let totalMerges = options.vocabularySize - fixedCount
        state.learn(newPieces: totalMerges, minPairFrequency: options.minPairFrequency) { merges in
            progress(Progress(merges: merges, totalMerges: totalMerges))
        }
        return try state.tokenizer()
    }

    /// The characters to give pieces: seen at least `minCharacterFrequency` times, by code point.
    private func characters() -> [Unicode.Scalar] {
        var counts: [UInt32: Int] = [:]
        for index in 0..<words.count {
            let count = words.values[index]
            for scalar in String(decoding: words.key(at: index), as: UTF8.self).unicodeScalars {
                counts[scalar.value, default: 0] += count
            }
        }
        return counts.filter { $0.value >= options.minCharacterFrequency }.keys.sorted().map { Unicode.Scalar($0)! }
    }
}

/// The merge loop: words as arrays of piece ids, counts of adjacent pairs kept up to date as
/// pairs merge, and a max-heap of pairs by count with lazy deletion.
private struct MergeState {
    /// Stands for a character without a piece: no pair is formed across it.
    static let gap: Int32 = -1

    /// Piece bytes by id; ids below `firstCharacterId` are the special and byte tokens.
    var pieces: [[UInt8]]
    var pieceIds: ByteKeyTable<Int32>
    var merges: [(left: Int32, right: Int32)] = []

    var wordSymbols: [[Int32]]
    let wordCounts: [Int]

    /// Pairs by dense index: their ids, count and the words that may contain them (appended
    /// when a word gains the pair, so possibly stale; checked when used).
    var pairIndex: [UInt64: Int32] = [:]
    var pairLeft: [Int32] = []
    var pairRight: [Int32] = []
    var pairCount: [Int] = []
    var pairWords: [[Int32]] = []
    /// Pairs whose count rose during the current merge, to push again.
    var gained: [Int32] = []
    var lastGained: [Int] = []

    /// A pair with its count when it was pushed. Counts change after that. A rise pushes a fresh
    /// entry at once (`gained`); a fall is noticed when the stale entry comes to the top, and the
    /// pair goes back in with its current count, which is lower, so it is still in order.
    struct Entry {
        var count: Int
        var pair: Int32
    }
    var heap: [Entry] = []

    init(words: ByteKeyTable<Int>, alphabet: [Unicode.Scalar]) {
        pieces = BPELearner.specialTokens.prefix(2).map { Array($0.utf8) } + (0..<256).map { Array(byteToken($0).utf8) }
        pieces += alphabet.map { Array(String($0).utf8) }
        pieceIds = ByteKeyTable<Int32>(capacity: 16_384)
        for (id, piece) in pieces.enumerated() { pieceIds.insert(key: piece, Int32(id)) }
        var characterIds: [UInt32: Int32] = [:]
        for (offset, scalar) in alphabet.enumerated() { characterIds[scalar.value] = Int32(BPELearner.firstCharacterId + offset) }

        wordCounts = words.values
        wordSymbols = (0..<words.count).map { index in
            String(decoding: words.key(at: index), as: UTF8.self).unicodeScalars.map { characterIds[$0.value] ?? MergeState.gap }
        }
        for (word, symbols) in wordSymbols.enumerated() where symbols.count > 1 {
            for k in 0..<symbols.count - 1 {
                add(wordCounts[word], toPair: symbols[k], symbols[k + 1], word: Int32(word))
            }
        }
        gained = []
        heap = (0..<pairCount.count).map { Entry(count: pairCount[$0], pair: Int32($0)) }
        for k in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(k) }
    }

    // MARK: Pair counts

    /// Adds `count` (which may be negative) to the pair's count, creating the pair if new; a
    /// positive count from `word` records that the word holds the pair.
    mutating func add(_ count: Int, toPair left: Int32, _ right: Int32, word: Int32) {
        guard left != MergeState.gap, right != MergeState.gap else { return }
        let key = pairKey(left, right)
        let pair: Int
        if let existing = pairIndex[key] {
            pair = Int(existing)
        } else {
            pair = pairCount.count
            pairIndex[key] = Int32(pair)
            pairLeft.append(left)
            pairRight.append(right)
            pairCount.append(0)
            pairWords.append([])
            lastGained.append(-1)
        }
        pairCount[pair] += count
        if count > 0 {
            if pairWords[pair].last != word { pairWords[pair].append(word) }
            if lastGained[pair] != merges.count {
                lastGained[pair] = merges.count
                gained.append(Int32(pair))
            }
        }
    }

    // MARK: Heap (most frequent first; ties to the pair of lower ids)

    func ranksAbove(_ a: Entry, _ b: Entry) -> Bool {
        if a.count != b.count { return a.count > b.count }
        let (a, b) = (Int(a.pair), Int(b.pair))
        if pairLeft[a] != pairLeft[b] { return pairLeft[a] < pairLeft[b] }
        return pairRight[a] < pairRight[b]
    }

    mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var best = parent
            for child in (2 * parent + 1)...(2 * parent + 2) where child < heap.count && ranksAbove(heap[child], heap[best]) {
                best = child
            }
            if best == parent { return }
            heap.swapAt(parent, best)
            parent = best
        }
    }

    mutating func push(_ pair: Int32) {
        heap.append(Entry(count: pairCount[Int(pair)], pair: pair))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard ranksAbove(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The most frequent pair now.
    mutating func popBest() -> Int32? {
        while let top = heap.first {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
            let count = pairCount[Int(top.pair)]
            if count > 0, top.count == count { return top.pair }
            // Fallen since pushed (a risen count already has its own, fresher entry).
            if count > 0, top.count > count { push(top.pair) }
        }
        return nil
    }

    // MARK: Merging

    mutating func learn(newPieces: Int, minPairFrequency: Int, progress: (Int) -> Void) {
        var learned = 0
        while learned < newPieces, let pair = popBest() {
            let (left, right, count) = (pairLeft[Int(pair)], pairRight[Int(pair)], pairCount[Int(pair)])
            if count < max(minPairFrequency, 1) { break }
            let bytes = pieces[Int(left)] + pieces[Int(right)]
            let merged: Int32
            if let existing = pieceIds.value(forKey: bytes) {
                // A piece spelled like a byte token would decode as that byte: never learn it.
                if existing < BPELearner.firstCharacterId {
                    pairCount[Int(pair)] = 0
                    continue
                }
                merged = existing
            } else {
                merged = Int32(pieces.count)
                pieces.append(bytes)
                pieceIds.insert(key: bytes, merged)
                learned += 1
            }
            merges.append((left, right))

            gained.removeAll(keepingCapacity: true)
            for word in pairWords[Int(pair)] {
                replace(left, right, with: merged, inWord: Int(word))
            }
            pairWords[Int(pair)] = []
            pairCount[Int(pair)] = 0
            for gainer in gained where pairCount[Int(gainer)] > 0 { push(gainer) }
            progress(learned)
        }
    }

    /// Merges every `left right` in one word (left to right, as encoding does) and updates the
    /// counts of the neighbouring pairs.
    mutating func replace(_ left: Int32, _ right: Int32, with merged: Int32, inWord word: Int) {
        var symbols = wordSymbols[word]
        wordSymbols[word] = []  // keep `symbols` uniquely referenced while editing it
        let count = wordCounts[word]
        var i = 0
        while i + 1 < symbols.count {
            guard symbols[i] == left, symbols[i + 1] == right else {
                i += 1
                continue
            }
            if i > 0 {
                add(-count, toPair: symbols[i - 1], left, word: Int32(word))
                add(count, toPair: symbols[i - 1], merged, word: Int32(word))
            }
            symbols[i] = merged
            symbols.remove(at: i + 1)
            if i + 1 < symbols.count {
                add(-count, toPair: right, symbols[i + 1], word: Int32(word))
                add(count, toPair: merged, symbols[i + 1], word: Int32(word))
            }
            i += 1
        }
        wordSymbols[word] = symbols
    }

    /// The learned tokenizer, with `<pad>` after the last piece.
    func tokenizer() throws -> Tokenizer {
        var vocabulary = pieceIds
        let padId = Int32(pieces.count)
        vocabulary.insert(key: "<pad>".utf8, padId)
        let text = { (id: Int32) in String(decoding: pieces[Int(id)], as: UTF8.self) }
        let model = try BPEModel(
            vocabulary: vocabulary,
            merges: merges.map { (text($0.left), text($0.right)) },
            unknownToken: "<unk>",
            fuseUnknown: true,
            byteFallback: true,
            ignoreMerges: false,
            source: "learned vocabulary"
        )
        let splitter = TextSplitter(
            addedTokens: [AddedToken(id: 0, content: "</s>", special: true),
                          AddedToken(id: 1, content: "<unk>", special: true),
                          AddedToken(id: padId, content: "<pad>", special: true)],
            normalizer: Normalizer(steps: [.nfkc]),
            metaspace: Metaspace()
        )
        return try Tokenizer(splitter: splitter, model: model, decoder: DecoderStep.sentencePiece, source: "learned vocabulary")
    }
}

extension DecoderStep {
    /// The decoder of docs/formats.md: "▁" → " ", bytes back to text, one leading space stripped.
    static let sentencePiece: [DecoderStep] = [
        .replace(pattern: "▁", content: " "), .byteFallback, .fuse, .strip(content: " ", start: 1, stop: 0),
    ]
}
