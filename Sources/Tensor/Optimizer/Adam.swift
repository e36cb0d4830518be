/// Adam (Kingma & Ba 2015) over a `ParameterStore`'s flat buffers, as PyTorch's `torch.optim.Adam`
/// without weight decay, with the Transformer paper's β₁ 0.9, β₂ 0.98, ε 1e-9 (§5.3):
///
///     m ← β₁·m + (1 − β₁)·g;   v ← β₂·v + (1 − β₂)·g²
///     p ← p − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
///
/// The moments `m` and `v` share the parameters' flat layout, so one loop updates everything and a
/// checkpoint saves them as two tensors. A parameter whose gradient has always been zero (the pad
/// row of the embedding, a constant buffer) keeps m = v = 0 and so never moves.
public final class Adam {
    public struct Hyperparameters: Sendable, Equatable {
        public var beta1: Float
        public var beta2: Float
        public var epsilon: Float

        public init(beta1: Float = 0.9, beta2: Float = 0.98, epsilon: Float = 1e-9) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
        }
    }

    public let hyperparameters: Hyperparameters
    /// How many updates have been applied (t of the bias correction).
    public private(set) var step: Int = 0
    /// First moments, one per parameter.
    public let firstMoment: UnsafeMutablePointer<Float>
    /// Second moments, one per parameter.
    public let secondMoment: UnsafeMutablePointer<Float>
    public let count: Int

    public init(parameterCount: Int, hyperparameters: Hyperparameters = Hyperparameters()) {
        count = parameterCount
        self.hyperparameters = hyperparameters
        firstMoment = .zeroedFlatBuffer(count: count)
        secondMoment = .zeroedFlatBuffer(count: count)
    }

    deinit {
        firstMoment.deallocate()
        secondMoment.deallocate()
    }

    /// One update of `parameters` from `gradients` (both `count` long) at learning rate `lr`.
    public func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, learningRate lr: Float) {
        step += 1
        let (b1, b2, eps) = (hyperparameters.beta1, hyperparameters.beta2, hyperparameters.epsilon)
        // The bias corrections in Double: 1 − β₂ᵗ is tiny in the first steps.
        let correction1 = Float(1 - pow(Double(b1), Double(step)))
        let correction2 = Float(1 - pow(Double(b2), Double(step)))
        let stepSize = lr / correction1
        let inverseRootCorrection2 = 1 / correction2.squareRoot()
        let (m, v, n) = (firstMoment, secondMoment, count)
        // Chunks of 16k parameters: enough work per chunk to pay for the dispatch.
        let chunk = 1 << 14
        Parallel.forEach((n + chunk - 1) / chunk) { c in
            for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                let g = gradients[i]
                let mi = b1 * m[i] + (1 - b1) * g
                let vi = b2 * v[i] + (1 - b2) * g * g
                m[i] = mi
                v[i] = vi
                parameters[i] -= stepSize * mi / (vi.squareRoot() * inverseRootCorrection2 + eps)
            }
        }
    }

    /// Restores the state saved in a checkpoint.
    public func restore(step: Int, firstMoment m: [Float], secondMoment v: [Float]) {
        precondition(m.count == count && v.count == count, "Adam: moments of \(m.count)/\(v.count) for \(count) parameters")
        precondition(step >= 0, "Adam: negative step")
        self.step = step
        m.withUnsafeBufferPointer { firstMoment.update(from: $0.baseAddress!, count: count) }
        v.withUnsafeBufferPointer { secondMoment.update(from: $0.baseAddress!, count: count) }
    }
}

/// Gradient-norm clipping (Pascanu et al. 2013), as PyTorch's `clip_grad_norm_`: when the global
/// L2 norm of all gradients exceeds `maxNorm`, scale them all by maxNorm / (norm + 1e-6).
public enum GradientClipping {
    /// The L2 norm of `count` values, accumulated in Double.
    public static func norm(_ values: UnsafePointer<Float>, count: Int) -> Double {
        let chunk = 1 << 16
        let chunks = (count + chunk - 1) / chunk
        var partial = [Double](repeating: 0, count: chunks)
        partial.withUnsafeMutableBufferPointer { sums in
            Parallel.forEach(chunks) { c in
                var s: Double = 0
                for i in (c * chunk)..<min(count, (c + 1) * chunk) { s += Double(values[i]) * Double(values[i]) }
                sums[c] = s
            }
        }
        return partial.reduce(0, +).squareRoot()
    }

    /// Clips in place and returns the norm before clipping (what training logs report).
    @discardableResult
    public static func clip(_ gradients: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double) -> Double {
        let total = norm(gradients, count: count)
        if total > maxNorm {
            let factor = Float(maxNorm / (total + 1e-6))
            for i in 0..<count { gradients[i] *= factor }
        }
        return total
    }
}

extension ReferenceKernels {
    /// One Adam step written straight from the paper's Algorithm 1, in Double.
    public static func adamStep(
        parameters: inout [Double], gradients: [Double], m: inout [Double], v: inout [Double], step t: Int,
        learningRate lr: Double, beta1: Double, beta2: Double, epsilon: Double
    ) {
        for i in parameters.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * gradients[i]
            v[i] = beta2 * v[i] + (1 - beta2) * gradients[i] * gradients[i]
            let mHat = m[i] / (1 - pow(beta1, Double(t)))
            let vHat = v[i] / (1 - pow(beta2, Double(t)))
            parameters[i] -= lr * mHat / (vHat.squareRoot() + epsilon)
        }
    }
}
