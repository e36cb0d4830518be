import Tensor

extension Kernels {
    /// y (N, C) = the mean of each plane of x (N, C, H·W): global average pooling.
    public static func globalAveragePoolForward(x: UnsafePointer<Float>, planes: Int, pixels P: Int, y: UnsafeMutablePointer<Float>) {
        let inverse = 1 / Float(P)
        for i in 0..<planes {
            let plane = x + i * P
            var sum: Float = 0
            for p in 0..<P { sum += plane[p] }
            y[i] = sum * inverse
        }
    }

    /// Backward of `globalAveragePoolForward`: every pixel of a plane receives dy / (H·W).
    public static func globalAveragePoolBackward(
        dy: UnsafePointer<Float>, planes: Int, pixels P: Int, dx: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let inverse = 1 / Float(P)
        for i in 0..<planes {
            let g = dy[i] * inverse, plane = dx + i * P
            if accumulate {
                for p in 0..<P { plane[p] += g }
            } else {
                plane.update(repeating: g, count: P)
            }
        }
    }
}

extension ReferenceKernels {
    /// The mean of each plane of x (N·C planes of P pixels), in Double.
    public static func globalAveragePool(x: [Float], planes: Int, pixels P: Int) -> [Float] {
        (0..<planes).map { i in Float(x[(i * P)..<((i + 1) * P)].reduce(0.0) { $0 + Double($1) } / Double(P)) }
    }
}
