extension Kernels {
    /// Label-smoothed cross-entropy over rows of logits, as PyTorch's
    /// `CrossEntropyLoss(label_smoothing: ε, ignore_index: pad)` (Szegedy et al. 2016; formats.md):
    /// per row with label y, (1 − ε)·(−log p_y) + ε · mean_v(−log p_v); the loss is the mean over
    /// rows whose label is not `ignoreLabel`.
    ///
    /// Fused with its backward: when `gradient` is given it receives
    /// d loss / d logits = (softmax − ((1 − ε)·onehot(y) + ε/V)) / count, and 0 on ignored rows.
    /// It may be the logits buffer itself (the logits are dead after the loss).
    /// Returns the loss and the number of rows that counted.
    @discardableResult
    public static func labelSmoothedCrossEntropy(
        logits: UnsafePointer<Float>, rows: Int, vocabulary V: Int,
        labels: UnsafePointer<Int32>, ignoreLabel: Int32?, smoothing: Float,
        gradient: UnsafeMutablePointer<Float>?
    ) -> (loss: Float, count: Int) {
        var counted = 0
        for r in 0..<rows where labels[r] != ignoreLabel { counted += 1 }
        let inverseCount = counted > 0 ? 1 / Float(counted) : 0
        var rowLosses = [Double](repeating: 0, count: rows)
        rowLosses.withUnsafeMutableBufferPointer { losses in
            Parallel.forEach(rows, minimumPerWorker: 16) { r in
                let row = logits + r * V
                let label = labels[r]
                if label == ignoreLabel {
                    gradient.map { ($0 + r * V).update(repeating: 0, count: V) }
                    return
                }
                var maximum = -Float.infinity
                for v in 0..<V { maximum = max(maximum, row[v]) }
                var sumExp: Float = 0, sumLogits: Float = 0
                for v in 0..<V { sumExp += expf(row[v] - maximum); sumLogits += row[v] }
                let logSumExp = maximum + logf(sumExp)
                let nll = logSumExp - row[Int(label)]
                let smoothTerm = logSumExp - sumLogits / Float(V)
                losses[r] = Double((1 - smoothing) * nll + smoothing * smoothTerm)
                if let gradient {
                    let g = gradient + r * V
                    let uniform = smoothing / Float(V)
                    let inverseSum = 1 / sumExp
                    for v in 0..<V { g[v] = (expf(row[v] - maximum) * inverseSum - uniform) * inverseCount }
                    g[Int(label)] -= (1 - smoothing) * inverseCount
                }
            }
        }
        return (Float(rowLosses.reduce(0, +) * Double(inverseCount)), counted)
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
