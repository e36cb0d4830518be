import Tensor

/// Batch normalization over NCHW tensors (Ioffe & Szegedy 2015), as PyTorch's `BatchNorm2d`:
/// each channel is normalised over its N·H·W values with the biased variance, eps inside the
/// square root; the running averages take the unbiased variance (× M / (M − 1), M = N·H·W).
///
/// Optionally fused with the ReLU that follows it in ConvBlock and ResBlock: the backward then
/// passes dy only where the output is positive, and no separate (N, C, H, W) pre-activation is kept.
extension Kernels {
    /// Training forward: y = γ·(x − mean)·rstd + β per channel, from the batch's own statistics;
    /// writes `mean` (C), `rstd` (C) for the backward, and `variance` (C), the biased batch variance.
    public static func batchNormTrainingForward(
        x: UnsafePointer<Float>, batch N: Int, channels C: Int, pixels P: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, epsilon: Float, relu: Bool,
        y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>
    ) {
        let M = N * P
        Parallel.forEach(C) { c in
            // Sums in Double: a channel holds up to N·H·W = 100k values.
            var sum: Double = 0
            for n in 0..<N {
                sum += Double(planeSum(x + (n * C + c) * P, count: P, shift: 0, squared: false))
            }
            let m = Float(sum / Double(M))
            var squares: Double = 0
            for n in 0..<N {
                squares += Double(planeSum(x + (n * C + c) * P, count: P, shift: m, squared: true))
            }
            let v = Float(squares / Double(M))
            let r = 1 / (v + epsilon).squareRoot()
            mean[c] = m
            rstd[c] = r
            variance[c] = v
            normalizePlanes(x: x, y: y, batch: N, channels: C, pixels: P, channel: c,
                            scale: weight[c] * r, shift: bias[c] - m * weight[c] * r, relu: relu)
        }
    }

    /// Σ (x − shift), or Σ (x − shift)² when `squared`, sixteen lanes at a time.
    @inline(__always)
    static func planeSum(_ x: UnsafePointer<Float>, count: Int, shift: Float, squared: Bool) -> Float {
        var lanes = SIMD16<Float>()
        var p = 0
        while p + 16 <= count {
            let d = UnsafeRawPointer(x + p).loadUnaligned(as: SIMD16<Float>.self) - shift
            lanes += squared ? d * d : d
            p += 16
        }
        var total = lanes.sum()
        while p < count { let d = x[p] - shift; total += squared ? d * d : d; p += 1 }
        return total
    }

    /// Inference forward: y = γ·(x − running mean) / √(running var + eps) + β.
    public static func batchNormInferenceForward(
        x: UnsafePointer<Float>, batch N: Int, channels C: Int, pixels P: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVariance: UnsafePointer<Float>, epsilon: Float, relu: Bool,
        y: UnsafeMutablePointer<Float>
    ) {
        Parallel.forEach(C) { c in
            let scale = weight[c] / (runningVariance[c] + epsilon).squareRoot()
            normalizePlanes(x: x, y: y, batch: N, channels: C, pixels: P, channel: c,
                            scale: scale, shift: bias[c] - runningMean[c] * scale, relu: relu)
        }
    }

    /// y = x·scale + shift (then max(·, 0) when `relu`) over the N planes of channel c.
    @inline(__always)
    static func normalizePlanes(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, batch N: Int, channels C: Int, pixels P: Int,
        channel c: Int, scale: Float, shift: Float, relu: Bool
    ) {
        for n in 0..<N {
            let input = x + (n * C + c) * P, output = y + (n * C + c) * P
            if relu {
                for p in 0..<P { output[p] = max(input[p] * scale + shift, 0) }
            } else {
                for p in 0..<P { output[p] = input[p] * scale + shift }
            }
        }
    }

