/// The learning rate of "Attention Is All You Need" (§5.3, "Noam"): linear warm-up for `warmup`
/// steps, then decay with the inverse square root of the step,
///
///     lr(step) = factor · D^-0.5 · min(step^-0.5, step · warmup^-1.5)      (step counts from 1)
///
/// The same curve is stated here by its peak, reached at step = warmup:
/// peak = factor · (D · warmup)^-0.5, so lr(step) = peak · min(step / warmup, √(warmup / step)).
/// The peak is easier to reason about across model widths (fairseq's `inverse_sqrt` takes it too);
/// `noam(factor:modelWidth:warmup:)` converts from the paper's parameters.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public var peak: Double
    public var warmup: Int

    public init(peak: Double, warmup: Int) {
        precondition(peak > 0 && warmup >= 1, "learning-rate schedule: peak > 0 and warmup ≥ 1")
        self.peak = peak
        self.warmup = warmup
    }

    /// The paper's parameterisation: factor 1 (or 2, as The Annotated Transformer), D, warmup 4000.
    public static func noam(factor: Double, modelWidth: Int, warmup: Int) -> LearningRateSchedule {
        LearningRateSchedule(peak: factor / (Double(modelWidth) * Double(warmup)).squareRoot(), warmup: warmup)
    }

    /// The rate for update number `step` (1 for the first update).
    public func rate(step: Int) -> Double {
        let s = Double(max(step, 1)), w = Double(warmup)
        return peak * min(s / w, (w / s).squareRoot())
    }
}
