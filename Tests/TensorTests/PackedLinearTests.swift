import CKernels
import Tensor
import XCTest

/// The packed float32 product of inference (FloatGEMM.h) against the three-loop reference
/// (`ReferenceKernels.linear`) within float32 rounding, on shapes that are multiples of neither the
/// SIMD width, the kernel's 6 rows nor its 16-column panels; the fused bias, ReLU and residual; the
/// split over workers; and the `LinearWeight` forms of the tape's ops.
final class PackedLinearTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }
    override func tearDown() { Parallel.configure(threads: 1) }

    /// (rows, K, N): the last two large enough to be split over the workers, one with K = 1030 (a
    /// panel past L1, rows chunked).
    let shapes = [(1, 1, 1), (3, 5, 7), (7, 33, 17), (13, 100, 37), (6, 1030, 23), (70, 257, 300), (257, 64, 40)]

    override func setUpWithError() throws {
        guard FloatPath.packedAVX2.isSupported else { throw XCTSkip("this processor has no AVX2 and FMA: inference uses BLAS") }
    }

    func product(_ x: [Float], rows: Int, _ w: PackedWeight, bias: [Float]?, relu: Bool = false, residual: [Float]? = nil) -> [Float] {
        var y = [Float](repeating: .nan, count: rows * w.outFeatures)
        let b = bias ?? [], r = residual ?? []
        x.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { b in
                r.withUnsafeBufferPointer { r in
                    y.withUnsafeMutableBufferPointer { y in
                        Kernels.packedLinearForward(x: x.baseAddress!, rows: rows, weight: w, bias: bias == nil ? nil : b.baseAddress,
                                                    relu: relu, residual: residual == nil ? nil : r.baseAddress, y: y.baseAddress!)
                    }
                }
            }
        }
        return y
    }

    /// Each output within float32 rounding of the reference: |Δ| ≤ 1e-6 · (Σ_k |x·w| + |b|) · K^½,
    /// the bound of two summation orders of K terms.
    func testAgainstTheReferenceWithinRounding() throws {
        for (index, (rows, K, N)) in shapes.enumerated() {
            let x = GradientCheck.randomArray(rows * K, seed: UInt64(index), scale: 2)
            let wValues = GradientCheck.randomArray(N * K, seed: UInt64(100 + index), scale: 0.3)
            let bias = GradientCheck.randomArray(N, seed: UInt64(200 + index))
            let w = PackedWeight(Tensor(wValues, shape: [N, K]))
            for withBias in [false, true] {
                let expected = ReferenceKernels.linear(x: x, rows: rows, inFeatures: K, weight: wValues, bias: withBias ? bias : nil, outFeatures: N)
                let y = product(x, rows: rows, w, bias: withBias ? bias : nil)
                var worst: Float = 0
                for r in 0..<rows {
                    for n in 0..<N {
                        var magnitude: Float = withBias ? abs(bias[n]) : 0
                        for k in 0..<K { magnitude += abs(x[r * K + k] * wValues[n * K + k]) }
                        let bound = 1e-6 * magnitude * Float(K).squareRoot() + 1e-30
                        let difference = abs(y[r * N + n] - expected[r * N + n])
                        worst = max(worst, difference / bound)
                        XCTAssertLessThanOrEqual(difference, bound, "\(rows)×\(K)×\(N) bias \(withBias) at (\(r), \(n))")
                    }
                }
                XCTAssertFalse(y.contains { $0.isNaN }, "\(rows)×\(K)×\(N): an output left unwritten")
            }
        }
    }

    /// ReLU after the bias and the residual last: bit for bit the unfused product's outputs passed
    /// through them, on one thread and on two (the workers split the columns, never a sum).
    func testFusedReLUAndResidualAndThreadsChangeNoBit() throws {
        for (index, (rows, K, N)) in shapes.enumerated() {
            let x = GradientCheck.randomArray(rows * K, seed: UInt64(10 + index), scale: 2)
            let w = PackedWeight(Tensor(GradientCheck.randomArray(N * K, seed: UInt64(20 + index), scale: 0.3), shape: [N, K]))
            let bias = GradientCheck.randomArray(N, seed: UInt64(30 + index))
            let residual = GradientCheck.randomArray(rows * N, seed: UInt64(40 + index), scale: 3)
            Parallel.configure(threads: 1)
            let plain = product(x, rows: rows, w, bias: bias)
            for threads in [1, 2] {
                Parallel.configure(threads: threads)
                let shape = "\(threads) threads \(rows)×\(K)×\(N)"
                XCTAssertEqual(product(x, rows: rows, w, bias: bias).map(\.bitPattern), plain.map(\.bitPattern), shape)
                XCTAssertEqual(product(x, rows: rows, w, bias: bias, relu: true).map(\.bitPattern),
                               plain.map { max($0, 0) }.map(\.bitPattern), shape)
                XCTAssertEqual(product(x, rows: rows, w, bias: bias, relu: true, residual: residual).map(\.bitPattern),
                               zip(plain, residual).map { max($0, 0) + $1 }.map(\.bitPattern), shape)
            }
        }
    }

    /// The panel layout: W[n][k] at panel n / 16, row k, lane n % 16; the columns past N are zeros.
    func testPackingLayout() {
        let (N, K) = (19, 3)
        let values = (0..<N * K).map { Float($0 + 1) }
        let w = PackedWeight(Tensor(values, shape: [N, K]))
        XCTAssertEqual(nmt_f32_packed_size(N, K), 32 * K)
        var packed = [Float](repeating: -1, count: 32 * K)
        packed.withUnsafeMutableBufferPointer { nmt_f32_pack_weights(values, N, K, $0.baseAddress!) }
        for n in 0..<32 {
            for k in 0..<K {
                XCTAssertEqual(packed[(n / 16) * 16 * K + k * 16 + n % 16], n < N ? values[n * K + k] : 0, "W[\(n)][\(k)]")
            }
        }
        XCTAssertEqual(w.outFeatures, N)
        XCTAssertEqual(w.inFeatures, K)
    }

    /// The tape's ops on a packed weight: the packed product with ReLU or the residual fused, within
    /// rounding of the float32 ops; the embedding and a row read the tensor it was packed from.
    func testTapeOpsOnAPackedWeight() throws {
        let (rows, K, N) = (2 * 5, 33, 19)
        let wValues = GradientCheck.randomArray(N * K, seed: 90, scale: 0.3)
        let floatWeight = Tensor(wValues, shape: [N, K])
        let packed = LinearWeight.packedFloat32(PackedWeight(floatWeight))
        let x = Tensor(GradientCheck.randomArray(rows * K, seed: 91, scale: 2), shape: [2, 5, K])
        let bias = Tensor(GradientCheck.randomArray(N, seed: 92), shape: [N])
        let residual = Tensor(GradientCheck.randomArray(rows * N, seed: 93), shape: [2, 5, N])
        let tape = Tape(recording: false)
        func close(_ a: Tensor, _ b: Tensor, _ what: String) {
            XCTAssertEqual(a.shape, b.shape, what)
            for (u, v) in zip(a.values, b.values) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(v)), what) }
        }
        close(tape.linear(x, weight: packed, bias: bias), tape.linear(x, weight: floatWeight, bias: bias), "linear")
        close(tape.linearReLU(x, weight: packed, bias: bias, dropout: 0), tape.linearReLU(x, weight: floatWeight, bias: bias, dropout: 0), "linearReLU")
        close(tape.residualLinear(x, weight: packed, bias: bias, dropout: 0, residual: residual),
              tape.residualLinear(x, weight: floatWeight, bias: bias, dropout: 0, residual: residual), "residualLinear")
        XCTAssertEqual(packed.outFeatures, N)
        XCTAssertEqual(packed.inFeatures, K)
        XCTAssertTrue(packed.float32 === floatWeight)
        var row = [Float](repeating: 0, count: K)
        row.withUnsafeMutableBufferPointer { packed.row(7, into: $0.baseAddress!) }
        XCTAssertEqual(row, Array(wValues[7 * K ..< 8 * K]))
        let positions = Tensor([Float](repeating: 0.5, count: 4 * K), shape: [4, K])
        let ids: [Int32] = [3, 0, 18, 7], at: [Int32] = [0, 1, 2, 3]
        XCTAssertEqual(tape.embedding(ids: ids, positions: at, batch: 1, length: 4, table: packed, scale: 2, positionTable: positions, padId: nil).values,
                       tape.embedding(ids: ids, positions: at, batch: 1, length: 4, table: .float32(floatWeight), scale: 2,
                                      positionTable: positions, padId: nil).values)
    }
}
