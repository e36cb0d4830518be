extension Kernels {
    /// y (N, D) = (x − mean) · rstd · weight + bias, per row; eps inside the square root, biased
    /// variance (formats.md). Writes `mean` (N) and `rstd` (N), which the backward needs.
    public static func layerNormForward(
        x: UnsafePointer<Float>, rows: Int, width: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, epsilon: Float,
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?
    ) {
        Parallel.forEach(rows, minimumPerWorker: 64) { r in
            let row = x + r * width
            let m = laneSum(width) { row[$0] } / Float(width)
            let squares = laneSum(width) { let d = row[$0] - m; return d * d }
            let s = 1 / (squares / Float(width) + epsilon).squareRoot()
            let out = y + r * width
            for i in 0..<width { out[i] = (row[i] - m) * s * weight[i] + bias[i] }
            mean?[r] = m
            rstd?[r] = s
        }
    }

    /// Σ term(i) for i in 0..<count, in eight running sums (i mod 8) added at the end: one sum
    /// after another waits on each addition's latency, which made the layer norm 5 % of an int8
    /// translation; eight independent sums vectorize.
    @inline(__always)
    static func laneSum(_ count: Int, _ term: (Int) -> Float) -> Float {
        var lanes = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            lanes += SIMD8<Float>(term(i), term(i + 1), term(i + 2), term(i + 3), term(i + 4), term(i + 5), term(i + 6), term(i + 7))
            i += 8
        }
        var sum = lanes.sum()
        while i < count {
            sum += term(i)
            i += 1
        }
        return sum
    }

    /// Backward of `layerNormForward`:
    /// dx (+)= rstd · (dŷ − mean(dŷ) − x̂ · mean(dŷ · x̂)) with dŷ = dy · weight and x̂ = (x − mean) · rstd;
    /// dWeight += Σ_rows dy · x̂; dBias += Σ_rows dy.
    public static func layerNormBackward(
        x: UnsafePointer<Float>, rows: Int, width: Int,
        weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?
    ) {
        for r in 0..<rows {
            let xr = x + r * width, dyr = dy + r * width
            let m = mean[r], s = rstd[r]
            var meanD: Float = 0, meanDX: Float = 0
            for i in 0..<width {
                let dNorm = dyr[i] * weight[i]
                meanD += dNorm
                meanDX += dNorm * (xr[i] - m) * s
            }
            meanD /= Float(width)
            meanDX /= Float(width)
            for i in 0..<width {
                let xHat = (xr[i] - m) * s
                let g = s * (dyr[i] * weight[i] - meanD - xHat * meanDX)
                if let dx { dx[r * width + i] = accumulate ? dx[r * width + i] + g : g }
                dWeight?[i] += dyr[i] * xHat
                dBias?[i] += dyr[i]
            }
        }
    }
}

extension Kernels {
    /// `layerNormBackward` from the output instead of the input (as apex's memory-efficient layer
    /// norm): x̂ = (y − bias) / weight, so a layer norm computed in place needs nothing but y and
    /// rstd. Exact while no weight is 0 (a zero weight would make its column's x̂ unrecoverable;
    /// layer-norm weights start at 1 and stay far from 0 in practice).
    public static func layerNormBackwardFromOutput(
        y: UnsafePointer<Float>, rows: Int, width: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?
    ) {
        // Rows split over the workers; each sums its own dWeight and dBias, added up at the end.
        let workers = max(1, min(Parallel.threads, rows / 64))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: width * (1 + 2 * workers)) { scratch in
            let inverseWeight = scratch.baseAddress!
            let partials = inverseWeight + width  // (workers, 2, width)
            for i in 0..<width { inverseWeight[i] = 1 / weight[i] }
            partials.initialize(repeating: 0, count: 2 * width * workers)
            Parallel.forEach(workers) { worker in
                let dWeightPart = partials + 2 * width * worker, dBiasPart = dWeightPart + width
                for r in (rows * worker / workers)..<(rows * (worker + 1) / workers) {
                    let yr = y + r * width, dyr = dy + r * width
                    let s = rstd[r]
                    var meanD: Float = 0, meanDX: Float = 0
                    for i in 0..<width {
                        let dNorm = dyr[i] * weight[i]
                        meanD += dNorm
                        meanDX += dNorm * (yr[i] - bias[i]) * inverseWeight[i]
                    }
                    meanD /= Float(width)
                    meanDX /= Float(width)
                    for i in 0..<width {
                        let xHat = (yr[i] - bias[i]) * inverseWeight[i]
                        let g = s * (dyr[i] * weight[i] - meanD - xHat * meanDX)
                        if let dx { dx[r * width + i] = accumulate ? dx[r * width + i] + g : g }
                        dWeightPart[i] += dyr[i] * xHat
                        dBiasPart[i] += dyr[i]
                    }
                }
            }
            for worker in 0..<workers {
                let dWeightPart = partials + 2 * width * worker, dBiasPart = dWeightPart + width
                for i in 0..<width {
                    dWeight?[i] += dWeightPart[i]
                    dBias?[i] += dBiasPart[i]
                }
            }
        }
    }
}

extension ReferenceKernels {
    /// Layer norm of each row, in Double for a trustworthy reference.
    public static func layerNorm(x: [Float], rows: Int, width: Int, weight: [Float], bias: [Float], epsilon: Float) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for r in 0..<rows {
            let row = (0..<width).map { Double(x[r * width + $0]) }
            let m = row.reduce(0, +) / Double(width)
            let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(width)
            for i in 0..<width {
                y[r * width + i] = Float((row[i] - m) / (v + Double(epsilon)).squareRoot()) * weight[i] + bias[i]
            }
        }
        return y
    }
}
