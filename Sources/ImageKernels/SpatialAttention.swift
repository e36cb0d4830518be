import Tensor

/// The self-attention layer of SAGAN (Zhang et al. 2019) over a feature map, as the reference's
/// `SelfAttention`: every pixel attends to every pixel of its own image.
///
/// Dimensions: N images, P = H·W positions, Cq query/key channels, C value channels. For one
/// image with q, k (Cq, P) and v (C, P) — the channels of one fused 1×1 convolution, q | k | v —
///     A (P, P) = softmax over keys of qᵀ·k   (no 1/√Cq scale: the reference has none)
///     O (C, P) = v · Aᵀ                       (O[:, i] = Σ_j A[i, j] · v[:, j])
///     y = γ·O + x
public struct SpatialAttentionShape: Sendable, Equatable {
    public let batch: Int
    public let positions: Int
    public let queryChannels: Int
    public let valueChannels: Int

    public init(batch: Int, positions: Int, queryChannels: Int, valueChannels: Int) {
        self.batch = batch
        self.positions = positions
        self.queryChannels = queryChannels
        self.valueChannels = valueChannels
    }

    /// Channels of the fused q | k | v tensor: 2·Cq + C.
    public var projectedChannels: Int { 2 * queryChannels + valueChannels }
}

extension Kernels {
    /// Forward for all images: writes `probabilities` (N, P, P) and `attended` (N, C, P) = O, which
    /// the backward needs (dγ = Σ dy·O), and y (N, C, P) = γ·O + x.
    public static func spatialAttentionForward(
        qkv: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: Float, shape s: SpatialAttentionShape,
        probabilities: UnsafeMutablePointer<Float>, attended: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
    ) {
        let (P, Cq, C) = (s.positions, s.queryChannels, s.valueChannels)
        let workers = max(1, min(Parallel.threads, s.batch))
        Parallel.forEach(workers) { worker in
            for n in (s.batch * worker / workers)..<(s.batch * (worker + 1) / workers) {
                let q = qkv + n * s.projectedChannels * P, k = q + Cq * P, v = k + Cq * P
                let a = probabilities + n * P * P, o = attended + n * C * P
                BLAS.gemm(transposeA: true, transposeB: false, m: P, n: P, k: Cq, a: q, b: k, c: a, splitAcrossThreads: false)
                for i in 0..<P { softmaxInPlace(a + i * P, count: P) }
                BLAS.gemm(transposeA: false, transposeB: true, m: C, n: P, k: P, a: v, b: a, c: o, splitAcrossThreads: false)
                let xn = x + n * C * P, yn = y + n * C * P
                for i in 0..<(C * P) { yn[i] = gamma * o[i] + xn[i] }
            }
        }
    }

    /// Backward, with dO = γ·dy and dS the gradient of the scores:
    ///     dγ += Σ dy·O;  dx (+)= dy;  dv = dO·A;  dA = dOᵀ·v;  dS = A ⊙ (dA − rowsum(dA ⊙ A));
    ///     dq = k·dSᵀ;  dk = q·dS.
    /// `dqkv` (N, 2·Cq + C, P) is overwritten.
    public static func spatialAttentionBackward(
        qkv: UnsafePointer<Float>, gamma: Float, shape s: SpatialAttentionShape,
        probabilities: UnsafePointer<Float>, attended: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dqkv: UnsafeMutablePointer<Float>?, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        dGamma: UnsafeMutablePointer<Float>?
    ) {
        let (P, Cq, C) = (s.positions, s.queryChannels, s.valueChannels)
        if let dx {
            if accumulate {
                for i in 0..<(s.batch * C * P) { dx[i] += dy[i] }
            } else {
                dx.update(from: dy, count: s.batch * C * P)
            }
        }
        if let dGamma {
            var sum: Double = 0
            for i in 0..<(s.batch * C * P) { sum += Double(dy[i] * attended[i]) }
            dGamma[0] += Float(sum)
        }
        guard let dqkv else { return }
        let workers = max(1, min(Parallel.threads, s.batch))
        Parallel.forEach(workers) { worker in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: C * P + P * P)
            defer { scratch.deallocate() }
            let dO = scratch, dS = scratch + C * P
            for n in (s.batch * worker / workers)..<(s.batch * (worker + 1) / workers) {
                let q = qkv + n * s.projectedChannels * P, k = q + Cq * P, v = k + Cq * P
                let dq = dqkv + n * s.projectedChannels * P, dk = dq + Cq * P, dv = dk + Cq * P
                let a = probabilities + n * P * P, dyn = dy + n * C * P
                for i in 0..<(C * P) { dO[i] = gamma * dyn[i] }
                BLAS.gemm(transposeA: false, transposeB: false, m: C, n: P, k: P, a: dO, b: a, c: dv, splitAcrossThreads: false)
                BLAS.gemm(transposeA: true, transposeB: false, m: P, n: P, k: C, a: dO, b: v, c: dS, splitAcrossThreads: false)
                for i in 0..<P {
                    let row = a + i * P, dRow = dS + i * P
                    var dot: Float = 0
                    for j in 0..<P { dot += dRow[j] * row[j] }
                    for j in 0..<P { dRow[j] = row[j] * (dRow[j] - dot) }
                }
                BLAS.gemm(transposeA: false, transposeB: true, m: Cq, n: P, k: P, a: k, b: dS, c: dq, splitAcrossThreads: false)
                BLAS.gemm(transposeA: false, transposeB: false, m: Cq, n: P, k: P, a: q, b: dS, c: dk, splitAcrossThreads: false)
            }
        }
    }

    /// x ← softmax(x) over `count` values.
    @inline(__always)
    static func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for j in 0..<count { maximum = max(maximum, x[j]) }
        var sum: Float = 0
        for j in 0..<count { let e = expf(x[j] - maximum); x[j] = e; sum += e }
        let inverse = 1 / sum
        for j in 0..<count { x[j] *= inverse }
    }
}

extension ReferenceKernels {
    /// The attention layer from its definition, in Double: y (N, C, P) and A (N, P, P).
    public static func spatialAttention(qkv: [Float], x: [Float], gamma: Float, shape s: SpatialAttentionShape) -> (y: [Float], probabilities: [Float]) {
        let (P, Cq, C, CC) = (s.positions, s.queryChannels, s.valueChannels, s.projectedChannels)
        var y = [Float](repeating: 0, count: s.batch * C * P)
        var probabilities = [Float](repeating: 0, count: s.batch * P * P)
        for n in 0..<s.batch {
            func at(_ channel: Int, _ p: Int) -> Double { Double(qkv[(n * CC + channel) * P + p]) }
            for i in 0..<P {
                var scores = [Double](repeating: 0, count: P)
                for j in 0..<P { for c in 0..<Cq { scores[j] += at(c, i) * at(Cq + c, j) } }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let total = e.reduce(0, +)
                let a = e.map { $0 / total }
                for j in 0..<P { probabilities[(n * P + i) * P + j] = Float(a[j]) }
                for c in 0..<C {
                    var o: Double = 0
                    for j in 0..<P { o += a[j] * at(2 * Cq + c, j) }
                    let index = (n * C + c) * P + i
                    y[index] = Float(Double(gamma) * o + Double(x[index]))
                }
            }
        }
        return (y, probabilities)
    }
}
