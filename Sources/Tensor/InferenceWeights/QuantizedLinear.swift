import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Which implementation of the int8 product runs. All give the same bits (Int8GEMM.h); the
/// reference exists to define them and for processors without AVX2.
public enum Int8Path: Sendable, CaseIterable {
    /// Plain C loops over the weight rows.
    case reference
    /// vpmaddubsw / vpmaddwd over the packed weights (x86-64 with AVX2).
    case avx2
    /// vpdpbusd over the same packed weights (x86-64 with AVX-512 VNNI); the activations are
    /// quantized by the AVX2 code.
    case vnni

    /// The fastest path this processor runs, chosen once. NMT_INT8_PATH=avx2 (or reference) in
    /// the environment picks a slower one the processor runs, to measure one against the other
    /// with one binary.
    public static let best: Int8Path = {
        let fastest = [Int8Path.vnni, .avx2].first(where: \.isSupported) ?? .reference
        guard let asked = getenv("NMT_INT8_PATH").map({ String(cString: $0) }) else { return fastest }
        return allCases.first { "\($0)" == asked && $0.isSupported } ?? fastest
    }()

    /// Whether this processor runs the path.
    public var isSupported: Bool {
        switch self {
        case .reference: return true
        case .avx2: return ProcessorFeatures.avx2
        case .vnni: return ProcessorFeatures.avx512VNNI
        }
    }
}

/// Activations quantized per row (Int8GEMM.h): x[r] ≈ (codes[r] − zeroPoints[r]) · factors[r],
/// codes in 0…127, rows `stride` bytes apart (K rounded up to the kernel's groups, zero-padded).
public struct QuantizedRows {
    public var codes: [UInt8]       // (rows, stride)
    public var zeroPoints: [Int32]  // (rows)
    public var factors: [Float]     // (rows)
    public let rows: Int
    public let depth: Int
    public let stride: Int

    /// Quantizes x (rows, depth), each row mapping [min(x, 0), max(x, 0)] onto 0…127.
    public init(x: UnsafePointer<Float>, rows: Int, depth: Int, path: Int8Path = .best) {
        precondition(rows >= 0 && depth >= 1, "QuantizedRows: \(rows) rows of \(depth)")
        precondition(path.isSupported, "QuantizedRows: this processor cannot run \(path)")
        self.rows = rows
        self.depth = depth
        stride = nmt_int8_padded_depth(depth)
        codes = [UInt8](repeating: 0, count: rows * stride)
        zeroPoints = [Int32](repeating: 0, count: rows)
        factors = [Float](repeating: 0, count: rows)
        let stride = self.stride
        codes.withUnsafeMutableBufferPointer { codes in
            zeroPoints.withUnsafeMutableBufferPointer { zeroPoints in
                factors.withUnsafeMutableBufferPointer { factors in
                    QuantizedRows.quantize(x, rows: rows, depth: depth, codes: codes.baseAddress!, stride: stride,
                                           zeroPoints: zeroPoints.baseAddress!, factors: factors.baseAddress!, path: path)
                }
            }
        }
    }

    /// Quantizes x (rows, depth) into `codes` (rows, stride) and the rows' zero points and factors,
    /// in chunks of about 16k values spread over the workers.
    static func quantize(_ x: UnsafePointer<Float>, rows: Int, depth: Int, codes: UnsafeMutablePointer<UInt8>, stride: Int,
                         zeroPoints: UnsafeMutablePointer<Int32>, factors: UnsafeMutablePointer<Float>, path: Int8Path) {
        let rowsPerWorker = max(1, (1 << 14) / depth)
        let chunks = (rows + rowsPerWorker - 1) / rowsPerWorker
        Parallel.forEach(chunks) { chunk in
            let first = chunk * rowsPerWorker, count = min(rowsPerWorker, rows - first)
            quantizeChunk(x + first * depth, rows: count, depth: depth, codes: codes + first * stride,
                          stride: stride, zeroPoints: zeroPoints + first, factors: factors + first, path: path)
        }
    }

    private static func quantizeChunk(_ x: UnsafePointer<Float>, rows: Int, depth: Int, codes: UnsafeMutablePointer<UInt8>, stride: Int,
                                      zeroPoints: UnsafeMutablePointer<Int32>, factors: UnsafeMutablePointer<Float>, path: Int8Path) {
        switch path {
        case .reference:
            nmt_int8_quantize_rows_reference(x, rows, depth, depth, codes, stride, zeroPoints, factors)
        case .avx2, .vnni:
            #if arch(x86_64)
            nmt_int8_quantize_rows_avx2(x, rows, depth, depth, codes, stride, zeroPoints, factors)
            #else
            preconditionFailure("AVX2 on a processor without it")
            #endif
        }
    }
}

