/// Ops that fuse a linear layer with what follows it in a Transformer block, so that training
/// stores only what the backward reads. Unfused, every intermediate result stays alive until
/// backward (each op holds its inputs to hand them their gradients): for the feed-forward block
/// that is four (N, F) tensors, for each residual branch three (N, D) ones. These ops compute the
/// same values as the unfused sequence (the dropout masks are drawn in the same order).
extension Tape {
    /// y (…, out) = dropout(relu(x · Wᵀ + b)): the first half of the feed-forward network (§3.3)
    /// with `activation_dropout`.
    ///
    /// Stores y only: y > 0 exactly where the pre-activation was positive and the element was
    /// kept, and there dy/dpre is the dropout scale (1 without dropout).
    public func linearReLU(_ x: Tensor, weight: Tensor, bias: Tensor?, dropout p: Float) -> Tensor {
        let (rows, inFeatures, outFeatures) = linearShape(x, weight: weight, bias: bias)
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        Kernels.linearForward(x: x.data, rows: rows, inFeatures: inFeatures, weight: weight.data,
                              bias: bias?.data, outFeatures: outFeatures, y: y.data)
        let dropping = isTraining && p > 0
        let scale: Float = dropping ? 1 / (1 - p) : 1
        if dropping {
            precondition(p < 1, "dropout probability \(p) must be below 1")
            let mask = Kernels.dropoutMask(count: y.count, probability: p, generator: &generator)
            for i in 0..<y.count { y.data[i] = mask[i] != 0 && y.data[i] > 0 ? y.data[i] * scale : 0 }
        } else {
            for i in 0..<y.count { y.data[i] = max(y.data[i], 0) }
        }
        guard needsGradient(x, weight, bias) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            // dy becomes d pre-activation in place; y's gradient is not read again.
            for i in 0..<y.count { dy.data[i] = y.data[i] > 0 ? dy.data[i] * scale : 0 }
            Tape.linearBackward(x, weight: weight, bias: bias, dy: dy.data, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
            y.gradient = nil
        }
        return y
    }

    /// y (…, out) = residual + dropout(x · Wᵀ + b): a sublayer's output projection, its dropout and
    /// the residual connection of §5.4 ("dropout to the output of each sub-layer, before it is added
    /// to the sub-layer input"). Stores only a byte mask besides what the linear needs (x).
    public func residualLinear(_ x: Tensor, weight: Tensor, bias: Tensor?, dropout p: Float, residual: Tensor) -> Tensor {
        let (rows, inFeatures, outFeatures) = linearShape(x, weight: weight, bias: bias)
        precondition(residual.count == rows * outFeatures, "residualLinear: residual \(residual.shape) against \(rows)×\(outFeatures)")
        let y = Tensor(uninitialized: residual.shape)
        Kernels.linearForward(x: x.data, rows: rows, inFeatures: inFeatures, weight: weight.data,
                              bias: bias?.data, outFeatures: outFeatures, y: y.data)
        var mask: [UInt8] = []
        let scale = 1 / (1 - p)
        if isTraining && p > 0 {
            precondition(p < 1, "dropout probability \(p) must be below 1")
            mask = Kernels.dropoutMask(count: y.count, probability: p, generator: &generator)
            Kernels.applyDropout(y.data, mask: mask, scale: scale, count: y.count, into: y.data)
        }
        for i in 0..<y.count { y.data[i] += residual.data[i] }
        guard needsGradient(x, weight, bias, residual) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            if residual.requiresGradient {
                let (dr, accumulate) = residual.gradientDestination()
                if accumulate {
                    for i in 0..<dy.count { dr[i] += dy.data[i] }
                } else {
                    dr.update(from: dy.data, count: dy.count)
                }
            }
            if !mask.isEmpty { Kernels.applyDropout(dy.data, mask: mask, scale: scale, count: dy.count, into: dy.data) }
            Tape.linearBackward(x, weight: weight, bias: bias, dy: dy.data, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
            y.gradient = nil
        }
        return y
    }

    /// (rows, in, out) of a linear layer, checking the shapes.
    func linearShape(_ x: Tensor, weight: Tensor, bias: Tensor?) -> (rows: Int, inFeatures: Int, outFeatures: Int) {
        let outFeatures = weight.size(0), inFeatures = weight.size(1)
        precondition(x.size(-1) == inFeatures, "linear: input \(x.shape) against weight \(weight.shape)")
        precondition(bias == nil || bias!.count == outFeatures, "linear: bias of \(bias!.count) for \(outFeatures) outputs")
        return (x.count / inFeatures, inFeatures, outFeatures)
    }

    /// The gradients of a linear layer's inputs from dy.
    static func linearBackward(_ x: Tensor, weight: Tensor, bias: Tensor?, dy: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int) {
        let dx = x.requiresGradient ? x.gradientDestination() : nil
        Kernels.linearBackward(
            x: x.data, rows: rows, inFeatures: inFeatures, weight: weight.data, outFeatures: outFeatures,
            dy: dy, dx: dx?.pointer, accumulate: dx?.accumulate ?? false,
            dWeight: weight.requiresGradient ? weight.gradientBuffer().data : nil,
            dBias: bias?.requiresGradient == true ? bias!.gradientBuffer().data : nil)
    }
}

