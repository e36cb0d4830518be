import Tensor

/// One training batch as the model sees it under teacher forcing (formats.md, "Sequences"):
/// sources padded to S, decoder inputs = start token + target shifted right, labels = target
/// (each target already ending with EOS), both padded to T with the pad id, which the loss ignores.
public struct TeacherForcedBatch {
    public let source: SourceBatch
    /// (B·T) decoder input ids.
    public let decoderInput: [Int32]
    /// (B·T) labels, pad where there is no token.
    public let labels: [Int32]
    public let batch: Int
    /// T, the longest target.
    public let targetLength: Int
    /// Real (non-pad) target tokens: what tokens/s counts and the loss averages over.
    public let targetTokens: Int

    /// `sources[i]`, `targets[i]`: id sequences ending with EOS.
    public init(sources: [[Int]], targets: [[Int]], padId: Int, decoderStartId: Int) {
        precondition(sources.count == targets.count && !sources.isEmpty, "a batch pairs each source with one target")
        source = SourceBatch(sequences: sources, padId: padId)
        batch = targets.count
        let T = targets.map(\.count).max()!
        targetLength = T
        var input = [Int32](repeating: Int32(padId), count: batch * T)
        var labels = [Int32](repeating: Int32(padId), count: batch * T)
        for (b, target) in targets.enumerated() {
            input[b * T] = Int32(decoderStartId)
            for (t, id) in target.enumerated() {
                labels[b * T + t] = Int32(id)
                if t + 1 < target.count { input[b * T + t + 1] = Int32(id) }
            }
        }
        decoderInput = input
        self.labels = labels
        targetTokens = targets.map(\.count).reduce(0, +)
    }
}
