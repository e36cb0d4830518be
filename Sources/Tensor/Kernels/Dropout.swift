extension Kernels {
    /// Inverted dropout (Srivastava et al. 2014): keep each value with probability 1 − p and scale
    /// it by 1/(1 − p), so inference needs no rescaling. `mask` receives the factor applied to
    /// each element (0 or 1/(1 − p)), which is all the backward needs.
    public static func dropoutForward(
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>,
        count: Int, probability p: Float, generator: inout SeededGenerator
    ) {
        let keep = 1 / (1 - p)
        for i in 0..<count {
            let factor: Float = generator.nextUnitFloat() < p ? 0 : keep
            mask[i] = factor
            y[i] = x[i] * factor
        }
    }

    /// A keep mask of `count` bytes (1 = keep, 0 = drop, each dropped with probability p), one
    /// draw per element in order.
    public static func dropoutMask(count: Int, probability p: Float, generator: inout SeededGenerator) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = generator.nextUnitFloat() < p ? 0 : 1 }
            initialized = count
        }
    }
}
