import Tensor

/// Groups sentence pairs into training batches by a token budget, with little padding, in an
/// order that is shuffled per epoch and reproducible from a seed.
///
/// **Budget (fairseq's `--max-tokens`).** A pair costs max(S, T) tokens, S and T being the lengths
/// of its source and target as the model sees them (with EOS). A batch of B pairs is padded to
/// its longest pair, so it costs B × (the largest cost in it); that must not exceed `tokenBudget`,
/// and B must not exceed `maxSentences`. A pair that alone costs more than the budget is never
/// batched; its index is in `oversizedPairs`.
///
/// **Order (Marian's maxi-batches).** Each epoch: shuffle all pairs; cut the shuffled list into
/// chunks of about `chunkBatches` batches' worth of pairs (their costs add up to at most
/// `chunkBatches × tokenBudget`); sort each chunk by (max(S, T), S, T), so that a batch holds pairs
/// of nearly one length; fill batches greedily along that order; shuffle the order of all the
/// batches. Each epoch thus sees different batches in a different order, yet padding stays small
/// (the more batches a chunk holds, the less padding and the less variety). Every
/// random draw comes from a `SeededGenerator`, and the shuffle is written out here rather than
/// taken from the standard library, so an order is the same on every platform and toolchain.
///
/// **Resuming.** `batches(epoch:seed:)` depends on nothing but its arguments, so a checkpoint only
/// needs the seed, the epoch and how many of its batches were done:
/// `batches(epoch: e, seed: s, startingAt: k)` is the rest of the epoch.
public struct Batcher: Sendable {
    /// The length of each pair's source sequence (S).
    public let sourceLengths: [Int]
    /// The length of each pair's target sequence (T).
    public let targetLengths: [Int]
    /// Most padded tokens in a batch: B × max over the batch of max(S, T).
    public let tokenBudget: Int
    /// Most pairs in a batch.
    public let maxSentences: Int
    /// How many batches' worth of shuffled pairs are sorted by length together.
    public let chunkBatches: Int
    /// Pairs longer than the budget allows for a batch of one, never batched.
    public let oversizedPairs: [Int]

    /// - Parameters:
    ///   - sourceLengths: S for each pair, e.g. source pieces + EOS.
    ///   - targetLengths: T for each pair, e.g. target pieces + EOS (the labels; the decoder
    ///     input has the same length).
    ///   - chunkBatches: 100, as Marian's `--maxi-batch`, gives about 4 % padding on Tatoeba.
    public init(sourceLengths: [Int], targetLengths: [Int], tokenBudget: Int,
                maxSentences: Int = .max, chunkBatches: Int = 100) {
        precondition(sourceLengths.count == targetLengths.count, "one source and one target length per pair")
        precondition(tokenBudget > 0 && maxSentences > 0 && chunkBatches > 0, "budget, sentence cap and chunk size are positive")
        self.sourceLengths = sourceLengths
        self.targetLengths = targetLengths
        self.tokenBudget = tokenBudget
        self.maxSentences = maxSentences
        self.chunkBatches = chunkBatches
        oversizedPairs = sourceLengths.indices.filter { max(sourceLengths[$0], targetLengths[$0]) > tokenBudget }
    }

    /// A batcher for tokenized pairs: `sources[i]` and `targets[i]` are the id sequences (any
    /// collection: `[Int32]`, `[Int]`, …) of pair i, exactly as the model will see them.
    public init<Source: Collection, Target: Collection>(
        sources: [Source], targets: [Target], tokenBudget: Int, maxSentences: Int = .max, chunkBatches: Int = 100
    ) {
        self.init(sourceLengths: sources.map(\.count), targetLengths: targets.map(\.count),
                  tokenBudget: tokenBudget, maxSentences: maxSentences, chunkBatches: chunkBatches)
    }

    /// The batches of `epoch` (pair indices, each batch sorted by length), from batch
    /// `startingAt` on. The epoch's generator is seeded with number `epoch` (counting from 0) of
    /// those drawn from `SeededGenerator(seed: seed)`, so epochs differ and each can be recomputed alone.
    public func batches(epoch: Int, seed: UInt64, startingAt firstBatch: Int = 0) -> [[Int]] {
        precondition(epoch >= 0 && firstBatch >= 0, "epochs and batches count from 0")
        var seeds = SeededGenerator(seed: seed)
        for _ in 0..<epoch { _ = seeds.next() }
        var generator = SeededGenerator(seed: seeds.next())
        return Array(batches(using: &generator).dropFirst(firstBatch))
    }