/// Scratch memory for the activation codes of int8 products, reused from one product to the next
/// so that a decoding loop allocates nothing for them: it grows to the largest product it meets and
/// stays there. One workspace serves one product at a time (an inference `Tape` owns one).
public final class QuantizationWorkspace: @unchecked Sendable {
    private(set) var codes = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    private(set) var zeroPoints = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var factors = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var codeCapacity = 1, rowCapacity = 1

    public init() {}

    deinit {
        codes.deallocate()
        zeroPoints.deallocate()
        factors.deallocate()
    }

    /// Room for `rows` rows of `stride` codes.
    func reserve(rows: Int, stride: Int) {
        if rows * stride > codeCapacity {
            codes.deallocate()
            codeCapacity = rows * stride
            codes = .allocate(capacity: codeCapacity)
        }
        if rows > rowCapacity {
            zeroPoints.deallocate()
            factors.deallocate()
            rowCapacity = rows
            zeroPoints = .allocate(capacity: rows)
            factors = .allocate(capacity: rows)
        }
    }
}

extension Kernels {
    /// y (rows, N) = x (rows, K) · Wᵀ + b through int8 (Int8GEMM.h): x quantized per row, the
    /// integer product Σ_k (u − z)·q exact in int32, then y = that · (1 / s_x) · (1 / s_W[n]) + b[n],
    /// max(y, 0) when `relu`, then + residual (rows, N) when given. Large products are split over
    /// `Parallel.threads` workers by columns (whole panels), so each worker reads its own share of
    /// the weights. The codes go to `workspace` (a temporary one when nil).
    public static func quantizedLinearForward(
        x: UnsafePointer<Float>, rows: Int, weight: QuantizedWeight, bias: UnsafePointer<Float>?, relu: Bool = false,
        residual: UnsafePointer<Float>? = nil, y: UnsafeMutablePointer<Float>, path: Int8Path = .best,
        workspace: QuantizationWorkspace? = nil
    ) {
        guard rows > 0 else { return }
        precondition(path.isSupported, "quantized product: this processor cannot run \(path)")
        let workspace = workspace ?? QuantizationWorkspace()
        let K = weight.inFeatures, stride = nmt_int8_padded_depth(K)
        workspace.reserve(rows: rows, stride: stride)
        QuantizedRows.quantize(x, rows: rows, depth: K, codes: workspace.codes, stride: stride, zeroPoints: workspace.zeroPoints,
                               factors: workspace.factors, path: path)
        quantizedProduct(codes: workspace.codes, stride: stride, zeroPoints: workspace.zeroPoints, factors: workspace.factors,
                         rows: rows, weight: weight, bias: bias, relu: relu, residual: residual, output: y, exactOutput: nil, path: path)
    }

    /// The exact integers Σ_k (u − z)·q (rows, N) of the product of quantized rows with W, as the
    /// product computes them before dequantizing.
    public static func quantizedProductIntegers(_ activations: QuantizedRows, weight: QuantizedWeight, path: Int8Path = .best) -> [Int32] {
        var out = [Int32](repeating: 0, count: activations.rows * weight.outFeatures)
        out.withUnsafeMutableBufferPointer { out in
            quantizedProduct(activations, weight: weight, bias: nil, relu: false, output: nil, exactOutput: out.baseAddress!, path: path)
        }
        return out
    }

    /// y (rows, N) from already quantized rows: `quantizedLinearForward` after its quantization.
    public static func quantizedProduct(_ activations: QuantizedRows, weight: QuantizedWeight, bias: UnsafePointer<Float>?,
                                        relu: Bool = false, y: UnsafeMutablePointer<Float>, path: Int8Path = .best) {
        quantizedProduct(activations, weight: weight, bias: bias, relu: relu, output: y, exactOutput: nil, path: path)
    }

    private static func quantizedProduct(
        _ activations: QuantizedRows, weight: QuantizedWeight, bias: UnsafePointer<Float>?, relu: Bool,
        output: UnsafeMutablePointer<Float>?, exactOutput: UnsafeMutablePointer<Int32>?, path: Int8Path
    ) {
        precondition(activations.depth == weight.inFeatures, "quantized product: rows of \(activations.depth), weight of \(weight.inFeatures) inputs")
        activations.codes.withUnsafeBufferPointer { codes in
            activations.zeroPoints.withUnsafeBufferPointer { zeroPoints in
                activations.factors.withUnsafeBufferPointer { factors in
                    quantizedProduct(codes: codes.baseAddress!, stride: activations.stride, zeroPoints: zeroPoints.baseAddress!,
                                     factors: factors.baseAddress!, rows: activations.rows, weight: weight, bias: bias, relu: relu,
                                     residual: nil, output: output, exactOutput: exactOutput, path: path)
                }
            }
        }
    }

