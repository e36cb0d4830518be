import Tensor
import XCTest

/// Each fast kernel against its naive reference, on shapes that are not multiples of any SIMD
/// width, and each op's backward against finite differences.
final class KernelTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testLinearMatchesReference() {
        for (rows, inFeatures, outFeatures) in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 31, 129)] {
            let x = GradientCheck.randomArray(rows * inFeatures, seed: 1)
            let w = GradientCheck.randomArray(outFeatures * inFeatures, seed: 2)
            let b = GradientCheck.randomArray(outFeatures, seed: 3)
            let expected = ReferenceKernels.linear(x: x, rows: rows, inFeatures: inFeatures, weight: w, bias: b, outFeatures: outFeatures)
            let y = Tape.inference.linear(Tensor(x, shape: [rows, inFeatures]), weight: Tensor(w, shape: [outFeatures, inFeatures]),
                                          bias: Tensor(b, shape: [outFeatures]))
            XCTAssertLessThanOrEqual(maxDifference(y.values, expected), 1e-4, "linear \(rows)×\(inFeatures)→\(outFeatures)")
        }
    }

    /// Products large enough to be split across threads, by rows or by columns, in every
    /// combination of transposes, against the triple loop.
    func testSplitGemmMatchesReference() {
        for (m, n, k) in [(300, 70, 90), (5, 3000, 100), (129, 1031, 17)] {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let a = GradientCheck.randomArray(m * k, seed: 50), b = GradientCheck.randomArray(k * n, seed: 51)
                    var expected = [Float](repeating: 0, count: m * n)
                    for i in 0..<m { for j in 0..<n {
                        var sum: Float = 0
                        for p in 0..<k {
                            let x = transposeA ? a[p * m + i] : a[i * k + p]
                            let y = transposeB ? b[j * k + p] : b[p * n + j]
                            sum += x * y
                        }
                        expected[i * n + j] = 0.5 * sum + 2
                    } }
                    var c = [Float](repeating: 1, count: m * n)
                    BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a, b: b, beta: 2, c: &c)
                    XCTAssertLessThanOrEqual(maxDifference(c, expected), 1e-3, "gemm \(m)×\(n)×\(k) tA \(transposeA) tB \(transposeB)")
                }
            }
        }
    }

    func testLayerNormMatchesReference() {
        for (rows, width) in [(1, 2), (5, 7), (13, 33), (70, 256)] {
            let x = GradientCheck.randomArray(rows * width, seed: 4, scale: 3)
            let w = GradientCheck.randomArray(width, seed: 5)
            let b = GradientCheck.randomArray(width, seed: 6)
            let expected = ReferenceKernels.layerNorm(x: x, rows: rows, width: width, weight: w, bias: b, epsilon: 1e-5)
            let y = Tape.inference.layerNorm(Tensor(x, shape: [rows, width]), weight: Tensor(w, shape: [width]), bias: Tensor(b, shape: [width]))
            XCTAssertLessThanOrEqual(maxDifference(y.values, expected), 1e-4, "layer norm \(rows)×\(width)")
        }
    }

    func testAttentionMatchesReferenceWithPaddingAndCausalMask() {
        for (B, T, S, H, Dh) in [(1, 1, 1, 1, 1), (2, 5, 7, 3, 5), (3, 9, 9, 4, 8), (2, 13, 11, 2, 17)] {
            let D = H * Dh
            let q = GradientCheck.randomArray(B * T * D, seed: 7)
            let k = GradientCheck.randomArray(B * S * D, seed: 8)
            let v = GradientCheck.randomArray(B * S * D, seed: 9)
            // Row b has its last b keys padded (never all of them).
            var padding = [UInt8](repeating: 0, count: B * S)
            for b in 0..<B { for s in 0..<S where s >= S - min(b, S - 1) { padding[b * S + s] = 1 } }
            for causal in (T == S ? [false, true] : [false]) {
                let shape = AttentionShape(batch: B, queries: T, keys: S, heads: H, headWidth: Dh)
                let scale = 1 / Float(Dh).squareRoot()
                let expected = ReferenceKernels.attention(shape: shape, scale: scale, q: q, k: k, v: v, keyPadding: padding, causal: causal)
                // q|k|v side by side in one tensor when self-attention, as the model lays them out.
                let (out, probabilities): (Tensor, Tensor)
                if causal || T == S {
                    var fused = [Float](repeating: 0, count: B * T * 3 * D)
                    for r in 0..<(B * T) {
                        for c in 0..<D {
                            fused[r * 3 * D + c] = q[r * D + c]
                            fused[r * 3 * D + D + c] = k[r * D + c]
                            fused[r * 3 * D + 2 * D + c] = v[r * D + c]
                        }
                    }
                    let qkv = Tensor(fused, shape: [B, T, 3 * D])
                    (out, probabilities) = Tape.inference.attention(query: qkv, queryColumn: 0, keyValue: qkv, keyColumn: D, valueColumn: 2 * D,
                                                                    heads: H, keyPadding: padding, causal: causal)
                } else {
                    var kv = [Float](repeating: 0, count: B * S * 2 * D)
                    for r in 0..<(B * S) { for c in 0..<D { kv[r * 2 * D + c] = k[r * D + c]; kv[r * 2 * D + D + c] = v[r * D + c] } }
                    (out, probabilities) = Tape.inference.attention(query: Tensor(q, shape: [B, T, D]), queryColumn: 0,
                                                                    keyValue: Tensor(kv, shape: [B, S, 2 * D]), keyColumn: 0, valueColumn: D,
                                                                    heads: H, keyPadding: padding, causal: false)
                }
                XCTAssertLessThanOrEqual(maxDifference(out.values, expected.out), 1e-5, "attention out \(B),\(T),\(S),\(H),\(Dh) causal \(causal)")
                XCTAssertLessThanOrEqual(maxDifference(probabilities.values, expected.probabilities), 1e-6, "attention probabilities")
            }
        }
    }

    /// One query per row over keys found through a row table (a reordered cache), against the
    /// reference with the keys laid out in order.
    func testAttentionStepThroughRowTableMatchesReference() {
        let (B, S, H, Dh) = (5, 9, 3, 13)
        let D = H * Dh
        let q = GradientCheck.randomArray(B * D, seed: 60)
        let k = GradientCheck.randomArray(B * S * D, seed: 61), v = GradientCheck.randomArray(B * S * D, seed: 62)
        var padding = [UInt8](repeating: 0, count: B * S)
        for s in 6..<S { padding[1 * S + s] = 1 }
        let shape = AttentionShape(batch: B, queries: 1, keys: S, heads: H, headWidth: Dh)
        let expected = ReferenceKernels.attention(shape: shape, scale: 0.3, q: q, k: k, v: v, keyPadding: padding, causal: false)
        // Store the (b, s) rows of k|v shuffled and find them through the table.
        let order = (0..<(B * S)).map { ($0 * 7) % (B * S) }   // 7 is coprime with 45: a permutation
        var stored = [Float](repeating: 0, count: B * S * 2 * D), table = [Int32](repeating: 0, count: B * S)
        for (place, row) in order.enumerated() {
            for c in 0..<D { stored[place * 2 * D + c] = k[row * D + c]; stored[place * 2 * D + D + c] = v[row * D + c] }
            table[row] = Int32(place)
        }
        var out = [Float](repeating: 0, count: B * D), probabilities = [Float](repeating: 0, count: B * H * S)
        var queries = q
        stored.withUnsafeBufferPointer { kv in table.withUnsafeBufferPointer { t in padding.withUnsafeBufferPointer { pad in
            queries.withUnsafeMutableBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in
                Kernels.attentionStep(shape: shape, scale: 0.3, q: StridedRows(base: qp.baseAddress!, rowStride: D, batchStride: D),
                                      keyValues: KeyValueRows(base: kv.baseAddress!, rowStride: 2 * D, valueOffset: D, rowIndex: t.baseAddress!, rowIndexStride: S),
                                      keyPadding: pad.baseAddress, probabilities: &probabilities,
                                      out: StridedRows(base: op.baseAddress!, rowStride: D, batchStride: D))
            } }
        } } }
        XCTAssertLessThanOrEqual(maxDifference(out, expected.out), 1e-5)
        XCTAssertLessThanOrEqual(maxDifference(probabilities, expected.probabilities), 1e-6)
    }

    func testHeadSplitAndMergeAreInverse() {
        let x = GradientCheck.randomArray(2 * 3 * 4 * 5, seed: 10)
        let split = ReferenceKernels.splitHeads(x, batch: 2, length: 3, heads: 4, headWidth: 5)
        XCTAssertNotEqual(split, x)
        XCTAssertEqual(ReferenceKernels.mergeHeads(split, batch: 2, length: 3, heads: 4, headWidth: 5), x)
    }

    func testCrossEntropyMatchesReference() {
        let (rows, V) = (11, 37)
        let logits = GradientCheck.randomArray(rows * V, seed: 11, scale: 4)
        var labels = (0..<rows).map { Int32(($0 * 7) % V) }
        labels[3] = 36  // the ignored label
        labels[8] = 36
        for smoothing in [Float(0), 0.1, 0.3] {
            let expected = ReferenceKernels.labelSmoothedCrossEntropy(logits: logits, rows: rows, vocabulary: V, labels: labels, ignoreLabel: 36, smoothing: Double(smoothing))
            let loss = Tape.inference.crossEntropy(Tensor(logits, shape: [rows, V]), labels: labels, ignoreLabel: 36, smoothing: smoothing)
            XCTAssertEqual(Double(loss.data[0]), expected, accuracy: 1e-5 * max(1, expected))
        }
    }

    func testSinusoidalPositionsLayout() {
        let table = Kernels.sinusoidalPositions(count: 3, width: 4)
        // Position 0: sines 0, cosines 1.
        XCTAssertEqual(Array(table[0..<4]), [0, 0, 1, 1])
        // Position 2, j = 1: angle = 2 / 10000^(2/4) = 0.02.
        XCTAssertEqual(table[2 * 4 + 1], Float(sin(0.02)), accuracy: 1e-7)
        XCTAssertEqual(table[2 * 4 + 3], Float(cos(0.02)), accuracy: 1e-7)
    }

    // MARK: backward against finite differences

    func testLinearBackward() {
        let x = GradientCheck.random([3, 5], seed: 20), w = GradientCheck.random([4, 5], seed: 21), b = GradientCheck.random([4], seed: 22)
        let r = GradientCheck.randomArray(12, seed: 23)
        GradientCheck.check(inputs: [x, w, b]) { tape in GradientCheck.weightedSum(tape.linear(x, weight: w, bias: b), weights: r, tape: tape) }
    }

    func testActivationBackward() {
        for kind in Activation.allCases {
            let x = GradientCheck.random([4, 7], seed: 24)
            let r = GradientCheck.randomArray(28, seed: 25)
            GradientCheck.check(inputs: [x]) { tape in GradientCheck.weightedSum(tape.activation(x, kind), weights: r, tape: tape) }
        }
    }

    func testLayerNormBackward() {
        let x = GradientCheck.random([3, 6], seed: 26), w = GradientCheck.random([6], seed: 27), b = GradientCheck.random([6], seed: 28)
        let r = GradientCheck.randomArray(18, seed: 29)
        GradientCheck.check(inputs: [x, w, b]) { tape in GradientCheck.weightedSum(tape.layerNorm(x, weight: w, bias: b), weights: r, tape: tape) }
    }

    func testAddAndReshapeBackward() {
        let a = GradientCheck.random([2, 3], seed: 30), b = GradientCheck.random([2, 3], seed: 31)
        let r = GradientCheck.randomArray(6, seed: 32)
        GradientCheck.check(inputs: [a, b]) { tape in
            GradientCheck.weightedSum(tape.reshape(tape.add(a, tape.add(a, b)), [3, 2]), weights: r, tape: tape)
        }
    }

    func testSelfAttentionBackwardThroughFusedProjection() {
        let (B, T, H, Dh) = (2, 4, 2, 3)
        let qkv = GradientCheck.random([B, T, 3 * H * Dh], seed: 33)
        let padding: [UInt8] = [0, 0, 0, 0, 0, 0, 1, 1]
        let r = GradientCheck.randomArray(B * T * H * Dh, seed: 34)
        for causal in [false, true] {
            GradientCheck.check(inputs: [qkv]) { tape in
                let (out, _) = tape.attention(query: qkv, queryColumn: 0, keyValue: qkv, keyColumn: H * Dh, valueColumn: 2 * H * Dh,
                                              heads: H, keyPadding: padding, causal: causal)
                return GradientCheck.weightedSum(out, weights: r, tape: tape)
            }
        }
    }

    func testCrossAttentionBackward() {
        let (B, T, S, H, Dh) = (2, 3, 5, 2, 2)
        let q = GradientCheck.random([B, T, H * Dh], seed: 35)
        let kv = GradientCheck.random([B, S, 2 * H * Dh], seed: 36)
        let padding: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
        let r = GradientCheck.randomArray(B * T * H * Dh, seed: 37)
        GradientCheck.check(inputs: [q, kv]) { tape in
            let (out, _) = tape.attention(query: q, queryColumn: 0, keyValue: kv, keyColumn: 0, valueColumn: H * Dh,
                                          heads: H, keyPadding: padding, causal: false)
            return GradientCheck.weightedSum(out, weights: r, tape: tape)
        }
    }

    func testEmbeddingBackwardSkipsPad() {
        let table = GradientCheck.random([6, 4], seed: 38)
        let positions = Tensor(Kernels.sinusoidalPositions(count: 8, width: 4), shape: [8, 4])
        let ids: [Int32] = [1, 5, 2, 5, 5, 3]
        let r = GradientCheck.randomArray(24, seed: 39)
        let tape = Tape()
        table.requiresGradient = true
        let y = tape.embedding(ids: ids, positions: [0, 1, 2, 0, 1, 2], batch: 2, length: 3, table: table, scale: 2, positionTable: positions, padId: 5)
        tape.backward(from: GradientCheck.weightedSum(y, weights: r, tape: tape))
        let g = table.gradient!.values
        XCTAssertEqual(Array(g[20..<24]), [0, 0, 0, 0], "the pad row gets no gradient from the lookup")
        // Row 2 is used once, at position 2 of sequence 0: its gradient is 2 · r[8..<12].
        XCTAssertEqual(Array(g[8..<12]), r[8..<12].map { $0 * 2 })
    }

    func testCrossEntropyBackward() {
        let logits = GradientCheck.random([5, 7], seed: 40, scale: 2)
        let labels: [Int32] = [1, 6, 0, 3, 6]
        GradientCheck.check(inputs: [logits], epsilon: 1e-2, tolerance: 1e-2) { tape in
            // Crossentropy overwrites its input's values with the gradient when recording; run it on a copy.
            let copy = tape.reshape(logits, [5, 7])
            let input = tape.isRecording ? tape.add(copy, Tensor(zeros: [5, 7])) : copy
            return tape.crossEntropy(input, labels: labels, ignoreLabel: 6, smoothing: 0.1)
        }
    }

    func testDropoutKeepsExpectationAndMasksGradient() {
        let x = Tensor([Float](repeating: 1, count: 10_000), shape: [10_000], requiresGradient: true)
        let tape = Tape(training: true, generator: SeededGenerator(seed: 1))
        let y = tape.dropout(x, probability: 0.25)
        let kept = y.values.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / 10_000, 0.75, accuracy: 0.02)
        XCTAssertTrue(kept.allSatisfy { abs($0 - 4.0 / 3.0) < 1e-6 })
        let r = GradientCheck.randomArray(10_000, seed: 41)
        tape.backward(from: GradientCheck.weightedSum(y, weights: r, tape: tape))
        for i in 0..<100 { XCTAssertEqual(x.gradient!.data[i], y.data[i] * r[i], accuracy: 1e-6) }
        XCTAssertTrue(Tape().dropout(x, probability: 0.25) === x, "no dropout outside training")
    }
}

final class ExponentialTests: XCTestCase {
    func testVectorExpMatchesLibm() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0137 })
            let fast = Kernels.exp(lanes)
            for i in 0..<8 where lanes[i] < 88 {
                let exact = expf(lanes[i])
                worst = max(worst, abs(fast[i] - exact) / exact)
            }
            x += 0.1
        }
        XCTAssertLessThanOrEqual(worst, 3e-7, "relative error of the vector exp")
    }

    func testLogSumExpMatchesReferenceOnOddLengths() {
        for count in [1, 7, 8, 9, 33, 8000] {
            let x = GradientCheck.randomArray(count, seed: UInt64(count), scale: 5)
            let m = Double(x.max()!)
            let expected = m + log(x.map { exp(Double($0) - m) }.reduce(0, +))
            let fast = x.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, count: count) }
            XCTAssertEqual(Double(fast), expected, accuracy: 1e-5 * max(1, abs(expected)), "count \(count)")
        }
    }
}
