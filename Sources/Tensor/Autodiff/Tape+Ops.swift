/// The differentiable ops. Each computes its result with a kernel from `Kernels` and, when an
/// input needs a gradient, records the mirror-image backward step. Results are captured weakly by
/// their own backward step: a result nobody uses any more has no gradient to pass on, and the
/// gradient of a result is dropped as soon as its producer has consumed it, which keeps the
/// memory of backward close to that of forward.
extension Tape {
    /// y (…, out) = x (…, in) · Wᵀ + b, W (out, in) in PyTorch's layout.
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let (rows, inFeatures, outFeatures) = linearShape(x, weight: weight, bias: bias)
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        Kernels.linearForward(x: x.data, rows: rows, inFeatures: inFeatures, weight: weight.data,
                              bias: bias?.data, outFeatures: outFeatures, y: y.data)
        guard needsGradient(x, weight, bias) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            Tape.linearBackward(x, weight: weight, bias: bias, dy: dy.data, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
            y.gradient = nil
        }
        return y
    }

    /// y = a + b, same shapes (the residual connections of §3.1 / §5.4).
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: \(a.shape) + \(b.shape)")
        let y = Tensor(uninitialized: a.shape)
        let (pa, pb, py) = (a.data, b.data, y.data)
        for i in 0..<a.count { py[i] = pa[i] + pb[i] }
        guard needsGradient(a, b) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            for input in [a, b] where input.requiresGradient {
                let (d, accumulate) = input.gradientDestination()
                if accumulate {
                    for i in 0..<dy.count { d[i] += dy.data[i] }
                } else {
                    d.update(from: dy.data, count: dy.count)
                }
            }
            y.gradient = nil
        }
        return y
    }

    /// y = act(x) elementwise (the feed-forward non-linearity, §3.3).
    public func activation(_ x: Tensor, _ kind: Activation) -> Tensor {
        let y = Tensor(uninitialized: x.shape)
        Kernels.activationForward(kind, x: x.data, y: y.data, count: x.count)
        guard needsGradient(x) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let (dx, accumulate) = x.gradientDestination()
            Kernels.activationBackward(kind, x: x.data, dy: dy.data, dx: dx, count: x.count, accumulate: accumulate)
            y.gradient = nil
        }
        return y
    }

    /// Layer normalization over the last axis (Ba et al. 2016), eps inside the square root.
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
        let width = x.size(-1), rows = x.count / width
        precondition(weight.count == width && bias.count == width, "layerNorm: weight/bias against width \(width)")
        let y = Tensor(uninitialized: x.shape)
        let recording = needsGradient(x, weight, bias)
        let mean = recording ? Tensor(uninitialized: [rows]) : nil
        let rstd = recording ? Tensor(uninitialized: [rows]) : nil
        Kernels.layerNormForward(x: x.data, rows: rows, width: width, weight: weight.data, bias: bias.data,
                                 epsilon: epsilon, y: y.data, mean: mean?.data, rstd: rstd?.data)
        guard recording, let mean, let rstd else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let dx = x.requiresGradient ? x.gradientDestination() : nil
            Kernels.layerNormBackward(
                x: x.data, rows: rows, width: width, weight: weight.data, mean: mean.data, rstd: rstd.data,
                dy: dy.data, dx: dx?.pointer, accumulate: dx?.accumulate ?? false,
                dWeight: weight.requiresGradient ? weight.gradientBuffer().data : nil,
                dBias: bias.requiresGradient ? bias.gradientBuffer().data : nil)
            y.gradient = nil
        }
        return y
    }

    /// Multi-head scaled dot-product attention (§3.2.1–3.2.2) on projections already computed.
    ///
    /// `query` (B, T, ·) holds q in columns `queryColumn ..< queryColumn + H·Dh` of each row;
    /// `keyValue` (B, S, ·) holds k and v at `keyColumn` and `valueColumn` — for self-attention both
    /// are the one fused q|k|v projection. Returns the heads side by side, (B, T, H·Dh), and the
    /// attention probabilities (B, H, T, S), before dropout.
    ///
    /// While training, `dropout` drops attention probabilities (inverted dropout, one draw per
    /// (b, h, t, s) from the tape's generator, in that order).
    public func attention(
        query: Tensor, queryColumn: Int,
        keyValue: Tensor, keyColumn: Int, valueColumn: Int,
        heads: Int, keyPadding: [UInt8]?, causal: Bool, dropout: Float = 0
    ) -> (output: Tensor, probabilities: Tensor) {
        precondition(query.shape.count == 3 && keyValue.shape.count == 3, "attention takes (B, T, ·) tensors")
        let B = query.size(0), T = query.size(1), S = keyValue.size(1)
        let qStride = query.size(2), kvStride = keyValue.size(2)
        precondition(keyValue.size(0) == B, "attention: batch \(B) against \(keyValue.size(0))")
        let width = min(qStride - queryColumn, kvStride - max(keyColumn, valueColumn))
        precondition(width > 0 && width % heads == 0, "attention: width \(width) not divisible into \(heads) heads")
        precondition(keyPadding == nil || keyPadding!.count == B * S, "attention: key padding is (B, S)")
        let shape = AttentionShape(batch: B, queries: T, keys: S, heads: heads, headWidth: width / heads)
        let scale = 1 / Float(shape.headWidth).squareRoot()
        let output = Tensor(uninitialized: [B, T, width])
        let probabilities = Tensor(uninitialized: [B, heads, T, S])
        func rows(_ t: Tensor, _ column: Int) -> StridedRows {
            StridedRows(base: t.data + column, rowStride: t.size(2), batchStride: t.size(1) * t.size(2))
        }
        precondition(dropout >= 0 && dropout < 1, "attention dropout \(dropout) must be in [0, 1)")
        let dropoutMask = isTraining && dropout > 0
            ? Kernels.dropoutMask(count: shape.probabilityCount, probability: dropout, generator: &generator) : []
        let keepScale = 1 / (1 - dropout)
        /// Runs `body` with the kernel's view of the dropout mask (nil when not dropping).
        func withDropout<R>(_ body: (AttentionDropout?) -> R) -> R {
            dropoutMask.withUnsafeBufferPointer { m in
                body(dropoutMask.isEmpty ? nil : AttentionDropout(mask: m.baseAddress!, scale: keepScale))
            }
        }
        let padding = keyPadding ?? []
        padding.withUnsafeBufferPointer { pad in
            withDropout { dropout in
                Kernels.attentionForward(
                    shape: shape, scale: scale,
                    q: rows(query, queryColumn), k: rows(keyValue, keyColumn), v: rows(keyValue, valueColumn),
                    mask: AttentionMask(keyPadding: keyPadding == nil ? nil : pad.baseAddress, causalOffset: causal ? 0 : nil),
                    probabilities: probabilities.data, out: rows(output, 0), dropout: dropout)
            }
        }
        guard needsGradient(query, keyValue) else { return (output, probabilities) }
        output.requiresGradient = true
        record { [weak output] in
            guard let output, let dOut = output.gradient else { return }
            // Attention adds into dq, dk and dv with beta 1, so the destinations start from zero.
            let dQuery = query.requiresGradient ? query.gradientBuffer() : nil
            let dKeyValue = keyValue.requiresGradient ? keyValue.gradientBuffer() : nil
            withDropout { dropout in
                Kernels.attentionBackward(
                    shape: shape, scale: scale,
                    q: rows(query, queryColumn), k: rows(keyValue, keyColumn), v: rows(keyValue, valueColumn),
                    probabilities: probabilities.data, dOut: rows(dOut, 0),
                    dq: dQuery.map { rows($0, queryColumn) },
                    dk: dKeyValue.map { rows($0, keyColumn) },
                    dv: dKeyValue.map { rows($0, valueColumn) }, dropout: dropout)
            }
            output.gradient = nil
        }
        return (output, probabilities)
    }

    /// x (B, L, D) = dropout(table[ids] · scale + positionTable[positions]); `ids` and `positions`
    /// are (B·L). Rows whose id is `padId` send no gradient to the table (PyTorch's `padding_idx`).
    /// Dropout (while training) is applied here rather than by a separate op so that only its
    /// byte mask is kept for the backward, not the undropped embeddings as well.
    public func embedding(
        ids: [Int32], positions: [Int32], batch: Int, length: Int,
        table: Tensor, scale: Float, positionTable: Tensor, padId: Int32?, dropout p: Float = 0
    ) -> Tensor {
        let width = table.size(1)
        precondition(ids.count == batch * length && positions.count == ids.count, "embedding: ids are (B·L)")
        precondition(ids.allSatisfy { $0 >= 0 && Int($0) < table.size(0) }, "embedding: id outside the vocabulary of \(table.size(0))")
        precondition(positions.allSatisfy { $0 >= 0 && Int($0) < positionTable.size(0) }, "embedding: position past the table of \(positionTable.size(0))")
        precondition(p >= 0 && p < 1, "embedding: dropout \(p) must be in [0, 1)")
        let y = Tensor(uninitialized: [batch, length, width])
        ids.withUnsafeBufferPointer { idp in
            positions.withUnsafeBufferPointer { pp in
                Kernels.embeddingForward(ids: idp.baseAddress!, positions: pp.baseAddress!, rows: ids.count, width: width,
                                         table: table.data, scale: scale, positionTable: positionTable.data, out: y.data)
            }
        }
        let mask = isTraining && p > 0 ? Kernels.dropoutMask(count: y.count, probability: p, generator: &generator) : []
        let keepScale = 1 / (1 - p)
        if !mask.isEmpty { Kernels.applyDropout(y.data, mask: mask, scale: keepScale, count: y.count, into: y.data) }
        guard needsGradient(table) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            if !mask.isEmpty { Kernels.applyDropout(dy.data, mask: mask, scale: keepScale, count: dy.count, into: dy.data) }
            ids.withUnsafeBufferPointer { idp in
                Kernels.embeddingBackward(ids: idp.baseAddress!, rows: ids.count, width: width, scale: scale,
                                          dOut: dy.data, dTable: table.gradientBuffer().data, skipId: padId)
            }
            y.gradient = nil
        }
        return y
    }

    /// Inverted dropout while training; the identity otherwise or when p is 0.
    public func dropout(_ x: Tensor, probability p: Float) -> Tensor {
        guard isTraining, p > 0 else { return x }
        precondition(p < 1, "dropout probability \(p) must be below 1")
        let y = Tensor(uninitialized: x.shape)
        let mask = Kernels.dropoutMask(count: x.count, probability: p, generator: &generator)
        let scale = 1 / (1 - p)
        Kernels.applyDropout(x.data, mask: mask, scale: scale, count: x.count, into: y.data)
        guard needsGradient(x) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let (dx, accumulate) = x.gradientDestination()
            Kernels.applyDropout(dy.data, mask: mask, scale: scale, count: x.count, into: dx, accumulate: accumulate)
            y.gradient = nil
        }
        return y
    }

    /// Label-smoothed cross-entropy, mean over rows whose label is not `ignoreLabel`; a scalar.
    /// `logits` (…, V). While recording, the gradient is computed in the same pass and stored in
    /// the logits' own buffer (their values are not needed again), saving a (N, V) buffer.
    public func crossEntropy(_ logits: Tensor, labels: [Int32], ignoreLabel: Int32?, smoothing: Float) -> Tensor {
        let V = logits.size(-1), rows = logits.count / V
        precondition(labels.count == rows, "crossEntropy: \(labels.count) labels for \(rows) rows")
        precondition(labels.allSatisfy { ($0 >= 0 && Int($0) < V) || $0 == ignoreLabel }, "crossEntropy: label outside the vocabulary")
        let recording = needsGradient(logits)
        let (loss, _) = labels.withUnsafeBufferPointer { lp in
            Kernels.labelSmoothedCrossEntropy(logits: logits.data, rows: rows, vocabulary: V, labels: lp.baseAddress!,
                                              ignoreLabel: ignoreLabel, smoothing: smoothing,
                                              gradient: recording ? logits.data : nil)
        }
        let y = Tensor([loss], shape: [1])
        guard recording else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let upstream = dy.data[0]
            if logits.gradient == nil {
                // The usual case: hand the logits' buffer over as their gradient, no copy.
                if upstream != 1 { for i in 0..<logits.count { logits.data[i] *= upstream } }
                logits.gradient = Tensor(viewing: logits.data, shape: logits.shape, owner: nil)
            } else {
                let dx = logits.gradient!.data
                for i in 0..<logits.count { dx[i] += logits.data[i] * upstream }
            }
        }
        return y
    }

    /// The same elements under another shape; gradients flow through unchanged.
    public func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor {
        let y = x.reshaped(shape)
        guard needsGradient(x) else { return y }
        y.requiresGradient = true
        record { [weak y] in
            guard let y, let dy = y.gradient else { return }
            let (dx, accumulate) = x.gradientDestination()
            for i in 0..<x.count { dx[i] = accumulate ? dx[i] + dy.data[i] : dy.data[i] }
            y.gradient = nil
        }
        return y
    }
}
