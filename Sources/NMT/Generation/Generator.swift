import Tensor

/// How to search for translations.
public struct SearchOptions: Sendable, Equatable {
    /// 1 is greedy search; more keeps that many hypotheses per sentence (beam search).
    public var beamSize: Int = 1
    /// How many finished hypotheses to return per sentence, best first (at most `beamSize`).
    public var nBest: Int = 1
    /// Hypotheses are ranked by (sum of token log-probabilities) / length^lengthPenalty.
    public var lengthPenalty: Float = 1
    /// The absolute cap on generated tokens, EOS included.
    public var maxNewTokens: Int = 256
    /// With a value, also cap generated tokens at ⌈factor × source length⌉ (Marian's
    /// max-length-factor); nil leaves only the absolute cap.
    public var maxLengthFactor: Double? = 3
    /// EOS may not be generated before this many tokens.
    public var minNewTokens: Int = 0
    /// Ends a hypothesis stuck in a loop and marks it cut (`Hypothesis.repetitionCut`); nil: off.
    public var repetitionGuard: RepetitionGuard? = RepetitionGuard()

    public init(beamSize: Int = 1, nBest: Int = 1, lengthPenalty: Float = 1, maxNewTokens: Int = 256,
                maxLengthFactor: Double? = 3, minNewTokens: Int = 0, repetitionGuard: RepetitionGuard? = RepetitionGuard()) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.lengthPenalty = lengthPenalty
        self.maxNewTokens = maxNewTokens
        self.maxLengthFactor = maxLengthFactor
        self.minNewTokens = minNewTokens
        self.repetitionGuard = repetitionGuard
    }

    /// The most tokens a source of `sourceLength` (EOS included) may produce.
    func limit(sourceLength: Int, maxPositions: Int) -> Int {
        var limit = min(maxNewTokens, maxPositions)
        if let factor = maxLengthFactor { limit = min(limit, max(1, Int((factor * Double(sourceLength)).rounded(.up)))) }
        return max(1, limit)
    }
}

/// One generated sequence.
public struct Hypothesis: Sendable, Equatable {
    /// Generated ids without the start token; EOS at the end when the sequence ended with it.
    public var ids: [Int]
    /// log p of each generated token (the model's full softmax).
    public var tokenLogProbabilities: [Float]
    /// Σ log p / length^lengthPenalty (formats.md, "Beam score").
    public var score: Float
    /// The search ended it in a loop, keeping one copy of the repeated stretch (`RepetitionGuard`).
    public var repetitionCut = false
}

/// Greedy and beam search over the model with a key/value cache (`IncrementalDecoder`).
public struct Generator {
    public let model: Transformer
    public init(model: Transformer) { self.model = model }

    /// The best `options.nBest` hypotheses for each source (ids ending with EOS), in input order.
    public func generate(sources: [[Int]], options: SearchOptions) -> [[Hypothesis]] {
        precondition(options.beamSize >= 1 && options.nBest >= 1 && options.nBest <= options.beamSize,
                     "search needs beam ≥ 1 and 1 ≤ n-best ≤ beam")
        guard !sources.isEmpty else { return [] }
        let maxPositions = model.config.maxPositions
        let clipped = sources.map { model.config.fitted($0).ids }
        let limits = clipped.map { options.limit(sourceLength: $0.count, maxPositions: maxPositions) }
        let encoderOutput = model.encode(SourceBatch(sequences: clipped, padId: model.config.padId), tape: .inference)
        if options.beamSize == 1 {
            return greedy(encoderOutput: encoderOutput, limits: limits, options: options).map { [$0] }
        }
        return beam(encoderOutput: encoderOutput, limits: limits, options: options)
    }

    /// `generate` for each batch, the batches spread over the threads whole, one batch a thread at
    /// a time (`Parallel.eachOnOneThread`), rather than each product of each batch split across
    /// them; results in batch order, the same as one batch after another. `finish` turns each
    /// sentence's hypotheses into what the caller keeps (text, say) on the batch's thread. With the
    /// longest batch first, the thread that finishes last has the least left.
    public func generate<Result>(batches: [[[Int]]], options: SearchOptions, finish: ([Hypothesis]) -> Result) -> [[Result]] {
        var results = [[Result]](repeating: [], count: batches.count)
        results.withUnsafeMutableBufferPointer { results in
            Parallel.eachOnOneThread(batches.count) { b in results[b] = generate(sources: batches[b], options: options).map(finish) }
        }
        return results
    }

