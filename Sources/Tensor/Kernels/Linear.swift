extension Kernels {
    /// y (N, out) = x (N, in) · Wᵀ + b, with W (out, in) in PyTorch's layout. The bias is written
    /// first so the GEMM accumulates onto it (beta 1) instead of a second pass over y.
    public static func linearForward(
        x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        y: UnsafeMutablePointer<Float>
    ) {
        if let bias {
            for r in 0..<rows { (y + r * outFeatures).update(from: bias, count: outFeatures) }
        }
        BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x, b: weight, beta: bias == nil ? 0 : 1, c: y)
    }

    /// Backward of `linearForward`: dx (+)= dy · W, dW += dyᵀ · x, db += Σ_rows dy.
    /// `dx` accumulates when `accumulate` is true (the input fans out to several consumers).
    public static func linearBackward(
        x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, outFeatures: Int,
        dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?
    ) {
        if let dx {
            BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures,
                      a: dy, b: weight, beta: accumulate ? 1 : 0, c: dx)
        }
        if let dWeight {
            BLAS.gemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows,
                      a: dy, b: x, beta: 1, c: dWeight)
        }
        if let dBias { sumRows(dy, rows: rows, columns: outFeatures, into: dBias) }
    }

    /// into (C) += Σ_r m (R, C)[r].
    public static func sumRows(_ m: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = m + r * columns
            for c in 0..<columns { out[c] += row[c] }
        }
    }
}

extension ReferenceKernels {
    /// y = x · Wᵀ + b by three nested loops.
    public static func linear(x: [Float], rows: Int, inFeatures: Int, weight: [Float], bias: [Float]?, outFeatures: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var s: Float = bias?[o] ?? 0
                for i in 0..<inFeatures { s += x[r * inFeatures + i] * weight[o * inFeatures + i] }
                y[r * outFeatures + o] = s
            }
        }
        return y
    }
}
