extension Kernels {
    /// Label-smoothed cross-entropy over rows of logits, as PyTorch's
    /// `CrossEntropyLoss(label_smoothing: ε, ignore_index: pad)` (Szegedy et al. 2016; formats.md):
    /// per row with label y, (1 − ε)·(−log p_y) + ε · mean_v(−log p_v); the loss is the mean over
    /// rows whose label is not `ignoreLabel`.
    ///
    /// Fused with its backward: when `gradient` is given it receives
    /// d loss / d logits = (softmax − ((1 − ε)·onehot(y) + ε/V)) / count, and 0 on ignored rows.
    /// It may be the logits buffer itself (the logits are dead after the loss).
    /// `normalizer` replaces count when these rows are one slice of a larger batch.
    /// Returns the loss (the sum over counted rows divided by the normalizer) and the rows that counted.
    @discardableResult
    public static func labelSmoothedCrossEntropy(
        logits: UnsafePointer<Float>, rows: Int, vocabulary V: Int,
        labels: UnsafePointer<Int32>, ignoreLabel: Int32?, smoothing: Float,
        gradient: UnsafeMutablePointer<Float>?, normalizer: Int? = nil
    ) -> (loss: Float, count: Int) {
        var counted = 0
        for r in 0..<rows where labels[r] != ignoreLabel { counted += 1 }
        let divisor = normalizer ?? counted
        let inverseCount = divisor > 0 ? 1 / Float(divisor) : 0
        var rowLosses = [Double](repeating: 0, count: rows)
        rowLosses.withUnsafeMutableBufferPointer { losses in
            Parallel.forEach(rows, minimumPerWorker: 16) { r in
                let row = logits + r * V
                let label = labels[r]
                if label == ignoreLabel {
                    gradient.map { ($0 + r * V).update(repeating: 0, count: V) }
                    return
                }
                let (maximum, sumLogits) = maximumAndSum(row, count: V)
                let labelLogit = row[Int(label)]  // read before the gradient overwrites the row
                // One exp per logit: the gradient pass reuses the exponentials stored here.
                var sumExp: Float = 0
                if let gradient {
                    let g = gradient + r * V
                    for v in 0..<V { let e = expf(row[v] - maximum); g[v] = e; sumExp += e }
                } else {
                    for v in 0..<V { sumExp += expf(row[v] - maximum) }
                }
                let logSumExp = maximum + logf(sumExp)
                let nll = logSumExp - labelLogit
                let smoothTerm = logSumExp - sumLogits / Float(V)
                losses[r] = Double((1 - smoothing) * nll + smoothing * smoothTerm)
                if let gradient {
                    let g = gradient + r * V
                    let uniform = smoothing / Float(V) * inverseCount
                    let scale = inverseCount / sumExp
                    for v in 0..<V { g[v] = g[v] * scale - uniform }
                    g[Int(label)] -= (1 - smoothing) * inverseCount
                }
            }
        }
        return (Float(rowLosses.reduce(0, +) * Double(inverseCount)), counted)
    }

    /// max and Σ of `count` values, with sixteen lanes (a plain loop would not vectorize: float
    /// addition is not associative).
    @inline(__always)
    static func maximumAndSum(_ x: UnsafePointer<Float>, count: Int) -> (maximum: Float, sum: Float) {
        var maxima = SIMD16<Float>(repeating: -.infinity), sums = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            maxima = pointwiseMax(maxima, v)
            sums += v
            i += 16
        }
        var maximum = maxima.max(), sum = sums.sum()
        while i < count { maximum = max(maximum, x[i]); sum += x[i]; i += 1 }
        return (maximum, sum)
    }
}

extension ReferenceKernels {
    /// The same loss from its definition, in Double.
    public static func labelSmoothedCrossEntropy(logits: [Float], rows: Int, vocabulary V: Int, labels: [Int32], ignoreLabel: Int32?, smoothing: Double) -> Double {
        var total = 0.0, counted = 0
        for r in 0..<rows where labels[r] != ignoreLabel {
            let row = (0..<V).map { Double(logits[r * V + $0]) }
            let m = row.max()!
            let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            let negLog = row.map { lse - $0 }
            total += (1 - smoothing) * negLog[Int(labels[r])] + smoothing * negLog.reduce(0, +) / Double(V)
            counted += 1
        }
        return counted > 0 ? total / Double(counted) : 0
    }
}
