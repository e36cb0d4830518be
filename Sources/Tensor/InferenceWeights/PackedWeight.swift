import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Which implementation multiplies a float32 weight in inference. Training always uses BLAS (its
/// backward needs the row-major weight the optimizer updates); inference uses the packed product
/// where the processor runs it.
public enum FloatPath: Sendable, CaseIterable {
    /// sgemm, which repacks the weight on every call.
    case blas
    /// FloatGEMM.h's AVX2/FMA product over weights packed once (x86-64 with AVX2 and FMA).
    case packedAVX2

    /// The fastest path this processor runs, chosen once. NMT_PACKED_WEIGHTS=0 in the environment
    /// chooses BLAS (to measure one against the other with one binary).
    public static let best: FloatPath = {
        let wanted = getenv("NMT_PACKED_WEIGHTS").map { String(cString: $0) != "0" } ?? true
        return wanted && FloatPath.packedAVX2.isSupported ? .packedAVX2 : .blas
    }()

    /// Whether this processor runs the path.
    public var isSupported: Bool {
        switch self {
        case .blas: return true
        case .packedAVX2: return ProcessorFeatures.avx2FMA
        }
    }
}

/// A float32 weight W (N, K) for inference, kept twice: as the row-major tensor it was built from (a
/// view into the model's parameters, which embedding lookups and inspection read) and packed in the
/// panels FloatGEMM.h's product reads, so that no product repacks it. Packing happens once, here;
/// it costs one more copy of the weights' memory.
public final class PackedWeight: @unchecked Sendable {
    /// W itself, (N, K).
    public let tensor: Tensor
    /// W in FloatGEMM.h's panel layout, 64-byte aligned.
    let packed: UnsafeMutableBufferPointer<Float>

    /// Packs W (N, K); its values must not change afterwards (the packed copy would not follow).
    public init(_ weight: Tensor) {
        precondition(weight.shape.count == 2 && weight.count > 0, "PackedWeight: a weight is a non-empty (N, K) matrix, got \(weight.shape)")
        tensor = weight
        let count = nmt_f32_packed_size(weight.size(0), weight.size(1))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        packed = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: count), count: count)
        nmt_f32_pack_weights(weight.data, weight.size(0), weight.size(1), packed.baseAddress!)
    }

    deinit { packed.baseAddress!.deallocate() }

    /// N.
    public var outFeatures: Int { tensor.size(0) }
    /// K.
    public var inFeatures: Int { tensor.size(1) }
}

extension Kernels {
    /// y (rows, N) = x (rows, K) · Wᵀ + b, max(y, 0) when `relu`, then + residual (rows, N) when
    /// given, through FloatGEMM.h's product over the packed weight. Large products are split over
    /// `Parallel.threads` workers by columns (whole panels), so each worker reads its own share of
    /// the weights.
    public static func packedLinearForward(
        x: UnsafePointer<Float>, rows: Int, weight: PackedWeight, bias: UnsafePointer<Float>?, relu: Bool = false,
        residual: UnsafePointer<Float>? = nil, y: UnsafeMutablePointer<Float>
    ) {
        guard rows > 0 else { return }
        precondition(FloatPath.packedAVX2.isSupported, "packed product: this processor lacks AVX2 and FMA")
        let N = weight.outFeatures, K = weight.inFeatures
        var product = nmt_f32_product(
            input: x, inputStride: K, depth: K, columns: N, packed: weight.packed.baseAddress, bias: bias, relu: relu ? 1 : 0,
            residual: residual, residualStride: N, output: y, outputStride: N)
        withUnsafePointer(to: &product) { product in
            let unit = Int(NMT_F32_PANEL_COLUMNS), units = (N + unit - 1) / unit
            let workers = rows * N * K >= BLAS.parallelThreshold ? min(Parallel.threads, units) : 1
            Parallel.forEach(workers) { worker in
                let first = units * worker / workers * unit, end = min(N, units * (worker + 1) / workers * unit)
                guard end > first else { return }
                #if arch(x86_64)
                nmt_f32_gemm_avx2(product, 0, rows, first, end - first)
                #endif
            }
        }
    }

    /// y (…, N) = act(x (…, K) · Wᵀ + b) (+ residual) through the packed product, as a new tensor.
    public static func packedLinear(_ x: Tensor, weight: PackedWeight, bias: Tensor?, relu: Bool = false, residual: Tensor? = nil) -> Tensor {
        let K = weight.inFeatures, N = weight.outFeatures
        precondition(x.shape.last == K, "packedLinear: input \(x.shape), weight of \(K) inputs")
        precondition(bias.map { $0.count == N } ?? true, "packedLinear: bias of \(bias?.count ?? 0) for \(N) outputs")
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [N])
        precondition(residual.map { $0.count == y.count } ?? true, "packedLinear: residual \(residual?.shape ?? []) for output \(y.shape)")
        packedLinearForward(x: x.data, rows: x.count / K, weight: weight, bias: bias.map { UnsafePointer($0.data) },
                            relu: relu, residual: residual.map { UnsafePointer($0.data) }, y: y.data)
        return y
    }
}
