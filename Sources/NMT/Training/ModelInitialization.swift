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
        padEmbeddingRow.update(repeating: 0)
    }

    /// The pad token's row of the shared embedding (D values): zero, and never trained.
    var padEmbeddingRow: UnsafeMutableBufferPointer<Float> {
        let D = config.modelWidth
        return UnsafeMutableBufferPointer(start: parameters.valueBuffer("model.shared.weight").baseAddress! + config.padId * D, count: D)
    }

    /// The gradient of the pad row, which the tied output projection fills and the trainer clears.
    var padEmbeddingGradient: UnsafeMutableBufferPointer<Float> {
        let entry = parameters.entry("model.shared.weight")!
        return UnsafeMutableBufferPointer(start: parameters.gradients + entry.offset + config.padId * config.modelWidth,
                                          count: config.modelWidth)
    }
}