    private static func quantizedProduct(
        codes: UnsafePointer<UInt8>, stride: Int, zeroPoints: UnsafePointer<Int32>, factors: UnsafePointer<Float>, rows: Int,
        weight: QuantizedWeight, bias: UnsafePointer<Float>?, relu: Bool, residual: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>?, exactOutput: UnsafeMutablePointer<Int32>?, path: Int8Path
    ) {
        precondition(path.isSupported, "quantized product: this processor cannot run \(path)")
        let N = weight.outFeatures, K = weight.inFeatures
        guard rows > 0 else { return }
        var product = nmt_int8_product(
            codes: codes, codeStride: stride, zeroPoints: zeroPoints, rowFactors: factors, depth: K, columns: N,
            weightRows: weight.codes.baseAddress, packedWeights: weight.packed.baseAddress, columnSums: weight.columnSums.baseAddress,
            columnFactors: weight.columnFactors.baseAddress, bias: bias, relu: relu ? 1 : 0, residual: residual, residualStride: N,
            output: output, outputStride: N, exactOutput: exactOutput)
        withUnsafePointer(to: &product) { product in
            // Workers take whole blocks of panels (the AVX2 kernel's widest: 2; the VNNI kernel's 4) of columns.
            let unit = (path == .vnni ? 4 : 2) * Int(NMT_INT8_PANEL_COLUMNS), units = (N + unit - 1) / unit
            let workers = rows * N * K >= 2 * BLAS.parallelThreshold ? min(Parallel.threads, units) : 1
            Parallel.forEach(workers) { worker in
                let first = units * worker / workers * unit, end = min(N, units * (worker + 1) / workers * unit)
                guard end > first else { return }
                runProduct(product, rows: rows, firstColumn: first, columnCount: end - first, path: path)
            }
        }
    }

    @inline(__always)
    private static func runProduct(_ product: UnsafePointer<nmt_int8_product>, rows: Int, firstColumn: Int, columnCount: Int, path: Int8Path) {
        switch path {
        case .reference:
            nmt_int8_gemm_reference(product, 0, rows, firstColumn, columnCount)
        case .avx2:
            #if arch(x86_64)
            nmt_int8_gemm_avx2(product, 0, rows, firstColumn, columnCount)
            #else
            preconditionFailure("AVX2 on a processor without it")
            #endif
        case .vnni:
            #if arch(x86_64)
            nmt_int8_gemm_vnni(product, 0, rows, firstColumn, columnCount)
            #else
            preconditionFailure("AVX-512 VNNI on a processor without it")
            #endif
        }
    }

    /// y (…, N) = act(x (…, K) · Wᵀ + b) (+ residual) through int8 (`quantizedLinearForward`), as a new tensor.
    public static func quantizedLinear(_ x: Tensor, weight: QuantizedWeight, bias: Tensor?, relu: Bool = false,
                                       residual: Tensor? = nil, path: Int8Path = .best, workspace: QuantizationWorkspace? = nil) -> Tensor {
        let K = weight.inFeatures, N = weight.outFeatures
        precondition(x.shape.last == K, "quantizedLinear: input \(x.shape), weight of \(K) inputs")
        precondition(bias.map { $0.count == N } ?? true, "quantizedLinear: bias of \(bias?.count ?? 0) for \(N) outputs")
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [N])
        precondition(residual.map { $0.count == y.count } ?? true, "quantizedLinear: residual \(residual?.shape ?? []) for output \(y.shape)")
        quantizedLinearForward(x: x.data, rows: x.count / K, weight: weight, bias: bias.map { UnsafePointer($0.data) },
                               relu: relu, residual: residual.map { UnsafePointer($0.data) }, y: y.data, path: path, workspace: workspace)
        return y
    }
}

extension ReferenceKernels {
    /// y = x · Wᵀ + b with x and W replaced by what their int8 codes give back — the value the int8
    /// product approximates up to float rounding — by three loops.
    public static func dequantizedLinear(_ activations: QuantizedRows, weight: QuantizedWeight, bias: [Float]?) -> [Float] {
        let (rows, K, N) = (activations.rows, weight.inFeatures, weight.outFeatures)
        let w = weight.dequantized()
        var y = [Float](repeating: 0, count: rows * N)
        for r in 0..<rows {
            for n in 0..<N {
                var sum = Double(bias?[n] ?? 0)
                for k in 0..<K {
                    let x = Double(Int32(activations.codes[r * activations.stride + k]) - activations.zeroPoints[r]) * Double(activations.factors[r])
                    sum += x * Double(w[n * K + k])
                }
                y[r * N + n] = Float(sum)
            }
        }
        return y
    }
}
