import Tensor
import XCTest

/// The int8 product (Int8GEMM.h): the AVX2 path against the scalar reference, exactly (codes,
/// integers and the float outputs, bit for bit), on shapes that are multiples of neither the SIMD
/// width, the 4-deep groups nor the 8-wide panels; and against float32 within the bound that the
/// quantization steps imply.
final class QuantizedLinearTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    /// (rows, K, N): rows not a multiple of the kernel's 4, K not of 4 or 8, N not of 8 or 16 — and
    /// large enough to be split over the workers.
    let shapes = [(1, 1, 1), (3, 5, 7), (5, 33, 9), (17, 31, 129), (13, 100, 37), (6, 1030, 23), (70, 257, 300)]

    /// Activations with the row kinds the kernels special-case: mixed signs, all positive (ReLU
    /// output: zero point 0), all negative (zero point 127), a row of zeros, a constant row.
    func activations(rows: Int, depth: Int, seed: UInt64) -> [Float] {
        var x = GradientCheck.randomArray(rows * depth, seed: seed, scale: 2)
        for r in 0..<rows {
            let row = r * depth..<(r + 1) * depth
            switch r % 6 {
            case 1: for i in row { x[i] = max(0, x[i]) }
            case 2: for i in row { x[i] = -abs(x[i]) - 1 }
            case 3 where r > 0: for i in row { x[i] = 0 }
            case 4: for i in row { x[i] = 0.75 }
            case 5: for i in row { x[i] = x[i] * 30 + 4 }
            default: break
            }
        }
        return x
    }

    func weight(outFeatures: Int, inFeatures: Int, seed: UInt64) throws -> QuantizedWeight {
        var w = GradientCheck.randomArray(outFeatures * inFeatures, seed: seed, scale: 0.1)
        if outFeatures > 2 { for k in 0..<inFeatures { w[2 * inFeatures + k] = 0 } }  // a row of zeros: scale 1
        return try QuantizedWeight(weight: w, outFeatures: outFeatures, inFeatures: inFeatures)
    }

    /// The paths to compare with the reference; the test is skipped, not passed, where AVX2 is missing.
    func fastPaths() throws -> [Int8Path] {
        let paths = Int8Path.allCases.filter { $0 != .reference && $0.isSupported }
        if paths.isEmpty { throw XCTSkip("no int8 path besides the reference runs on this processor") }
        return paths
    }

    func testActivationCodesAgreeExactlyAndStayWithinHalfAStep() throws {
        for path in try fastPaths() {
            for (rows, depth, _) in shapes {
                var x = activations(rows: rows, depth: depth, seed: UInt64(rows * depth))
                if rows > 7 { x[7 * depth + depth / 2] = .infinity }
                if rows > 8 { x[8 * depth] = .nan }
                let reference = QuantizedRows(x: x, rows: rows, depth: depth, path: .reference)
                let fast = QuantizedRows(x: x, rows: rows, depth: depth, path: path)
                XCTAssertEqual(fast.codes, reference.codes, "codes \(rows)×\(depth) \(path)")
                XCTAssertEqual(fast.zeroPoints, reference.zeroPoints, "zero points \(rows)×\(depth) \(path)")
                XCTAssertEqual(fast.factors.map(\.bitPattern), reference.factors.map(\.bitPattern), "factors \(rows)×\(depth) \(path)")
                XCTAssertEqual(reference.stride % 4, 0)
                for r in 0..<rows {
                    let factor = reference.factors[r]
                    if (7...8).contains(r) {
                        XCTAssertTrue(factor.isNaN, "row \(r) with an infinity or NaN must carry NaN")
                        continue
                    }
                    for k in 0..<reference.stride {
                        let code = reference.codes[r * reference.stride + k]
                        XCTAssertLessThanOrEqual(code, 127)
                        if k >= depth { XCTAssertEqual(code, 0, "padding"); continue }
                        let back = Float(Int32(code) - reference.zeroPoints[r]) * factor
                        // Half a step, 1/254 of the row's range, plus the rounding of x · s.
                        XCTAssertLessThanOrEqual(abs(back - x[r * depth + k]), 0.5 * factor * 1.0001 + 1e-30,
                                                 "row \(r) element \(k) of \(rows)×\(depth)")
                    }
                }
            }
        }
    }

    func testIntegerProductsAreExact() throws {
        for path in try fastPaths() {
            for (index, (rows, K, N)) in shapes.enumerated() {
                let x = activations(rows: rows, depth: K, seed: UInt64(10 + index))
                let w = try weight(outFeatures: N, inFeatures: K, seed: UInt64(20 + index))
                let quantized = QuantizedRows(x: x, rows: rows, depth: K, path: path)
                var expected = [Int32](repeating: 0, count: rows * N)
                for r in 0..<rows {
                    for n in 0..<N {
                        var sum = 0
                        for k in 0..<K {
                            sum += (Int(quantized.codes[r * quantized.stride + k]) - Int(quantized.zeroPoints[r])) * Int(w.codes[n * K + k])
                        }
                        expected[r * N + n] = Int32(sum)
                    }
                }
                XCTAssertEqual(Kernels.quantizedProductIntegers(quantized, weight: w, path: .reference), expected, "reference \(rows)×\(K)×\(N)")
                XCTAssertEqual(Kernels.quantizedProductIntegers(quantized, weight: w, path: path), expected, "\(path) \(rows)×\(K)×\(N)")
            }
        }
    }

    /// The largest pairs vpmaddubsw can meet: codes of 127 (a constant positive row) against weights
    /// of ±127 give 2 · 127 · 127 = 32258 a pair, just inside int16; codes up to 255 would saturate.
    func testLargestPairsDoNotSaturate() throws {
        for path in try fastPaths() {
            let (rows, K, N) = (5, 67, 19)
            let x = [Float](repeating: 3, count: rows * K)
            var w = [Float](repeating: 1, count: N * K)
            for n in stride(from: 1, to: N, by: 2) { for k in 0..<K { w[n * K + k] = -1 } }
            let weight = try QuantizedWeight(weight: w, outFeatures: N, inFeatures: K)
            let quantized = QuantizedRows(x: x, rows: rows, depth: K, path: path)
            XCTAssertEqual(Set(quantized.codes.prefix(K)), [127])
            let integers = Kernels.quantizedProductIntegers(quantized, weight: weight, path: path)
            for r in 0..<rows { for n in 0..<N { XCTAssertEqual(integers[r * N + n], Int32((n % 2 == 0 ? 1 : -1) * 127 * 127 * K)) } }
        }
    }

    func testFloatOutputsAgreeBitForBitAcrossPathsAndThreads() throws {
        for path in try fastPaths() {
            for (index, (rows, K, N)) in shapes.enumerated() {
                var x = activations(rows: rows, depth: K, seed: UInt64(30 + index))
                if rows > 8 { x[8 * K + 1] = -.infinity }
                let w = try weight(outFeatures: N, inFeatures: K, seed: UInt64(40 + index))
                let bias = GradientCheck.randomArray(N, seed: UInt64(50 + index))
                for relu in [false, true] {
                    for b in [nil, bias] {
                        Parallel.configure(threads: 1)
                        let reference = run(x, rows: rows, w, bias: b, relu: relu, path: .reference)
                        Parallel.configure(threads: 2)
                        let fast = run(x, rows: rows, w, bias: b, relu: relu, path: path)
                        XCTAssertEqual(fast.map(\.bitPattern), reference.map(\.bitPattern), "\(path) \(rows)×\(K)×\(N) relu \(relu) bias \(b != nil)")
                    }
                }
            }
        }
    }

    /// |y_int8 − y_float32| ≤ Σ_k |x_k| · max|W[n]| / 254 + (range of the row / 254) · Σ_k |Ŵ[n][k]|, from
    /// |x − x̂| ≤ range / 254 and |W − Ŵ| ≤ max|W[n]| / 254 (half a step each), plus 1e-5 of Σ|x||W| + |b|
    /// for float rounding. And against the product of the dequantized operands, float rounding only.
    func testAgainstFloat32WithinTheQuantizationBound() throws {
        for (index, (rows, K, N)) in shapes.enumerated() {
            let x = activations(rows: rows, depth: K, seed: UInt64(60 + index))
            let wFloat = GradientCheck.randomArray(N * K, seed: UInt64(70 + index), scale: 0.1)
            let w = try QuantizedWeight(weight: wFloat, outFeatures: N, inFeatures: K)
            let bias = GradientCheck.randomArray(N, seed: UInt64(80 + index))
            let y = run(x, rows: rows, w, bias: bias, relu: false, path: .best)
            let exact = ReferenceKernels.linear(x: x, rows: rows, inFeatures: K, weight: wFloat, bias: bias, outFeatures: N)
            let quantized = QuantizedRows(x: x, rows: rows, depth: K)
            let dequantized = ReferenceKernels.dequantizedLinear(quantized, weight: w, bias: bias)
            let wBack = w.dequantized()
            var worstShare: Float = 0
            for r in 0..<rows {
                let row = x[r * K..<(r + 1) * K]
                let range = max(row.max()!, 0) - min(row.min()!, 0)
                for n in 0..<N {
                    let wRow = wFloat[n * K..<(n + 1) * K], backRow = wBack[n * K..<(n + 1) * K]
                    let largest = wRow.map(abs).max()!
                    let magnitude = zip(row, wRow).map { abs($0 * $1) }.reduce(0, +) + abs(bias[n])
                    let bound = row.map(abs).reduce(0, +) * largest / 254 + range / 254 * backRow.map(abs).reduce(0, +) + 1e-5 * magnitude
                    let error = abs(y[r * N + n] - exact[r * N + n])
                    XCTAssertLessThanOrEqual(error, bound, "row \(r) column \(n) of \(rows)×\(K)×\(N)")
                    XCTAssertLessThanOrEqual(abs(y[r * N + n] - dequantized[r * N + n]), 1e-5 * magnitude + 1e-6, "dequantized operands")
                    worstShare = max(worstShare, error / bound)
                }
            }
            // The bound is a worst case; errors of random data sit well inside it, but not absurdly so.
            if K >= 31 { XCTAssertGreaterThan(worstShare, 0.01, "\(rows)×\(K)×\(N): the bound is far looser than the error") }
        }
    }

    func testTensorShapes() throws {
        let w = try weight(outFeatures: 11, inFeatures: 6, seed: 90)
        let x = Tensor(activations(rows: 2 * 3, depth: 6, seed: 91), shape: [2, 3, 6])
        let y = Kernels.quantizedLinear(x, weight: w, bias: nil)
        XCTAssertEqual(y.shape, [2, 3, 11])
        XCTAssertEqual(y.values, run(x.values, rows: 6, w, bias: nil, relu: false, path: .best))
    }

    func testWeightCodesAndScales() throws {
        let (N, K) = (9, 13)
        var wFloat = GradientCheck.randomArray(N * K, seed: 92)
        for k in 0..<K { wFloat[4 * K + k] = 0 }
        let w = try QuantizedWeight(weight: wFloat, outFeatures: N, inFeatures: K)
        let back = w.dequantized()
        for n in 0..<N {
            let row = wFloat[n * K..<(n + 1) * K], largest = row.map(abs).max()!
            XCTAssertEqual(w.scales[n], n == 4 ? 1 : 127 / largest)
            if n != 4 { XCTAssertEqual(w.codes[n * K..<(n + 1) * K].map { abs(Int($0)) }.max(), 127, "the largest weight takes the last code") }
            for k in 0..<K {
                XCTAssertLessThanOrEqual(abs(Int(w.codes[n * K + k])), 127)
                XCTAssertLessThanOrEqual(abs(back[n * K + k] - wFloat[n * K + k]), largest / 254 * 1.0001 + 1e-7)
            }
        }
        XCTAssertEqual(w.byteCount, N * K + 4 * N + 16 * 16 + 4 * 16 + 4 * 16)
    }

    func testMalformedWeightsAreErrorsNamingTheRow() {
        func message(_ body: () throws -> QuantizedWeight) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { try QuantizedWeight(weight: [1, 2, .nan, 4], outFeatures: 2, inFeatures: 2) }, "row 1 holds an infinity or NaN")
        XCTAssertEqual(message { try QuantizedWeight(codes: [1, 2, 3, 4], scales: [1, 0], outFeatures: 2, inFeatures: 2) },
                       "row 1 has scale 0.0; scales must be positive and finite")
        XCTAssertEqual(message { try QuantizedWeight(codes: [1, 2, 3, 4], scales: [.infinity, 1], outFeatures: 2, inFeatures: 2) },
                       "row 0 has scale inf; scales must be positive and finite")
        XCTAssertEqual(message { try QuantizedWeight(codes: [1, 2, 3, -128], scales: [1, 1], outFeatures: 2, inFeatures: 2) },
                       "row 1 holds the code −128; codes span −127…127")
        XCTAssertEqual(message { try QuantizedWeight(codes: [1, 2, 3], scales: [1, 1], outFeatures: 2, inFeatures: 2) },
                       "3 codes and 2 scales for a 2×2 matrix")
    }

    private func run(_ x: [Float], rows: Int, _ w: QuantizedWeight, bias: [Float]?, relu: Bool, path: Int8Path) -> [Float] {
        var y = [Float](repeating: .nan, count: rows * w.outFeatures)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                if let bias {
                    bias.withUnsafeBufferPointer { bias in
                        Kernels.quantizedLinearForward(x: x.baseAddress!, rows: rows, weight: w, bias: bias.baseAddress, relu: relu, y: y.baseAddress!, path: path)
                    }
                } else {
                    Kernels.quantizedLinearForward(x: x.baseAddress!, rows: rows, weight: w, bias: nil, relu: relu, y: y.baseAddress!, path: path)
                }
            }
        }
        return y
    }
}