    /// One epoch's batches drawn from `generator` (for a trainer that keeps one generator for
    /// everything and saves its state).
    public func batches(using generator: inout SeededGenerator) -> [[Int]] {
        let oversized = Set(oversizedPairs)
        var order = sourceLengths.indices.filter { !oversized.contains($0) }
        shuffle(&order, using: &generator)
        var batches: [[Int]] = []
        var chunkStart = 0
        while chunkStart < order.count {
            var chunkEnd = chunkStart + 1
            var chunkCost = cost(order[chunkStart])
            while chunkEnd < order.count && chunkCost + cost(order[chunkEnd]) <= chunkBatches * tokenBudget {
                chunkCost += cost(order[chunkEnd])
                chunkEnd += 1
            }
            // Ties keep their shuffled order, so equal-length pairs still meet different partners.
            let sorted = order[chunkStart..<chunkEnd].enumerated().sorted {
                (cost($0.element), sourceLengths[$0.element], targetLengths[$0.element], $0.offset)
                    < (cost($1.element), sourceLengths[$1.element], targetLengths[$1.element], $1.offset)
            }.map(\.element)
            batches += fill(sorted)
            chunkStart = chunkEnd
        }
        shuffle(&batches, using: &generator)
        return batches
    }

    /// Rank `rank`'s share of `batch` in data-parallel training over `ranks` processes: pairs
    /// rank, rank + ranks, rank + 2·ranks, … Every rank cuts the same batches from the same seed
    /// and takes its own share. A batch is sorted by length, so dealing its pairs out in turn gives
    /// every rank nearly the same number of tokens, and a share of a batch within `ranks` ×
    /// the per-rank budget is within that budget but for at most one pair. A batch of fewer
    /// pairs than ranks leaves some shares empty.
    public static func share(of batch: [Int], rank: Int, ranks: Int) -> [Int] {
        precondition(ranks > 0 && (0..<ranks).contains(rank), "rank \(rank) of \(ranks)")
        return Array(stride(from: rank, to: batch.count, by: ranks).map { batch[$0] })
    }

    /// What a pair adds to the width of a batch: max(S, T).
    private func cost(_ pair: Int) -> Int { max(sourceLengths[pair], targetLengths[pair]) }

    /// The share of padding in `batches`: 1 − real tokens / padded tokens, source and target
    /// together, each side padded to its own longest sequence in the batch.
    public func paddingFraction(of batches: [[Int]]) -> Double {
        var real = 0, padded = 0
        for batch in batches {
            for lengths in [sourceLengths, targetLengths] {
                let batchLengths = batch.map { lengths[$0] }
                real += batchLengths.reduce(0, +)
                padded += batch.count * (batchLengths.max() ?? 0)
            }
        }
        return padded == 0 ? 0 : 1 - Double(real) / Double(padded)
    }

    /// Cuts pairs sorted by length into batches, each as large as the budget and cap allow.
    private func fill(_ sorted: [Int]) -> [[Int]] {
        var batches: [[Int]] = []
        var batch: [Int] = []
        var width = 0  // the largest max(S, T) in `batch`
        for pair in sorted {
            let pairCost = cost(pair)
            if !batch.isEmpty && (batch.count + 1 > maxSentences || (batch.count + 1) * max(width, pairCost) > tokenBudget) {
                batches.append(batch)
                batch = []
                width = 0
            }
            batch.append(pair)
            width = max(width, pairCost)
        }
        if !batch.isEmpty { batches.append(batch) }
        return batches
    }
}

/// Fisher–Yates, drawing from `generator` with `uniform(below:using:)`: fixed here so an order
/// never changes with the standard library's implementation.
private func shuffle<Element>(_ elements: inout [Element], using generator: inout SeededGenerator) {
    guard elements.count > 1 else { return }
    for index in stride(from: elements.count - 1, to: 0, by: -1) {
        elements.swapAt(index, Int(uniform(below: UInt64(index + 1), using: &generator)))
    }
}

/// A uniform integer in 0 ..< bound (Lemire's multiply-and-reject: unbiased, usually one draw).
private func uniform(below bound: UInt64, using generator: inout SeededGenerator) -> UInt64 {
    let threshold = (0 &- bound) % bound  // 2^64 mod bound
    while true {
        let (high, low) = bound.multipliedFullWidth(by: generator.next())
        if low >= threshold { return high }
    }
}
