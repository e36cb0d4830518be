extension Kernels {
    /// e^x for eight lanes at once, to within about 2 ulp over the range softmax uses.
    ///
    /// e^x = 2^n · e^y with n = round(x / ln 2) and y = x − n·ln 2 ∈ [−ln2/2, ln2/2] (the
    /// subtraction in two parts, Cody and Waite, so y keeps its precision); e^y by its Taylor
    /// polynomial to degree 7, whose truncation error is below float's epsilon on that interval;
    /// 2^n built directly in the exponent bits. Inputs below −87 flush towards 0, as expf does.
    /// The rounding uses the 1.5·2^23 trick (adding it leaves n in the low mantissa bits), because
    /// Swift's generic SIMD rounding and Float→Int conversions do not compile to vector code.
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var clamped = x
        clamped.replace(with: -87, where: x .< -87)
        clamped.replace(with: 88, where: x .> 88)
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 · 2^23
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        var y = clamped - n * 0.693_145_75          // ln 2, high part
        y = y - n * 1.428_606_8e-6                  // ln 2, low part
        var p = SIMD8<Float>(repeating: 1.0 / 5040)
        p = p * y + 1.0 / 720
        p = p * y + 1.0 / 120
        p = p * y + 1.0 / 24
        p = p * y + 1.0 / 6
        p = p * y + 0.5
        p = p * y + 1
        p = p * y + 1
        let exponent = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- SIMD8(repeating: 0x4B40_0000 - 127)
        return p * unsafeBitCast(exponent &<< SIMD8(repeating: 23), to: SIMD8<Float>.self)
    }

    /// Σ_i e^(x[i] − shift) over `count` values (the normalizer of a softmax row).
    @inline(__always)
    public static func sumOfExponentials(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
        var accumulator = SIMD8<Float>(repeating: 0)
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 8 <= count {
            let lanes = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            accumulator += exp(lanes - shift)
            i += 8
        }
        var sum = accumulator.sum()
        while i < count {
            sum += expf(x[i] - shift)
            i += 1
        }
        return sum
    }

    /// The largest of `count` values.
    @inline(__always)
    public static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 8 <= count {
            let next = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            lanes.replace(with: next, where: next .> lanes)
            i += 8
        }
        var m = lanes.max()
        while i < count {
            m = max(m, x[i])
            i += 1
        }
        return m
    }

    /// log Σ_i e^x[i], computed stably around the maximum.
    @inline(__always)
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        let m = maximum(x, count: count)
        return m + logf(sumOfExponentials(x, count: count, shift: m))
    }
}
