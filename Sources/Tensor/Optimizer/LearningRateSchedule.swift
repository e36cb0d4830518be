/// The learning rate of "Attention Is All You Need" (§5.3, "Noam"): linear warm-up for `warmup`
/// steps, then decay with the inverse square root of the step,
///
///     lr(step) = factor · D^-0.5 · min(step^-0.5, step · warmup^-1.5)      (step counts from 1)
///
/// The same curve is stated here by its peak, reached at step = warmup:
/// peak = factor · (D · warmup)^-0.5, so lr(step) = peak · min(step / warmup, √(warmup / step)).
/// The peak is easier to reason about across model widths (fairseq's `inverse_sqrt` takes it too);
/// `noam(factor:modelWidth:warmup:)` converts from the paper's parameters.
///
/// An optional cool-down multiplies the last updates by a ramp that falls linearly towards zero
/// (the "decay" phase of warm-up–stable–decay schedules). Annealing to zero settles the parameters
/// near a minimum instead of leaving them wandering at the last rate: on the runs of
/// docs/RESULTS.md one annealed checkpoint scored as well as the average of twelve unannealed ones,
/// and better after more epochs (docs/training.md, "With a cool-down").
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public var peak: Double
    public var warmup: Int
    public var coolDown: CoolDown?

    /// The last `updates` updates up to and including update `end` are scaled by
    /// (end − step + 1) / updates: 1 for the first of them, 1/updates for the last, 0 after.
    public struct CoolDown: Sendable, Equatable, Codable {
        public var end: Int
        public var updates: Int

        public init(end: Int, updates: Int) {
            precondition(updates >= 1, "learning-rate cool-down: at least one update")
            self.end = end
            self.updates = updates
        }

        public func factor(step: Int) -> Double {
            min(1, max(0, (Double(end) - Double(step) + 1) / Double(updates)))
        }
    }

    public init(peak: Double, warmup: Int, coolDown: CoolDown? = nil) {
        precondition(peak > 0 && warmup >= 1, "learning-rate schedule: peak > 0 and warmup ≥ 1")
        self.peak = peak
        self.warmup = warmup
        self.coolDown = coolDown
    }

    /// The paper's parameterisation: factor 1 (or 2, as The Annotated Transformer), D, warmup 4000.
    public static func noam(factor: Double, modelWidth: Int, warmup: Int) -> LearningRateSchedule {
        LearningRateSchedule(peak: factor / (Double(modelWidth) * Double(warmup)).squareRoot(), warmup: warmup)
    }

    /// The rate for update number `step` (1 for the first update).
    public func rate(step: Int) -> Double {
        let s = Double(max(step, 1)), w = Double(warmup)
        return peak * min(s / w, (w / s).squareRoot()) * (coolDown?.factor(step: step) ?? 1)
    }
}
