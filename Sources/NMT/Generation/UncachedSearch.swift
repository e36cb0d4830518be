import Tensor

/// Greedy decoding the slow, obviously correct way: at every step the whole prefix goes through
/// the decoder again. Kept beside the cached search as its reference.
public enum UncachedSearch {
    /// The generated ids of each source (without the start token, EOS included when reached),
    /// at most `maxNewTokens` each. The pad token is never chosen.
    public static func greedy(model: Transformer, sources: [[Int]], maxNewTokens: Int) -> [[Int]] {
        let tape = Tape.inference
        let config = model.config
        let encoderOutput = model.encode(SourceBatch(sequences: sources, padId: config.padId), tape: tape)
        let B = sources.count, V = config.targetVocabularySize
        var prefixes = [[Int32]](repeating: [Int32(config.decoderStartId)], count: B)
        var finished = [Bool](repeating: false, count: B)
        for _ in 0..<maxNewTokens where finished.contains(false) {
            let T = prefixes[0].count
            let decoded = model.decode(inputIds: prefixes.flatMap { $0 }, batch: B, length: T, encoderOutput: encoderOutput, tape: tape)
            let logits = model.logits(decoded.hidden, tape: tape)  // (B, T, V)
            for b in 0..<B {
                // A finished row keeps decoding pad so the batch stays rectangular.
                guard !finished[b] else { prefixes[b].append(Int32(config.padId)); continue }
                let row = logits.data + (b * T + T - 1) * V
                var best = -1
                for v in 0..<V where v != config.padId && (best < 0 || row[v] > row[best]) { best = v }
                prefixes[b].append(Int32(best))
                if best == config.eosId { finished[b] = true }
            }
        }
        return prefixes.map { prefix in
            let generated = prefix.dropFirst().map(Int.init)
            if let end = generated.firstIndex(of: config.eosId) { return Array(generated[...end]) }
            return generated
        }
    }
}
