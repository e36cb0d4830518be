import Tensor

/// Model sizes for training from scratch. Every field can be overridden after picking one.
public enum ModelPreset: String, CaseIterable, Sendable {
    /// D 64, H 4, F 256, 2+2 layers: learns the walkthrough corpus in seconds.
    case tiny
    /// D 256, H 4, F 1024, 3+3 layers: the benchmark shape (Transformer-small of the issue).
    case small
    /// D 512, H 8, F 2048, 6+6 layers: Transformer-base of the paper (§6.1, Table 3).
    case base

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

/// How to train: data order, optimization, validation and checkpoints. The model's own shape and
/// dropout live in its `ModelConfig`.
public struct TrainingOptions: Sendable, Equatable {
    /// Seeds the initial parameters, the data order and dropout.
    public var seed: UInt64 = 1
    /// Stop after this many epochs (passes over the training data)…
    public var epochs: Int = 10
    /// …or this many updates, whichever comes first.
    public var maxSteps: Int?
    /// Most padded tokens a batch holds (B × max(S, T)); see `Batcher`.
    public var tokenBudget: Int = 4096
    /// Most pairs a batch holds.
    public var maxSentences: Int = 256
    /// Peak learning rate, reached at the end of warm-up (see `LearningRateSchedule`).
    public var learningRate: Double = 5e-4
    public var warmupSteps: Int = 4000
    /// The last this many updates of the run (up to `maxSteps` or the end of the last epoch) ramp
    /// the rate linearly down to zero; nil: no cool-down (`LearningRateSchedule.CoolDown`).
    public var coolDownSteps: Int?
    /// Gradient-norm clipping threshold; 0 turns clipping off.
    public var clipNorm: Double = 1
    public var labelSmoothing: Float = 0.1
    /// Log a training line every this many updates.
    public var logEvery: Int = 100
    /// Validate every this many updates (besides each epoch end); nil: at epoch ends only.
    public var validateEvery: Int?
    /// Save a checkpoint every this many updates (besides each epoch end); nil: at epoch ends only.
    public var checkpointEvery: Int?
    /// Checkpoints kept on disk, the newest; older ones are deleted after each save (see
    /// `Checkpoint.save`). More than one leaves something for `CheckpointAveraging` to average.
    public var keepCheckpoints: Int = 1
    /// Stop when this many validations in a row did not improve the best validation loss; nil: never.
    public var patience: Int?
    /// Longest greedy translation during validation, in tokens.
    public var maxTranslationLength: Int = 128
    /// Sentences translated together during validation.
    public var validationBatchSize: Int = 64

    public init() {}

    /// The schedule for these options, for a run that ends after update `lastStep`.
    public func schedule(lastStep: Int) -> LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, warmup: warmupSteps,
                             coolDown: coolDownSteps.map { LearningRateSchedule.CoolDown(end: lastStep, updates: $0) })
    }
}
