import Dispatch
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
    /// Seconds spent summing the gradients over the ranks (0 for one process): the all-reduce
    /// itself and the wait for the slowest rank to reach it.
    public var reductionSeconds: Double = 0
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
        train(share: batch, batchTargetTokens: batch.targetTokens, group: SingleProcess(), generator: &generator)
    }

    /// One step of data-parallel training: this rank's `share` of a batch (nil when the batch has
    /// fewer pairs than there are ranks) whose target tokens over all ranks are
    /// `batchTargetTokens`. Every rank of `group` calls it for the same batch.
    ///
    /// The batch's loss is the mean over all its target tokens. A share's loss is the mean over its
    /// own tokens, so its gradient is weighed by (its tokens / the batch's tokens) before the
    /// gradients are summed over the ranks: the sum is then the gradient of the whole batch's
    /// mean, as one process computes it, up to the order of float additions. Clipping and Adam
    /// run on the summed gradient, identically on every rank.
    public func train(share: TeacherForcedBatch?, batchTargetTokens: Int, group: TrainingGroup,
                      generator: inout SeededGenerator) -> StepResult {
        let lr = schedule.rate(step: adam.step + 1)
        let shareTokens = share?.targetTokens ?? 0
        var tape: Tape? = nil, lossTensor: Tensor? = nil
        var lossValue: Float = 0
        if let share {
            let recording = Tape(recording: true, training: true, generator: generator)
            let loss = model.loss(share, smoothing: labelSmoothing, tape: recording)
            generator = recording.generator
            lossValue = loss.scalar
            (tape, lossTensor) = (recording, loss)
        }
        if group.isDistributed {
            // Every rank must learn of a non-finite loss anywhere before skipping the update,
            // or the ranks would part ways; the token count checks that the shares cover the batch.
            let totals = group.allReduceSum([Double(lossValue) * Double(shareTokens), Double(shareTokens)])
            if totals[1] != Double(batchTargetTokens) {
                group.abort("rank \(group.rank): the ranks' shares hold \(Int(totals[1])) target tokens, the batch \(batchTargetTokens); the ranks disagree on the data (same corpus, options and seed on every rank?)")
            }
            lossValue = Float(totals[0] / Double(batchTargetTokens))
        }
        guard lossValue.isFinite else {
            tape?.reset()
            return StepResult(loss: lossValue, targetTokens: batchTargetTokens, gradientNorm: .nan, learningRate: lr)
        }
        let parameters = model.parameters
        parameters.zeroGradients()
        if let tape, let lossTensor { tape.backward(from: lossTensor) }
        // The pad rows are not words: they get gradient only through the output projection,
        // and never change (formats.md).
        for row in model.padRows(of: parameters.gradients) { row.update(repeating: 0) }
        var reductionSeconds = 0.0
        if group.isDistributed {
            if shareTokens != batchTargetTokens {
                scale(parameters.gradients, count: parameters.count, by: Float(Double(shareTokens) / Double(batchTargetTokens)))
            }
            let start = DispatchTime.now().uptimeNanoseconds
            group.allReduceSum(parameters.gradients, count: parameters.count)
            reductionSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
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
        return StepResult(loss: lossValue, targetTokens: batchTargetTokens, gradientNorm: norm, learningRate: lr,
                          reductionSeconds: reductionSeconds)
    }

    private func scale(_ values: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        let chunk = 1 << 16
        Parallel.forEach((count + chunk - 1) / chunk) { c in
            for i in (c * chunk)..<min(count, (c + 1) * chunk) { values[i] *= factor }
        }
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
