import Tensor

/// Model sizes for training from scratch. Every field can be overridden after picking one.
public enum ModelPreset: String, CaseIterable, Sendable {
    /// D 64, H 4, F 256, 2+2 layers: learns the walkthrough corpus in seconds.
    case tiny
    /// D 256, H 4, F 1024, 3+3 layers: the benchmark shape (Transformer-small of the issue).
    case small
    /// D 512, H 8, F 2048, 6+6 layers: Transformer-base of the paper (§6.1, Table 3).
    case base

    /// The peak learning rate a run of this size gets by default. The tiny model needs a high one
    /// to learn anything in a few hundred updates: on 3,000 Tatoeba pairs, 300 updates with a
    /// warm-up of 30 reached a validation loss of 5.99 at 3e-3 and 6.30 at 6e-3 (docs/training.md,
    /// "The learning rate on a short run"); the deeper presets keep 5e-4, the rate their runs in
    /// docs/RESULTS.md were tuned around.
    public var learningRate: Double {
        switch self {
        case .tiny: 3e-3
        case .small, .base: 5e-4
        }
    }

    /// The config of this size for a vocabulary of `vocabularySize` (pad last, EOS 0: formats.md),
    /// relu, scaled embeddings, dropout 0.1 on residuals, attention and activations.
    public func config(vocabularySize: Int, maxPositions: Int = 512) -> ModelConfig {
        let (D, H, F, layers): (Int, Int, Int, Int)
        switch self {
        case .tiny: (D, H, F, layers) = (64, 4, 256, 2)
        case .small: (D, H, F, layers) = (256, 4, 1024, 3)
        case .base: (D, H, F, layers) = (512, 8, 2048, 6)
        }
        return ModelConfig(vocabularySize: vocabularySize, modelWidth: D, encoderLayers: layers, decoderLayers: layers,
                           heads: H, feedForwardWidth: F, activation: .relu, scaleEmbedding: true,
                           maxPositions: maxPositions, eosId: 0,
                           dropout: 0.1, attentionDropout: 0.1, activationDropout: 0.1)
    }
}
