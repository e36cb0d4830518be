import CKernels

/// A weight matrix W (N, K) in PyTorch's (out, in) layout, quantized for int8 inference as
/// CTranslate2 does it: each output row r becomes int8 codes q = round(W[r] · scale[r]) in
/// [−127, 127] with scale[r] = 127 / max|W[r]| (1 for a row of zeros), so W[r] ≈ q / scale[r].
///
/// It also holds what the product reads (`Kernels.quantizedLinear`): the codes packed in the
/// panels of the AVX2 kernel, the column sums Σ_k q that compensate the activations' zero point, and
/// 1 / scale, each padded to whole panels. Packing happens once, here.
public final class QuantizedWeight: @unchecked Sendable {
    /// N, the output features (rows of W).
    public let outFeatures: Int
    /// K, the input features (columns of W).
    public let inFeatures: Int
    /// (N, K) codes, row-major: what a file stores and the reference product reads.
    public let codes: UnsafeBufferPointer<Int8>
    /// (N) codes per unit of weight: W[r] ≈ codes[r] / scales[r].
    public let scales: UnsafeBufferPointer<Float>
    /// The panel layout of Int8GEMM.h, read by the AVX2 path.
    let packed: UnsafeBufferPointer<Int8>
    /// (N rounded up to a panel) Σ_k codes[r][k]; zero in the padding.
    let columnSums: UnsafeBufferPointer<Int32>
    /// (N rounded up to a panel) 1 / scales[r]; zero in the padding.
    let columnFactors: UnsafeBufferPointer<Float>
    /// The weight whose memory a row view (`rows(_:)`) shares; nil when this one owns its memory.
    private let owner: QuantizedWeight?

    /// Quantizes W (N, K), one scale per row; a row holding an infinity or NaN is an error.
    public convenience init(weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) throws(QuantizationError) {
        let (codes, scales) = try QuantizedWeight.quantize(weight, outFeatures: outFeatures, inFeatures: inFeatures)
        try self.init(codes: codes, scales: scales, outFeatures: outFeatures, inFeatures: inFeatures)
    }

    /// The codes (N, K) and scales (N) of W (N, K): scale = 127 / max|row| (1 for a row of zeros),
    /// code = round(w · scale). A row holding an infinity or NaN is an error naming it.
    public static func quantize(_ weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) throws(QuantizationError) -> (codes: [Int8], scales: [Float]) {
        precondition(outFeatures >= 1 && inFeatures >= 1, "QuantizedWeight: empty matrix \(outFeatures)×\(inFeatures)")
        var codes = [Int8](repeating: 0, count: outFeatures * inFeatures)
        var scales = [Float](repeating: 1, count: outFeatures)
        for r in 0..<outFeatures {
            let row = weight + r * inFeatures
            var largest: Float = 0
            for k in 0..<inFeatures {
                guard row[k].isFinite else { throw QuantizationError("row \(r) holds an infinity or NaN") }
                largest = max(largest, abs(row[k]))
            }
            let scale = largest > 0 ? Float(QuantizedWeight.levels) / largest : 1
            // A tiny row can give an infinite scale; its codes are zeros either way.
            scales[r] = scale.isFinite ? scale : 1
            for k in 0..<inFeatures {
                let code = (row[k] * scales[r]).rounded()
                codes[r * inFeatures + k] = Int8(max(-Float(QuantizedWeight.levels), min(Float(QuantizedWeight.levels), code)))
            }
        }
        return (codes, scales)
    }

    /// Wraps codes (N, K) in [−127, 127] and their scales (N), as read from a file; a code of −128 or a
    /// scale that is not positive and finite is an error naming the row.
    public init(codes: [Int8], scales: [Float], outFeatures: Int, inFeatures: Int) throws(QuantizationError) {
        try QuantizedWeight.check(codes: codes, scales: scales, outFeatures: outFeatures, inFeatures: inFeatures)
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.codes = QuantizedWeight.copy(codes)
        self.scales = QuantizedWeight.copy(scales)
        let paddedColumns = QuantizedWeight.paddedColumns(outFeatures)
        let packed = QuantizedWeight.allocate(Int8.self, count: nmt_int8_packed_size(outFeatures, inFeatures))
        let sums = QuantizedWeight.allocate(Int32.self, count: paddedColumns)
        nmt_int8_pack_weights(self.codes.baseAddress!, outFeatures, inFeatures, packed.baseAddress!, sums.baseAddress!)
        let factors = QuantizedWeight.allocate(Float.self, count: paddedColumns)
        for r in 0..<paddedColumns { factors[r] = r < outFeatures ? 1 / scales[r] : 0 }
        self.packed = UnsafeBufferPointer(packed)
        columnSums = UnsafeBufferPointer(sums)
        columnFactors = UnsafeBufferPointer(factors)
        owner = nil
    }

