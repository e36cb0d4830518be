/// Conversions between `Float` and the two 16-bit float formats found in safetensors files:
/// IEEE 754 binary16 ("F16") and bfloat16 ("BF16"). Written on bit patterns rather than on
/// `Float16`, which is unavailable on Intel Macs.
public enum HalfPrecision {
    /// The binary16 bit pattern nearest to `x`, rounding ties to even. Magnitudes from 65520 up
    /// (the midpoint between 65504, the largest half, and 65536) become infinity; magnitudes
    /// below 2^-14 become subnormals, and those up to 2^-25 become zero (keeping the sign).
    /// A NaN stays a quiet NaN with the top of its payload kept.
    @inlinable
    public static func float16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {  // infinity or NaN
            if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x03FF)
        }
        if magnitude >= 0x477F_F000 { return sign | 0x7C00 }  // ≥ 65520 rounds to infinity
        let exponent = magnitude >> 23
        if exponent >= 113 {  // ≥ 2^-14: a normal half
            var half = ((exponent - 112) << 10) | ((magnitude >> 13) & 0x03FF)
            let rest = magnitude & 0x1FFF
            if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half += 1 }  // may carry into the exponent
            return sign | UInt16(truncatingIfNeeded: half)
        }
        if magnitude <= 0x3300_0000 { return sign }  // ≤ 2^-25: zero (2^-25 itself is a tie, to even)
        // A subnormal half: value = m · 2^-24, found by shifting the full float significand.
        let significand = (magnitude & 0x007F_FFFF) | 0x0080_0000
        let shift = 126 - exponent  // 14 ... 24
        var half = significand >> shift
        let rest = significand & ((1 << shift) - 1)
        let midpoint: UInt32 = 1 << (shift - 1)
        if rest > midpoint || (rest == midpoint && half & 1 == 1) { half += 1 }  // 1024 is the smallest normal
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// The `Float` with the value of the binary16 bit pattern `b` (every half is exactly a float).
    @inlinable
    public static func float(fromFloat16Bits b: UInt16) -> Float {
        let sign = UInt32(b & 0x8000) << 16
        let exponent = UInt32(b >> 10) & 0x1F
        let mantissa = UInt32(b & 0x03FF)
        if exponent == 0x1F {  // infinity or NaN, payload kept
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {  // zero or subnormal: mantissa · 2^-24
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The `Float` with the value of the bfloat16 bit pattern `b` (the top half of a float).
    @inlinable
    public static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }
}
