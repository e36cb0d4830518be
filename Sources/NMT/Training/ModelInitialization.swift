import Tensor

extension Transformer {
    /// Fresh parameters for training from scratch, as The Annotated Transformer does: every weight
    /// matrix (the shared embedding included) Xavier-uniform over its own (out, in) shape — q, k and
    /// v separately, although they share one GEMM; every bias 0; layer-norm weights 1; the pad
    /// row of the embedding and the constant `final_logits_bias` 0 (formats.md). The draws follow the
    /// parameter layout order, so a seed gives the same model on every machine.
    public func initializeForTraining(generator: inout SeededGenerator) {
        for entry in parameters.entries {
            let values = parameters.valueBuffer(entry.name)
            if entry.shape.count == 2 && entry.trainable {
                Initialization.xavierUniform(values, fanIn: entry.shape[1], fanOut: entry.shape[0], generator: &generator)
            } else if entry.name.hasSuffix("layer_norm.weight") {
                values.update(repeating: 1)
            } else {
                values.update(repeating: 0)
            }
        }
        for row in padRows(of: parameters.values) { row.update(repeating: 0) }
    }

    /// The pad token's row (D values) of each embedding matrix and of the output projection, in
    /// `buffer` (the parameters' values or their gradients). The pad token is not a word: its
    /// rows get gradient only through the output projection's softmax, and the trainer never
    /// changes them (formats.md) — zero in nmt's own models, as stored in models made elsewhere.
    func padRows(of buffer: UnsafeMutablePointer<Float>) -> [UnsafeMutableBufferPointer<Float>] {
        let names = Transformer.embeddingNames(config: config)
        let D = config.modelWidth
        return Set([names.encoder, names.decoder, names.output]).sorted().map { name in
            UnsafeMutableBufferPointer(start: buffer + parameters.entry(name)!.offset + config.padId * D, count: D)
        }
    }
}