extension Tape {
    /// Label-smoothed cross-entropy of logits = hidden (…, D) · Wᵀ + b against `labels`, the mean
    /// over labels that are not `ignoreLabel` — the output projection and the loss of §3.4 as one
    /// op that never holds all (N, V) logits: it works through `chunkRows` rows at a time, and
    /// while recording computes that chunk's gradients right away (d hidden rows, d W) so the
    /// chunk's logits can be dropped. The same value as `crossEntropy(linear(hidden, W, b))`.
    public func projectedCrossEntropy(
        _ hidden: Tensor, weight: Tensor, bias: Tensor?, labels: [Int32], ignoreLabel: Int32?, smoothing: Float,
        chunkRows: Int? = nil
    ) -> Tensor {
        let (rows, D, V) = linearShape(hidden, weight: weight, bias: bias)
        precondition(labels.count == rows, "projectedCrossEntropy: \(labels.count) labels for \(rows) rows")
        precondition(labels.allSatisfy { ($0 >= 0 && Int($0) < V) || $0 == ignoreLabel }, "projectedCrossEntropy: label outside the vocabulary")
        // About 16 MB of logits a chunk: GEMMs stay large, memory small.
        let chunk = max(1, min(rows, chunkRows ?? max(64, (1 << 22) / V)))
        let recording = needsGradient(hidden, weight, bias)
        let counted = labels.reduce(0) { $0 + ($1 == ignoreLabel ? 0 : 1) }
        let dHidden = recording && hidden.requiresGradient ? Tensor(uninitialized: hidden.shape) : nil
        let dWeight = recording && weight.requiresGradient ? Tensor(zeros: weight.shape) : nil
        let dBias = recording && bias?.requiresGradient == true ? Tensor(zeros: [V]) : nil
        let logits = Tensor(uninitialized: [chunk, V])
        var loss: Float = 0
        labels.withUnsafeBufferPointer { lp in
            for start in stride(from: 0, to: rows, by: chunk) {
                let n = min(chunk, rows - start)
                let h = hidden.data + start * D
                Kernels.linearForward(x: h, rows: n, inFeatures: D, weight: weight.data, bias: bias?.data,
                                      outFeatures: V, y: logits.data)
                loss += Kernels.labelSmoothedCrossEntropy(
                    logits: logits.data, rows: n, vocabulary: V, labels: lp.baseAddress! + start, ignoreLabel: ignoreLabel,
                    smoothing: smoothing, gradient: recording ? logits.data : nil, normalizer: counted).loss
                guard recording else { continue }
                Kernels.linearBackward(x: h, rows: n, inFeatures: D, weight: weight.data, outFeatures: V, dy: logits.data,
                                       dx: dHidden.map { $0.data + start * D }, accumulate: false,
                                       dWeight: dWeight?.data, dBias: dBias?.data)
            }
        }
        let y = Tensor([loss], shape: [1])
        guard recording else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let upstream = y.gradient?.data[0] else { return }
            func addScaled(_ source: Tensor?, into target: Tensor?) {
                guard let source, let target else { return }
                let (d, accumulate) = target.gradientDestination()
                for i in 0..<source.count { d[i] = (accumulate ? d[i] : 0) + upstream * source.data[i] }
            }
            addScaled(dHidden, into: hidden)
            addScaled(dWeight, into: weight)
            addScaled(dBias, into: bias)
        }
        return y
    }
}

extension Tape {
    /// Layer normalization over the last axis, written over x's own buffer: the returned tensor
    /// views x's memory, and the backward recovers x̂ from the output (see
    /// `Kernels.layerNormBackwardFromOutput`), so the layer norm stores one (N) vector besides its
    /// output. Only for an x that nothing else reads afterwards — the residual sums of a post-norm
    /// block. The same values as `layerNorm`.
    public func layerNormInPlace(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
        let width = x.size(-1), rows = x.count / width
        precondition(weight.count == width && bias.count == width, "layerNorm: weight/bias against width \(width)")
        let recording = needsGradient(x, weight, bias)
        let rstd = recording ? Tensor(uninitialized: [rows]) : nil
        Kernels.layerNormForward(x: x.data, rows: rows, width: width, weight: weight.data, bias: bias.data,
                                 epsilon: epsilon, y: x.data, mean: nil, rstd: rstd?.data)
        let y = Tensor(viewing: x.data, shape: x.shape, owner: x)
        guard recording, let rstd else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let dx = x.requiresGradient ? x.gradientDestination() : nil
            Kernels.layerNormBackwardFromOutput(
                y: y.data, rows: rows, width: width, weight: weight.data, bias: bias.data, rstd: rstd.data,
                dy: dy.data, dx: dx?.pointer, accumulate: dx?.accumulate ?? false,
                dWeight: weight.requiresGradient ? weight.gradientBuffer().data : nil,
                dBias: bias.requiresGradient ? bias.gradientBuffer().data : nil)
            y.gradient = nil
        }
        return y
    }
}