    /// Per row of logits: log Σ exp (so log p(v) = logit(v) − normalizer) and the `keep` largest
    /// logits, best first (ties: the lower id first), never the pad token and EOS only when
    /// allowed. One pass over each row in C (`Kernels.summarizeRows`), the rows spread over the threads.
    private func summarize(_ logits: Tensor, keep: Int, eosAllowed: Bool) -> RowSummaries {
        let V = logits.size(-1)
        let excluded = eosAllowed ? [model.config.padId] : [model.config.padId, model.config.eosId]
        return Kernels.summarizeRows(logits.data, rows: logits.count / V, count: V, keep: keep, excluding: excluded)
    }

    private func score(_ sum: Float, length: Int, _ options: SearchOptions) -> Float {
        sum / powf(Float(length), options.lengthPenalty)
    }

    // MARK: greedy

    private func greedy(encoderOutput: EncoderOutput, limits: [Int], options: SearchOptions) -> [Hypothesis] {
        let config = model.config
        let B = limits.count
        let decoder = IncrementalDecoder(model: model, encoderOutput: encoderOutput, capacity: limits.max()!)
        var results = [Hypothesis](repeating: Hypothesis(ids: [], tokenLogProbabilities: [], score: 0), count: B)
        var live = Array(0..<B)                      // sentence of each decoder row
        var next = [Int32](repeating: Int32(config.decoderStartId), count: B)
        for step in 0..<limits.max()! {
            let logits = decoder.step(ids: next)
            let summaries = summarize(logits, keep: 1, eosAllowed: step >= options.minNewTokens)
            var keep: [Int] = []
            next = []
            for (row, sentence) in live.enumerated() {
                let (logit, best) = summaries.best(row, 0)
                results[sentence].ids.append(best)
                results[sentence].tokenLogProbabilities.append(logit - summaries.normalizers[row])
                if best != config.eosId && !cutRepetition(&results[sentence], options) && step + 1 < limits[sentence] {
                    keep.append(row)
                    next.append(Int32(best))
                }
            }
            if keep.isEmpty { break }
            if keep.count < live.count {
                decoder.select(rows: keep)
                live = keep.map { live[$0] }
            }
        }
        return results.map { h in
            var h = h
            h.score = score(h.tokenLogProbabilities.reduce(0, +), length: h.ids.count, options)
            return h
        }
    }

    /// Ends `hypothesis` when its tokens end in a loop: cut to one copy of the repeated stretch.
    private func cutRepetition(_ hypothesis: inout Hypothesis, _ options: SearchOptions) -> Bool {
        guard let kept = options.repetitionGuard?.keptLength(hypothesis.ids) else { return false }
        hypothesis.ids.removeSubrange(kept...)
        hypothesis.tokenLogProbabilities.removeSubrange(kept...)
        hypothesis.repetitionCut = true
        return true
    }

    // MARK: beam

    /// One live hypothesis of a sentence's beam.
    private struct Beam {
        var ids: [Int]
        var logProbabilities: [Float]
        var sum: Float
    }

