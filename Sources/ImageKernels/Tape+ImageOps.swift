import Tensor

/// The differentiable ops of image models, on NCHW tensors as PyTorch lays them out: convolution,
/// batch norm (optionally fused with its ReLU), the residual add + ReLU, SAGAN-style self-attention
/// over a feature map, global average pooling and the classification loss.
extension Tape {
    /// y (N, O, Ho, Wo) = conv2d(x (N, C, H, W), weight (O, C, K, K)) + bias (O), PyTorch's `Conv2d`
    /// with one stride and one zero padding for both axes.
    public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(x.shape.count == 4 && weight.shape.count == 4, "conv2d: x \(x.shape), weight \(weight.shape) must be 4-D")
        precondition(weight.size(1) == x.size(1) && weight.size(2) == weight.size(3),
                     "conv2d: weight \(weight.shape) against input \(x.shape)")
        precondition(bias == nil || bias!.count == weight.size(0), "conv2d: bias against \(weight.size(0)) channels")
        let shape = ConvolutionShape(batch: x.size(0), inChannels: x.size(1), height: x.size(2), width: x.size(3),
                                     outChannels: weight.size(0), kernelSize: weight.size(2), stride: stride, padding: padding)
        let y = Tensor(uninitialized: [shape.batch, shape.outChannels, shape.outHeight, shape.outWidth])
        let training = needsGradient(x, weight, bias)
        // The kernel gradient needs the forward's transformed input (or column matrices) again: keep them.
        let savedCount = training && weight.requiresGradient ? Kernels.convolutionSavedCount(shape) : 0
        let saved = savedCount > 0 ? Tensor(uninitialized: [savedCount]) : nil
        Kernels.convolutionForward(x: x.data, weight: weight.data, bias: bias?.data, shape: shape, y: y.data, saving: saved?.data)
        guard training else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let dx = x.requiresGradient ? x.gradientDestination() : nil
            Kernels.convolutionBackward(
                x: x.data, weight: weight.data, shape: shape, dy: dy.data,
                dx: dx?.pointer, accumulate: dx?.accumulate ?? false,
                dWeight: weight.requiresGradient ? weight.gradientBuffer().data : nil,
                dBias: bias?.requiresGradient == true ? bias!.gradientBuffer().data : nil,
                saved: saved.map { UnsafePointer($0.data) })
            y.gradient = nil
        }
        return y
    }

    /// Batch norm of x (N, C, H, W) per channel, PyTorch's `BatchNorm2d` (then ReLU when `relu`).
    ///
    /// `training`: normalise with the batch's statistics and update the running averages (when
    /// given) with `momentum`; otherwise normalise with the running averages, which must be given.
    /// Independent of the tape's own flags, so gradient checks can run the training form.
    public func batchNorm(
        _ x: Tensor, weight: Tensor, bias: Tensor,
        runningMean: Tensor?, runningVariance: Tensor?, training: Bool,
        momentum: Float = 0.1, epsilon: Float = 1e-5, relu: Bool = false
    ) -> Tensor {
        precondition(x.shape.count == 4, "batchNorm: x \(x.shape) must be (N, C, H, W)")
        let (N, C, P) = (x.size(0), x.size(1), x.size(2) * x.size(3))
        precondition(weight.count == C && bias.count == C, "batchNorm: weight/bias against \(C) channels")
        precondition(runningMean == nil || (runningMean!.count == C && runningVariance?.count == C),
                     "batchNorm: running statistics against \(C) channels")
        let y = Tensor(uninitialized: x.shape)
        guard training else {
            guard let runningMean, let runningVariance else { preconditionFailure("batchNorm: inference needs running statistics") }
            precondition(!needsGradient(x, weight, bias), "batchNorm: the inference form has no backward")
            Kernels.batchNormInferenceForward(
                x: x.data, batch: N, channels: C, pixels: P, weight: weight.data, bias: bias.data,
                runningMean: runningMean.data, runningVariance: runningVariance.data, epsilon: epsilon, relu: relu, y: y.data)
            return y
        }
        let mean = Tensor(uninitialized: [C]), rstd = Tensor(uninitialized: [C]), variance = Tensor(uninitialized: [C])
        Kernels.batchNormTrainingForward(
            x: x.data, batch: N, channels: C, pixels: P, weight: weight.data, bias: bias.data, epsilon: epsilon, relu: relu,
            y: y.data, mean: mean.data, rstd: rstd.data, variance: variance.data)
        if let runningMean, let runningVariance {
            Kernels.batchNormUpdateRunningStatistics(
                mean: mean.data, variance: variance.data, channels: C, count: N * P, momentum: momentum,
                runningMean: runningMean.data, runningVariance: runningVariance.data)
        }
        guard needsGradient(x, weight, bias) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let dx = x.requiresGradient ? x.gradientDestination() : nil
            Kernels.batchNormBackward(
                x: x.data, y: y.data, batch: N, channels: C, pixels: P, weight: weight.data, mean: mean.data, rstd: rstd.data,
                relu: relu, dy: dy.data, dx: dx?.pointer, accumulate: dx?.accumulate ?? false,
                dWeight: weight.requiresGradient ? weight.gradientBuffer().data : nil,
                dBias: bias.requiresGradient ? bias.gradientBuffer().data : nil)
            y.gradient = nil
        }
        return y
    }

    /// y = max(a + b, 0), same shapes: the end of a residual block. Backward reads only y.
    /// Both directions run in chunks over the threads: at (128, 128, 14, 14) a single pass is
    /// several milliseconds that would otherwise leave a core idle.
    public func addReLU(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "addReLU: \(a.shape) + \(b.shape)")
        let y = Tensor(uninitialized: a.shape)
        let (pa, pb, py) = (a.data, b.data, y.data)
        Tape.forEachChunk(a.count) { range in
            for i in range { py[i] = max(pa[i] + pb[i], 0) }
        }
        guard needsGradient(a, b) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let (output, upstream) = (y.data, dy.data)
            // d(a + b) = dy where y > 0: computed once, then handed to both inputs.
            let destinations = [a, b].filter(\.requiresGradient).map { $0.gradientDestination() }
            Tape.forEachChunk(y.count) { range in
                for i in range { upstream[i] = output[i] > 0 ? upstream[i] : 0 }
                for (d, accumulate) in destinations {
                    if accumulate {
                        for i in range { d[i] += upstream[i] }
                    } else {
                        (d + range.lowerBound).update(from: upstream + range.lowerBound, count: range.count)
                    }
                }
            }
            y.gradient = nil
        }
        return y
    }

    /// Runs `body` on contiguous chunks of 0..<count, one per thread (one chunk when small).
    static func forEachChunk(_ count: Int, _ body: (Range<Int>) -> Void) {
        let workers = count >= 1 << 16 ? Parallel.threads : 1
        Parallel.forEach(workers) { worker in
            body((count * worker / workers)..<(count * (worker + 1) / workers))
        }
    }

    /// Self-attention over the pixels of a feature map (see `SpatialAttentionShape`):
    /// `qkv` (N, 2·Cq + C, H, W) holds q | k | v from one 1×1 convolution of `x` (N, C, H, W);
    /// returns y = γ·attended + x (N, C, H, W) and the softmax weights (N, H·W, H·W).
    public func spatialSelfAttention(
        qkv: Tensor, input x: Tensor, gamma: Tensor, queryChannels: Int
    ) -> (output: Tensor, probabilities: Tensor) {
        precondition(qkv.shape.count == 4 && x.shape.count == 4 && gamma.count == 1, "spatialSelfAttention: 4-D qkv and x, scalar gamma")
        let shape = SpatialAttentionShape(batch: x.size(0), positions: x.size(2) * x.size(3),
                                          queryChannels: queryChannels, valueChannels: x.size(1))
        precondition(qkv.size(0) == shape.batch && qkv.size(1) == shape.projectedChannels
                     && qkv.size(2) == x.size(2) && qkv.size(3) == x.size(3),
                     "spatialSelfAttention: qkv \(qkv.shape) against x \(x.shape) with \(queryChannels) query channels")
        let (N, P, C) = (shape.batch, shape.positions, shape.valueChannels)
        let y = Tensor(uninitialized: x.shape)
        let probabilities = Tensor(uninitialized: [N, P, P])
        let attended = Tensor(uninitialized: [N, C, P])
        Kernels.spatialAttentionForward(qkv: qkv.data, x: x.data, gamma: gamma.data[0], shape: shape,
                                        probabilities: probabilities.data, attended: attended.data, y: y.data)
        guard needsGradient(qkv, x, gamma) else { return (y, probabilities) }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let dx = x.requiresGradient ? x.gradientDestination() : nil
            // The kernel overwrites dqkv; add through a scratch tensor if qkv already has a gradient.
            let existing = qkv.requiresGradient ? qkv.gradient : nil
            let dqkv: Tensor? = qkv.requiresGradient ? (existing == nil ? qkv.gradientBuffer() : Tensor(uninitialized: qkv.shape)) : nil
            Kernels.spatialAttentionBackward(
                qkv: qkv.data, gamma: gamma.data[0], shape: shape, probabilities: probabilities.data, attended: attended.data,
                dy: dy.data, dqkv: dqkv?.data, dx: dx?.pointer, accumulate: dx?.accumulate ?? false,
                dGamma: gamma.requiresGradient ? gamma.gradientBuffer().data : nil)
            if let existing, let dqkv { Kernels.add(dqkv.data, into: existing.data, count: dqkv.count) }
            y.gradient = nil
        }
        return (y, probabilities)
    }

    /// y (N, C) = the mean over H, W of x (N, C, H, W).
    public func globalAveragePool(_ x: Tensor) -> Tensor {
        precondition(x.shape.count == 4, "globalAveragePool: x \(x.shape) must be (N, C, H, W)")
        let planes = x.size(0) * x.size(1), P = x.size(2) * x.size(3)
        let y = Tensor(uninitialized: [x.size(0), x.size(1)])
        Kernels.globalAveragePoolForward(x: x.data, planes: planes, pixels: P, y: y.data)
        guard needsGradient(x) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let (dx, accumulate) = x.gradientDestination()
            Kernels.globalAveragePoolBackward(dy: dy.data, planes: planes, pixels: P, dx: dx, accumulate: accumulate)
            y.gradient = nil
        }
        return y
    }

    /// The mean over rows of −log softmax(logits (N, K))[label], PyTorch's `cross_entropy`; a scalar.
    public func crossEntropy(_ logits: Tensor, labels: [Int32]) -> Tensor {
        precondition(logits.shape.count == 2 && labels.count == logits.size(0), "crossEntropy: logits \(logits.shape) for \(labels.count) labels")
        let (N, K) = (logits.size(0), logits.size(1))
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < K }, "crossEntropy: a label outside 0..<\(K)")
        let recording = needsGradient(logits)
        // The loss kernel leaves d loss / d logits for a unit upstream gradient here.
        let unitGradient = recording ? Tensor(uninitialized: logits.shape) : nil
        let loss = labels.withUnsafeBufferPointer { l in
            Kernels.labelSmoothedCrossEntropy(logits: logits.data, rows: N, vocabulary: K, labels: l.baseAddress!,
                                              ignoreLabel: nil, smoothing: 0, gradient: unitGradient?.data).loss
        }
        let y = Tensor([loss], shape: [1])
        guard recording, let unitGradient else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let upstream = dy.data[0]
            let (d, accumulate) = logits.gradientDestination()
            for i in 0..<unitGradient.count {
                let g = upstream * unitGradient.data[i]
                d[i] = accumulate ? d[i] + g : g
            }
            y.gradient = nil
        }
        return y
    }
}
