extension Kernels {
    /// The sinusoidal position table (Vaswani et al. 2017, §3.5) in the layout transformers uses
    /// for Marian: sines in the first half of the width, cosines in the second, not interleaved.
    /// P[p, j] = sin(p / 10000^(2j/D)), P[p, D/2 + j] = cos(same), j in 0 ..< D/2.
    public static func sinusoidalPositions(count: Int, width: Int) -> [Float] {
        var table = [Float](repeating: 0, count: count * width)
        let half = width / 2
        for p in 0..<count {
            for j in 0..<half {
                let angle = Double(p) / pow(10000, Double(2 * j) / Double(width))
                table[p * width + j] = Float(sin(angle))
                table[p * width + half + j] = Float(cos(angle))
            }
        }
        return table
    }

    /// out (N, D) = E[ids] · scale + P[positions]: the input of both stacks (§3.4, §3.5).
    public static func embeddingForward(
        ids: UnsafePointer<Int32>, positions: UnsafePointer<Int32>, rows: Int, width: Int,
        table: UnsafePointer<Float>, scale: Float, positionTable: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let e = table + Int(ids[r]) * width
            let p = positionTable + Int(positions[r]) * width
            let o = out + r * width
            for i in 0..<width { o[i] = e[i] * scale + p[i] }
        }
    }

    /// Backward of the lookup: dE[ids[r]] += dOut[r] · scale. Rows whose id is `skipId` (the pad
    /// token) get nothing, as with PyTorch's `padding_idx`.
    public static func embeddingBackward(
        ids: UnsafePointer<Int32>, rows: Int, width: Int, scale: Float,
        dOut: UnsafePointer<Float>, dTable: UnsafeMutablePointer<Float>, skipId: Int32?
    ) {
        for r in 0..<rows where ids[r] != skipId {
            let d = dTable + Int(ids[r]) * width
            let g = dOut + r * width
            for i in 0..<width { d[i] += g[i] * scale }
        }
    }
}
