extension Kernels {
    /// A keep mask for inverted dropout (Srivastava et al. 2014): `count` bytes, 1 = keep, 0 = drop,
    /// each dropped with probability p. Each 64-bit draw of `generator` decides four elements by
    /// its four 16-bit quarters (drop when the quarter is below round(p · 2¹⁶)), so p is applied
    /// to within 2⁻¹⁷ and the mask costs a quarter of the draws of one float per element.
    public static func dropoutMask(count: Int, probability p: Float, generator: inout SeededGenerator) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            forEachDropoutDecision(count: count, probability: p, generator: &generator) { i, keep in buffer[i] = keep ? 1 : 0 }
            initialized = count
        }
    }

    /// y = dropout(relu(y)) in place, the draws exactly as `dropoutMask` makes them; y > 0
    /// afterwards exactly where the input was positive and kept (what the backward needs).
    public static func reluDropoutInPlace(_ y: UnsafeMutablePointer<Float>, count: Int, probability p: Float,
                                          generator: inout SeededGenerator) {
        let scale = 1 / (1 - p)
        let threshold = dropoutThreshold(p)
        // The draws in order on one thread (cheap), the decisions over all threads.
        let words = (count + 3) / 4
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: words) { bits in
            for w in 0..<words { bits[w] = generator.next() }
            Parallel.forEach(words, minimumPerWorker: 1 << 14) { w in
                for quarter in 0..<min(4, count - 4 * w) {
                    let i = 4 * w + quarter
                    let keep = (bits[w] >> (16 * UInt64(quarter))) & 0xFFFF >= threshold
                    y[i] = keep ? max(y[i], 0) * scale : 0
                }
            }
        }
    }

    /// A 16-bit draw below this drops: round(p · 2¹⁶).
    @inline(__always)
    static func dropoutThreshold(_ p: Float) -> UInt64 { UInt64((Double(p) * 65536).rounded()) }

    /// Backward of `reluDropoutInPlace` from its output, in place: dy = y > 0 ? dy · scale : 0.
    public static func reluDropoutBackward(y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        let blocks = count / 8
        Parallel.forEach(blocks, minimumPerWorker: 1 << 13) { b in
            let i = 8 * b
            let values = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            var g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self) * scale
            g.replace(with: 0, where: values .<= 0)
            UnsafeMutableRawPointer(dy + i).storeBytes(of: g, as: SIMD8<Float>.self)
        }
        for i in (8 * blocks)..<count { dy[i] = y[i] > 0 ? dy[i] * scale : 0 }
    }

    /// Calls `body(i, keep)` for i in 0 ..< count, four decisions per 64-bit draw.
    @inline(__always)
    static func forEachDropoutDecision(count: Int, probability p: Float, generator: inout SeededGenerator,
                                       _ body: (Int, Bool) -> Void) {
        let threshold = dropoutThreshold(p)
        var i = 0
        while i < count {
            let bits = generator.next()
            for quarter in 0..<min(4, count - i) {
                body(i + quarter, (bits >> (16 * UInt64(quarter))) & 0xFFFF >= threshold)
            }
            i += 4
        }
    }

    /// y = x · mask · scale (scale = 1 / (1 − p), so inference needs no rescaling); in place when
    /// y is x. Also the backward: dx = dy · mask · scale.
    public static func applyDropout(
        _ x: UnsafePointer<Float>, mask: UnsafePointer<UInt8>, scale: Float, count: Int,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        if accumulate {
            Parallel.forEach(count, minimumPerWorker: 1 << 15) { i in y[i] += mask[i] != 0 ? x[i] * scale : 0 }
        } else {
            Parallel.forEach(count, minimumPerWorker: 1 << 15) { i in y[i] = mask[i] != 0 ? x[i] * scale : 0 }
        }
    }
}

extension Kernels {
    /// y += x, elementwise over `count` values, over all threads.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEach(count, minimumPerWorker: 1 << 15) { i in y[i] += x[i] }
    }
}
