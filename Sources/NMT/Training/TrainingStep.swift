import Tensor

/// What one optimizer update did.
public struct StepResult: Sendable {
    /// Mean label-smoothed cross-entropy over the batch's target tokens.
    public var loss: Float
    /// Real target tokens in the batch.
    public var targetTokens: Int
    /// Global gradient norm before clipping.
    public var gradientNorm: Double
    public var learningRate: Double
}

/// Forward, backward and one Adam update: the inner loop shared by `Trainer` and `nmt bench train`.
public final class ParameterUpdater {
    public let model: Transformer
    public let adam: Adam
    public var schedule: LearningRateSchedule
    /// Gradient-norm clipping threshold; nil or ≤ 0: no clipping.
    public var clipNorm: Double?
    public var labelSmoothing: Float

    public init(model: Transformer, schedule: LearningRateSchedule, clipNorm: Double?, labelSmoothing: Float,
                adam: Adam.Hyperparameters = Adam.Hyperparameters()) {
        self.model = model
        self.adam = Adam(parameterCount: model.parameters.count, hyperparameters: adam)
        self.schedule = schedule
        self.clipNorm = clipNorm
        self.labelSmoothing = labelSmoothing
    }

    /// One training step with dropout drawn from `generator` (advanced in place).
    /// A non-finite loss or gradient norm leaves the parameters and the optimizer untouched.
    public func train(_ batch: TeacherForcedBatch, generator: inout SeededGenerator) -> StepResult {
        let tape = Tape(recording: true, training: true, generator: generator)
        let lossTensor = model.loss(batch, smoothing: labelSmoothing, tape: tape)
        generator = tape.generator
        let lossValue = lossTensor.scalar
        let lr = schedule.rate(step: adam.step + 1)
        guard lossValue.isFinite else {
            tape.reset()
            return StepResult(loss: lossValue, targetTokens: batch.targetTokens, gradientNorm: .nan, learningRate: lr)
        }
        let parameters = model.parameters
        parameters.zeroGradients()
        tape.backward(from: lossTensor)
        // The pad row is not a word: it gets gradient only through the tied output projection,
        // and must stay zero (formats.md).
        model.padEmbeddingGradient.update(repeating: 0)
        let norm: Double
        if let clipNorm, clipNorm > 0 {
            norm = GradientClipping.clip(parameters.gradients, count: parameters.count, maxNorm: clipNorm)
        } else {
            norm = GradientClipping.norm(parameters.gradients, count: parameters.count)
        }
        // A non-finite gradient with a finite loss (an overflow in backward) is reported the same way.
        if norm.isFinite {
            adam.update(parameters: parameters.values, gradients: parameters.gradients, learningRate: Float(lr))
        }
        return StepResult(loss: lossValue, targetTokens: batch.targetTokens, gradientNorm: norm, learningRate: lr)
    }
}

extension Transformer {
    /// The mean label-smoothed cross-entropy of `batch` under teacher forcing, on `tape` (which
    /// records, and drops out, when it is a training tape).
    public func loss(_ batch: TeacherForcedBatch, smoothing: Float, tape: Tape) -> Tensor {
        let encoded = encode(batch.source, tape: tape)
        let decoded = decode(inputIds: batch.decoderInput, batch: batch.batch, length: batch.targetLength,
                             encoderOutput: encoded, tape: tape)
        return loss(hidden: decoded.hidden, labels: batch.labels, smoothing: smoothing, tape: tape)
    }
}
