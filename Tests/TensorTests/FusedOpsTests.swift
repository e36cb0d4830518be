import Tensor
import XCTest

/// The fused training ops against the unfused sequence they replace (same values, same dropout
/// draws) and against finite differences with a fixed dropout mask.
final class FusedOpsTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testLinearReLUEqualsLinearThenReLUThenDropout() {
        let x = GradientCheck.random([3, 5, 7], seed: 1)
        let w = GradientCheck.random([11, 7], seed: 2), b = GradientCheck.random([11], seed: 3)
        for p: Float in [0, 0.3] {
            let fused = Tape(recording: false, training: true, generator: SeededGenerator(seed: 4))
            let unfused = Tape(recording: false, training: true, generator: SeededGenerator(seed: 4))
            let y = fused.linearReLU(x, weight: w, bias: b, dropout: p)
            let expected = unfused.dropout(unfused.activation(unfused.linear(x, weight: w, bias: b), .relu), probability: p)
            XCTAssertEqual(y.shape, [3, 5, 11])
            XCTAssertLessThanOrEqual(maxDifference(y.values, expected.values), 1e-6, "p \(p)")
            XCTAssertEqual(fused.generator, unfused.generator, "the same draws")
        }
    }

    func testResidualLinearEqualsLinearThenDropoutThenAdd() {
        let x = GradientCheck.random([2, 4, 6], seed: 5)
        let w = GradientCheck.random([3, 6], seed: 6), b = GradientCheck.random([3], seed: 7)
        let r = GradientCheck.random([2, 4, 3], seed: 8)
        for p: Float in [0, 0.3] {
            let fused = Tape(recording: false, training: true, generator: SeededGenerator(seed: 9))
            let unfused = Tape(recording: false, training: true, generator: SeededGenerator(seed: 9))
            let y = fused.residualLinear(x, weight: w, bias: b, dropout: p, residual: r)
            let expected = unfused.add(r, unfused.dropout(unfused.linear(x, weight: w, bias: b), probability: p))
            XCTAssertLessThanOrEqual(maxDifference(y.values, expected.values), 1e-6, "p \(p)")
        }
    }

    func testFusedBackwardsMatchFiniteDifferences() {
        let x = GradientCheck.random([2, 3, 5], seed: 10)
        let w1 = GradientCheck.random([8, 5], seed: 11, scale: 0.5), b1 = GradientCheck.random([8], seed: 12)
        let w2 = GradientCheck.random([5, 8], seed: 13, scale: 0.5), b2 = GradientCheck.random([5], seed: 14)
        let r = GradientCheck.randomArray(30, seed: 15)
        for p: Float in [0, 0.25] {
            GradientCheck.check(inputs: [x, w1, b1, w2, b2], epsilon: 1e-3) { tape in
                tape.isTraining = true
                tape.generator = SeededGenerator(seed: 16)
                let hidden = tape.linearReLU(x, weight: w1, bias: b1, dropout: p)
                let y = tape.residualLinear(hidden, weight: w2, bias: b2, dropout: p, residual: x)
                return GradientCheck.weightedSum(y, weights: r, tape: tape)
            }
        }
    }

    func testProjectedCrossEntropyEqualsLinearThenCrossEntropyInValueAndGradients() {
        let (rows, D, V) = (11, 6, 37)
        let labels: [Int32] = [1, 36, 5, 36, 0, 7, 8, 36, 30, 2, 3]  // 36 is ignored
        func run(_ fused: Bool) -> (loss: Float, gradients: [[Float]]) {
            let h = GradientCheck.random([rows, D], seed: 20), w = GradientCheck.random([V, D], seed: 21)
            let b = GradientCheck.random([V], seed: 22)
            for t in [h, w, b] { t.requiresGradient = true }
            let tape = Tape()
            let loss = fused
                ? tape.projectedCrossEntropy(h, weight: w, bias: b, labels: labels, ignoreLabel: 36, smoothing: 0.1, chunkRows: 4)
                : tape.crossEntropy(tape.linear(h, weight: w, bias: b), labels: labels, ignoreLabel: 36, smoothing: 0.1)
            let value = loss.scalar
            tape.backward(from: loss)
            return (value, [h, w, b].map { $0.gradient!.values })
        }
        let (fused, unfused) = (run(true), run(false))
        XCTAssertEqual(fused.loss, unfused.loss, accuracy: 1e-5)
        for (a, b) in zip(fused.gradients, unfused.gradients) { XCTAssertLessThanOrEqual(maxDifference(a, b), 1e-6) }
        // Not recording: the value alone.
        let h = GradientCheck.random([rows, D], seed: 20), w = GradientCheck.random([V, D], seed: 21)
        let value = Tape.inference.projectedCrossEntropy(h, weight: w, bias: GradientCheck.random([V], seed: 22), labels: labels,
                                                         ignoreLabel: 36, smoothing: 0.1, chunkRows: 5).scalar
        XCTAssertEqual(value, unfused.loss, accuracy: 1e-5)
    }

    func testProjectedCrossEntropyBackwardMatchesFiniteDifferences() {
        let h = GradientCheck.random([5, 4], seed: 23), w = GradientCheck.random([9, 4], seed: 24)
        GradientCheck.check(inputs: [h, w], epsilon: 1e-3) { tape in
            // An upstream gradient other than 1: the loss feeds a weighted sum.
            let loss = tape.projectedCrossEntropy(h, weight: w, bias: nil, labels: [1, 8, 3, 0, 2], ignoreLabel: 8,
                                                  smoothing: 0.2, chunkRows: 2)
            return GradientCheck.weightedSum(loss, weights: [2.5], tape: tape)
        }
    }

    func testLayerNormInPlaceMatchesLayerNormAndFiniteDifferences() {
        let (rows, width) = (6, 9)
        let x = GradientCheck.random([rows, width], seed: 30, scale: 2)
        let w = GradientCheck.random([width], seed: 31), b = GradientCheck.random([width], seed: 32)
        let copy = Tensor(x.values, shape: x.shape)
        let y = Tape.inference.layerNormInPlace(copy, weight: w, bias: b)
        XCTAssertTrue(y.data == copy.data, "written over its input")
        XCTAssertLessThanOrEqual(maxDifference(y.values, Tape.inference.layerNorm(x, weight: w, bias: b).values), 1e-6)
        let zeros = Tensor(zeros: x.shape)
        let r = GradientCheck.randomArray(rows * width, seed: 33)
        GradientCheck.check(inputs: [x, w, b], epsilon: 1e-3) { tape in
            // A fresh sum each evaluation, as in the model: the op overwrites its input.
            GradientCheck.weightedSum(tape.layerNormInPlace(tape.add(x, zeros), weight: w, bias: b), weights: r, tape: tape)
        }
    }

    func testEmbeddingDropoutEqualsEmbeddingThenDropoutAndBackpropagatesThroughTheMask() {
        let table = GradientCheck.random([6, 4], seed: 40)
        let positions = Tensor(Kernels.sinusoidalPositions(count: 8, width: 4), shape: [8, 4])
        let ids: [Int32] = [1, 0, 2, 4, 0, 3]  // no pad (5): its row takes no gradient by design
        func embed(_ tape: Tape, fused: Bool) -> Tensor {
            let y = tape.embedding(ids: ids, positions: [0, 1, 2, 0, 1, 2], batch: 2, length: 3, table: table, scale: 2,
                                   positionTable: positions, padId: 5, dropout: fused ? 0.4 : 0)
            return fused ? y : tape.dropout(y, probability: 0.4)
        }
        let fused = Tape(recording: false, training: true, generator: SeededGenerator(seed: 41))
        let unfused = Tape(recording: false, training: true, generator: SeededGenerator(seed: 41))
        XCTAssertEqual(embed(fused, fused: true).values, embed(unfused, fused: false).values)
        XCTAssertEqual(fused.generator, unfused.generator)
        let r = GradientCheck.randomArray(24, seed: 42)
        GradientCheck.check(inputs: [table], epsilon: 1e-3) { tape in
            tape.isTraining = true
            tape.generator = SeededGenerator(seed: 43)
            return GradientCheck.weightedSum(embed(tape, fused: true), weights: r, tape: tape)
        }
    }
}