    /// Beam search as transformers' `generate(num_beams: k, early_stopping: true)`: each step
    /// ranks the 2k best continuations of the sentence's beams; an EOS among the first k of them
    /// finishes a hypothesis, the best k others carry on; a sentence is done once it has k
    /// finished hypotheses, or at its length limit, where its live beams compete as they are.
    private func beam(encoderOutput: EncoderOutput, limits: [Int], options: SearchOptions) -> [[Hypothesis]] {
        let config = model.config
        let k = options.beamSize, V = config.targetVocabularySize, B = limits.count
        // At the start every beam of a sentence would be the same: decode one row a sentence, and
        // let the first step's best k continuations fan out into k rows.
        let decoder = IncrementalDecoder(model: model, encoderOutput: encoderOutput, capacity: limits.max()!, rowCapacity: B * k)
        var beams = (0..<B).map { _ in (0..<k).map { j in Beam(ids: [], logProbabilities: [], sum: j == 0 ? 0 : -.infinity) } }
        var finished = [[Hypothesis]](repeating: [], count: B)
        var live = Array(0..<B)   // sentences whose beams occupy decoder rows live.index · rowsPer ..< +rowsPer
        var next = [Int32](repeating: Int32(config.decoderStartId), count: B)

        for step in 0..<limits.max()! {
            let rowsPer = step == 0 ? 1 : k
            let logits = decoder.step(ids: next)
            let summaries = summarize(logits, keep: 2 * k, eosAllowed: step >= options.minNewTokens)
            var keepRows: [Int] = [], stillLive: [Int] = []
            next = []
            for (slot, sentence) in live.enumerated() {
                // The 2k best (score, beam, token) among k · V continuations, best first: the global
                // 2k best are among the 2k best of each beam's row.
                var top: [(sum: Float, beam: Int, token: Int)] = []
                top.reserveCapacity(2 * k + 1)
                for j in 0..<k where beams[sentence][j].sum > -.infinity {
                    let row = slot * rowsPer + j
                    let base = beams[sentence][j].sum - summaries.normalizers[row]
                    for rank in 0..<summaries.count(row) {
                        let (logit, token) = summaries.best(row, rank)
                        let candidate = base + logit
                        if top.count == 2 * k, candidate <= top[top.count - 1].sum { break }
                        var position = top.count
                        while position > 0 && top[position - 1].sum < candidate { position -= 1 }
                        top.insert((candidate, j, token), at: position)
                        if top.count > 2 * k { top.removeLast() }
                    }
                }
                var successors: [Beam] = [], parents: [Int] = []
                for (rank, candidate) in top.enumerated() {
                    let parent = beams[sentence][candidate.beam]
                    let parentRow = slot * rowsPer + candidate.beam
                    let logProbability = logits.data[parentRow * V + candidate.token] - summaries.normalizers[parentRow]
                    if candidate.token == config.eosId {
                        // transformers keeps an EOS only when it ranks among the first k.
                        if rank < k {
                            let length = parent.ids.count + 1
                            finished[sentence].append(Hypothesis(ids: parent.ids + [config.eosId],
                                                                 tokenLogProbabilities: parent.logProbabilities + [logProbability],
                                                                 score: score(candidate.sum, length: length, options)))
                        }
                    } else if successors.count < k {
                        let ids = parent.ids + [candidate.token], logProbabilities = parent.logProbabilities + [logProbability]
                        if let kept = options.repetitionGuard?.keptLength(ids) {
                            // A loop ends the hypothesis as EOS would (and only where EOS would count).
                            if rank < k {
                                let sum = logProbabilities.prefix(kept).reduce(0, +)
                                finished[sentence].append(Hypothesis(ids: Array(ids.prefix(kept)), tokenLogProbabilities: Array(logProbabilities.prefix(kept)),
                                                                     score: score(sum, length: kept, options), repetitionCut: true))
                            }
                            continue
                        }
                        successors.append(Beam(ids: ids, logProbabilities: logProbabilities, sum: candidate.sum))
                        parents.append(parentRow)
                    }
                }
                while successors.count < k {  // fewer than k continuations: pad with dead beams
                    successors.append(Beam(ids: [], logProbabilities: [], sum: -.infinity))
                    parents.append(slot * rowsPer)
                }
                beams[sentence] = successors
                if finished[sentence].count >= k { continue }
                // Every continuation ended (EOS or a loop): nothing left to search.
                guard successors.contains(where: { $0.sum > -.infinity }) else { continue }
                if step + 1 >= limits[sentence] {
                    // At the limit the live beams compete as they are, without EOS.
                    for beam in successors where beam.sum > -.infinity {
                        finished[sentence].append(Hypothesis(ids: beam.ids, tokenLogProbabilities: beam.logProbabilities,
                                                             score: score(beam.sum, length: beam.ids.count, options)))
                    }
                    continue
                }
                stillLive.append(sentence)
                keepRows += parents
                next += successors.map { Int32($0.ids.last ?? config.decoderStartId) }
            }
            if stillLive.isEmpty { break }
            decoder.select(rows: keepRows)
            live = stillLive
        }
        return finished.map { hypotheses in
            Array(hypotheses.enumerated()
                .sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
                .prefix(options.nBest)
                .map(\.element))
        }
    }
}
