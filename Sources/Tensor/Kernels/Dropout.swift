extension Kernels {
    /// A keep mask for inverted dropout (Srivastava et al. 2014): `count` bytes, 1 = keep, 0 = drop,
    /// each dropped with probability p. Each 64-bit draw of `generator` decides four elements by
    /// its four 16-bit quarters (drop when the quarter is below round(p · 2¹⁶)), so p is applied
    /// to within 2⁻¹⁷ and the mask costs a quarter of the draws of one float per element.
    public static func dropoutMask(count: Int, probability p: Float, generator: inout SeededGenerator) -> [UInt8] {
        let threshold = UInt64((Double(p) * 65536).rounded())
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var i = 0
            while i < count {
                let bits = generator.next()
                for quarter in 0..<min(4, count - i) {
                    buffer[i + quarter] = (bits >> (16 * UInt64(quarter))) & 0xFFFF < threshold ? 0 : 1
                }
                i += 4
            }
            initialized = count
        }
    }

    /// y = x · mask · scale (scale = 1 / (1 − p), so inference needs no rescaling); in place when
    /// y is x. Also the backward: dx = dy · mask · scale.
    public static func applyDropout(
        _ x: UnsafePointer<Float>, mask: UnsafePointer<UInt8>, scale: Float, count: Int,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        if accumulate {
            for i in 0..<count { y[i] += mask[i] != 0 ? x[i] * scale : 0 }
        } else {
            for i in 0..<count { y[i] = mask[i] != 0 ? x[i] * scale : 0 }
        }
    }
}
