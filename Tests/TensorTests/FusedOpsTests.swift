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
}
