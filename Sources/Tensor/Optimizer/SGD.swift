/// Stochastic gradient descent with momentum and weight decay over a prefix of a
/// `ParameterStore`'s flat buffers, as PyTorch's `torch.optim.SGD` (dampening 0, not Nesterov):
///
///     g ← g + weightDecay · p;   buf ← momentum · buf + g   (buf = g at the first step);   p ← p − lr · buf
///
/// Weight decay applies to every trainable parameter, biases and batch-norm affine parameters
/// included, as PyTorch does for `model.parameters()`. Buffers that are not trained (batch-norm
/// running statistics) must lie after the first `count` values, which is all this updates.
public final class SGD {
    public let count: Int
    /// The momentum buffer, one value per parameter.
    public let velocity: UnsafeMutablePointer<Float>
    public var weightDecay: Float
    /// How many updates have been applied.
    public private(set) var step = 0

    public init(parameterCount: Int, weightDecay: Float) {
        count = parameterCount
        self.weightDecay = weightDecay
        velocity = .zeroedFlatBuffer(count: parameterCount)
    }

    deinit { velocity.deallocate() }

    /// One update. The momentum can change from step to step (the one-cycle schedule cycles it).
    public func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, learningRate lr: Float, momentum: Float) {
        // PyTorch starts the buffer as a copy of the first gradient; from a zero buffer,
        // momentum · 0 + g is the same value.
        let (v, wd, n) = (velocity, weightDecay, count)
        let chunk = 1 << 14
        Parallel.forEach((n + chunk - 1) / chunk) { c in
            for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                let g = gradients[i] + wd * parameters[i]
                let vi = momentum * v[i] + g
                v[i] = vi
                parameters[i] -= lr * vi
            }
        }
        step += 1
    }
}

/// The one-cycle policy (Smith & Topin 2019) with PyTorch's `OneCycleLR` semantics and defaults:
/// two phases (`three_phase=False`), cosine annealing, `pct_start` 0.3, `div_factor` 25,
/// `final_div_factor` 1e4, and `cycle_momentum` between 0.85 and 0.95.
///
/// The rate rises from max/25 to max over the first phase, ending at step 0.3·total − 1, then falls
/// to max/25/1e4 at step total − 1; the momentum moves the opposite way, 0.95 → 0.85 → 0.95.
/// Update number i (from 0) uses the values at step i, as PyTorch's `scheduler.step()` after each
/// `optimizer.step()` gives.
public struct OneCycleSchedule: Sendable, Equatable {
    public var maximumRate: Double
    public var totalSteps: Int
    public var warmupFraction: Double = 0.3
    public var divisionFactor: Double = 25
    public var finalDivisionFactor: Double = 1e4
    public var baseMomentum: Double = 0.85
    public var maximumMomentum: Double = 0.95

    public init(maximumRate: Double, totalSteps: Int) {
        precondition(maximumRate > 0 && totalSteps >= 2, "one-cycle schedule: rate > 0 and at least 2 steps")
        self.maximumRate = maximumRate
        self.totalSteps = totalSteps
    }

    public var initialRate: Double { maximumRate / divisionFactor }
    public var finalRate: Double { initialRate / finalDivisionFactor }

    /// (learning rate, momentum) for update `step` (0 for the first).
    public func values(step: Int) -> (rate: Double, momentum: Double) {
        let peakStep = warmupFraction * Double(totalSteps) - 1
        let lastStep = Double(totalSteps - 1)
        let s = Double(step)
        if s <= peakStep {
            let t = s / peakStep
            return (Self.cosine(from: initialRate, to: maximumRate, t), Self.cosine(from: maximumMomentum, to: baseMomentum, t))
        }
        let t = min(1, (s - peakStep) / (lastStep - peakStep))
        return (Self.cosine(from: maximumRate, to: finalRate, t), Self.cosine(from: baseMomentum, to: maximumMomentum, t))
    }

    /// PyTorch's `_annealing_cos`: from `start` at t = 0 to `end` at t = 1 along half a cosine.
    static func cosine(from start: Double, to end: Double, _ t: Double) -> Double {
        end + (start - end) / 2 * (cos(Double.pi * t) + 1)
    }
}