    /// The running averages' update, as PyTorch: running ← (1 − momentum)·running + momentum·batch,
    /// with the unbiased variance M / (M − 1) · biased for the running variance.
    public static func batchNormUpdateRunningStatistics(
        mean: UnsafePointer<Float>, variance: UnsafePointer<Float>, channels C: Int, count M: Int, momentum: Float,
        runningMean: UnsafeMutablePointer<Float>, runningVariance: UnsafeMutablePointer<Float>
    ) {
        let bessel = M > 1 ? Float(M) / Float(M - 1) : 1
        for c in 0..<C {
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c]
            runningVariance[c] = (1 - momentum) * runningVariance[c] + momentum * variance[c] * bessel
        }
    }

    /// Backward of the training forward, with x̂ = (x − mean)·rstd and g = dy (zeroed where y ≤ 0
    /// when fused with ReLU):
    ///     dβ += Σ g;   dγ += Σ g·x̂;   dx (+)= γ·rstd·(g − Σg / M − x̂ · Σ(g·x̂) / M).
    public static func batchNormBackward(
        x: UnsafePointer<Float>, y: UnsafePointer<Float>, batch N: Int, channels C: Int, pixels P: Int,
        weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, relu: Bool,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?
    ) {
        let M = Float(N * P)
        Parallel.forEach(C) { c in
            let (m, r) = (mean[c], rstd[c])
            var sumG: Double = 0, sumGXHat: Double = 0
            for n in 0..<N {
                let offset = (n * C + c) * P
                let (g, gx) = gradientSums(x: x + offset, y: y + offset, dy: dy + offset, count: P, mean: m, relu: relu)
                sumG += Double(g)
                sumGXHat += Double(gx)
            }
            let sumGF = Float(sumG), sumGXHatF = Float(sumGXHat) * r
            dBias?[c] += sumGF
            dWeight?[c] += sumGXHatF
            guard let dx else { return }
            // dx = k·g − k·meanG − k·r·meanGXHat·(x − m) = k·g + a·x + b
            let k = weight[c] * r
            let meanG = sumGF / M, meanGXHat = sumGXHatF / M
            let a = -k * r * meanGXHat, b = -k * meanG + k * r * meanGXHat * m
            for n in 0..<N {
                let offset = (n * C + c) * P
                inputGradient(x: x + offset, y: y + offset, dy: dy + offset, count: P, k: k, a: a, b: b,
                              relu: relu, accumulate: accumulate, dx: dx + offset)
            }
        }
    }

    /// (Σ g, Σ g·(x − mean)) over one plane, g = dy masked by y > 0 when `relu`.
    @inline(__always)
    static func gradientSums(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>, count: Int, mean: Float, relu: Bool) -> (Float, Float) {
        var sg = SIMD16<Float>(), sgx = SIMD16<Float>()
        var p = 0
        while p + 16 <= count {
            var g = UnsafeRawPointer(dy + p).loadUnaligned(as: SIMD16<Float>.self)
            if relu { g.replace(with: 0, where: UnsafeRawPointer(y + p).loadUnaligned(as: SIMD16<Float>.self) .<= 0) }
            sg += g
            sgx += g * (UnsafeRawPointer(x + p).loadUnaligned(as: SIMD16<Float>.self) - mean)
            p += 16
        }
        var (tg, tgx) = (sg.sum(), sgx.sum())
        while p < count {
            let g = relu && y[p] <= 0 ? 0 : dy[p]
            tg += g
            tgx += g * (x[p] - mean)
            p += 1
        }
        return (tg, tgx)
    }

    /// dx (+)= k·g + a·x + b over one plane, g = dy masked by y > 0 when `relu`.
    @inline(__always)
    static func inputGradient(
        x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>, count: Int, k: Float, a: Float, b: Float,
        relu: Bool, accumulate: Bool, dx: UnsafeMutablePointer<Float>
    ) {
        var p = 0
        while p + 16 <= count {
            var g = UnsafeRawPointer(dy + p).loadUnaligned(as: SIMD16<Float>.self)
            if relu { g.replace(with: 0, where: UnsafeRawPointer(y + p).loadUnaligned(as: SIMD16<Float>.self) .<= 0) }
            var value = k * g + a * UnsafeRawPointer(x + p).loadUnaligned(as: SIMD16<Float>.self) + b
            if accumulate { value += UnsafeRawPointer(dx + p).loadUnaligned(as: SIMD16<Float>.self) }
            UnsafeMutableRawPointer(dx + p).storeBytes(of: value, as: SIMD16<Float>.self)
            p += 16
        }
        while p < count {
            let g = relu && y[p] <= 0 ? 0 : dy[p]
            let value = k * g + a * x[p] + b
            dx[p] = accumulate ? dx[p] + value : value
            p += 1
        }
    }
}

extension ReferenceKernels {
    /// Training-mode batch norm from its definition, in Double (optionally followed by ReLU).
    public static func batchNorm(
        x: [Float], batch N: Int, channels C: Int, pixels P: Int, weight: [Float], bias: [Float], epsilon: Float, relu: Bool
    ) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for c in 0..<C {
            var values: [Double] = []
            for n in 0..<N { for p in 0..<P { values.append(Double(x[(n * C + c) * P + p])) } }
            let m = values.reduce(0, +) / Double(values.count)
            let v = values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count)
            for n in 0..<N { for p in 0..<P {
                let i = (n * C + c) * P + p
                let out = (Double(x[i]) - m) / (v + Double(epsilon)).squareRoot() * Double(weight[c]) + Double(bias[c])
                y[i] = Float(relu ? max(out, 0) : out)
            } }
        }
        return y
    }
}