    /// Whether codes (N, K) and scales (N) make a weight: the counts fit, every scale is positive and
    /// finite, no code is −128. The error names the first row at fault.
    public static func check(codes: [Int8], scales: [Float], outFeatures: Int, inFeatures: Int) throws(QuantizationError) {
        guard codes.count == outFeatures * inFeatures, scales.count == outFeatures, outFeatures >= 1, inFeatures >= 1 else {
            throw QuantizationError("\(codes.count) codes and \(scales.count) scales for a \(outFeatures)×\(inFeatures) matrix")
        }
        if let r = scales.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
            throw QuantizationError("row \(r) has scale \(scales[r]); scales must be positive and finite")
        }
        if let i = codes.firstIndex(of: Int8.min) {
            throw QuantizationError("row \(i / inFeatures) holds the code −128; codes span −127…127")
        }
    }

    /// A view of rows `first ..< first + count` of `whole`, sharing its memory; `first` is a multiple
    /// of a panel, so the view's panels are a run of the whole's (the padding past its last row
    /// holds the next rows' values, which the kernels compute and never store).
    private init(rowsOf whole: QuantizedWeight, first: Int, count: Int) {
        let K: Int = whole.inFeatures, panel = Int(NMT_INT8_PANEL_COLUMNS)
        let panelBytes: Int = panel * nmt_int8_padded_depth(K)
        let padded = QuantizedWeight.paddedColumns(count)
        outFeatures = count
        inFeatures = K
        codes = UnsafeBufferPointer(rebasing: whole.codes[first * K ..< (first + count) * K])
        scales = UnsafeBufferPointer(rebasing: whole.scales[first ..< first + count])
        let packedStart: Int = first / panel * panelBytes
        let packedCount: Int = padded / panel * panelBytes
        packed = UnsafeBufferPointer(start: whole.packed.baseAddress! + packedStart, count: packedCount)
        columnSums = UnsafeBufferPointer(rebasing: whole.columnSums[first ..< first + padded])
        columnFactors = UnsafeBufferPointer(rebasing: whole.columnFactors[first ..< first + padded])
        owner = whole.owner ?? whole
    }

    /// Rows `range` of W as a weight of their own (the q rows of a fused q, k, v projection): a view
    /// sharing this weight's memory when the range starts on a panel boundary, a packed copy otherwise.
    public func rows(_ range: Range<Int>) -> QuantizedWeight {
        precondition(range.lowerBound >= 0 && range.upperBound <= outFeatures && !range.isEmpty,
                     "rows \(range) of a weight of \(outFeatures) rows")
        if range.lowerBound % Int(NMT_INT8_PANEL_COLUMNS) == 0 {
            return QuantizedWeight(rowsOf: self, first: range.lowerBound, count: range.count)
        }
        // Codes and scales that were valid for the whole are valid for a part.
        return try! QuantizedWeight(codes: Array(codes[range.lowerBound * inFeatures ..< range.upperBound * inFeatures]),
                                    scales: Array(scales[range]), outFeatures: range.count, inFeatures: inFeatures)
    }

    /// Stacks weights of one input width along the output rows (q, k and v into one fused
    /// projection), packing the result once.
    public static func stacking(_ parts: [QuantizedWeight]) -> QuantizedWeight {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.inFeatures == parts[0].inFeatures }, "stacking weights of different input widths")
        if parts.count == 1 { return parts[0] }
        return try! QuantizedWeight(codes: parts.flatMap { Array($0.codes) }, scales: parts.flatMap { Array($0.scales) },
                                    outFeatures: parts.map(\.outFeatures).reduce(0, +), inFeatures: parts[0].inFeatures)
    }

    deinit {
        guard owner == nil else { return }
        for pointer in [UnsafeRawPointer(codes.baseAddress!), UnsafeRawPointer(scales.baseAddress!), UnsafeRawPointer(packed.baseAddress!),
                        UnsafeRawPointer(columnSums.baseAddress!), UnsafeRawPointer(columnFactors.baseAddress!)] {
            UnsafeMutableRawPointer(mutating: pointer).deallocate()
        }
    }

    /// The weight codes span [−levels, levels].
    public static let levels = Int(NMT_INT8_WEIGHT_LEVELS)

    /// Row r of W as the codes give it back: codes[r] / scales[r], written to `into` (K).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < outFeatures, "dequantizeRow: row \(r) of \(outFeatures)")
        let factor = 1 / scales[r]
        for k in 0..<inFeatures { out[k] = Float(codes[r * inFeatures + k]) * factor }
    }

    /// W as the codes give it back, (N, K).
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: outFeatures * inFeatures)
        out.withUnsafeMutableBufferPointer { buffer in
            for r in 0..<outFeatures { dequantizeRow(r, into: buffer.baseAddress! + r * inFeatures) }
        }
        return out
    }

    /// Bytes held (or, for a row view, viewed): codes, scales, the packed copy, column sums and factors.
    public var byteCount: Int {
        codes.count + 4 * scales.count + packed.count + 4 * columnSums.count + 4 * columnFactors.count
    }

    static func paddedColumns(_ columns: Int) -> Int {
        let panel = Int(NMT_INT8_PANEL_COLUMNS)
        return (columns + panel - 1) / panel * panel
    }

    /// 64-byte aligned, so a panel's groups never straddle a cache line.
    private static func allocate<T>(_: T.Type, count: Int) -> UnsafeMutableBufferPointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<T>.stride, alignment: 64)
        return UnsafeMutableBufferPointer(start: raw.bindMemory(to: T.self, capacity: count), count: count)
    }

    private static func copy<T>(_ values: [T]) -> UnsafeBufferPointer<T> {
        let buffer = allocate(T.self, count: values.count)
        _ = buffer.initialize(from: values)
        return UnsafeBufferPointer(buffer)
    }
}

/// A weight that cannot be quantized or a quantized weight that is malformed; the message names the
/// row, the caller names the tensor.
public struct QuantizationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
