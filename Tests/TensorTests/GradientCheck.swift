import Tensor
import XCTest

/// Finite-difference checks of the tape's backward steps.
enum GradientCheck {
    /// Σ y ⊙ weights as a scalar on the tape, so every element of y gets its own gradient.
    static func weightedSum(_ y: Tensor, weights: [Float], tape: Tape) -> Tensor {
        precondition(weights.count == y.count)
        var total: Double = 0
        for i in 0..<y.count { total += Double(y.data[i]) * Double(weights[i]) }
        let out = Tensor([Float(total)], shape: [1], requiresGradient: true)
        guard tape.isRecording else { return out }
        tape.record { [weak out] in
            guard let upstream = out?.gradient?.data[0] else { return }
            let g = y.gradientBuffer()
            for i in 0..<y.count { g.data[i] += weights[i] * upstream }
        }
        return out
    }

    /// Compares the tape's gradient of `f` with respect to each input against central differences.
    /// `f` builds a scalar from the inputs on the tape it is given.
    static func check(
        inputs: [Tensor], epsilon: Float = 1e-2, tolerance: Float = 2e-2,
        file: StaticString = #filePath, line: UInt = #line,
        _ f: (Tape) -> Tensor
    ) {
        for input in inputs {
            input.requiresGradient = true
            input.gradient = nil
        }
        let tape = Tape()
        let loss = f(tape)
        tape.backward(from: loss)
        let analytic = inputs.map { $0.gradient?.values ?? [Float](repeating: 0, count: $0.count) }
        for (index, input) in inputs.enumerated() {
            var worst: Float = 0
            var scale: Float = 1
            for i in 0..<input.count {
                let saved = input.data[i]
                input.data[i] = saved + epsilon
                let plus = f(Tape(recording: false)).scalar
                input.data[i] = saved - epsilon
                let minus = f(Tape(recording: false)).scalar
                input.data[i] = saved
                let numeric = (plus - minus) / (2 * epsilon)
                worst = max(worst, abs(numeric - analytic[index][i]))
                scale = max(scale, abs(numeric))
            }
            XCTAssertLessThanOrEqual(worst, tolerance * scale, "input \(index) \(input.shape): max |numeric − analytic| = \(worst)", file: file, line: line)
        }
    }

    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        let count = Tensor.elementCount(shape)
        return Tensor((0..<count).map { _ in generator.nextNormal() * scale }, shape: shape)
    }

    static func randomArray(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in generator.nextNormal() * scale }
    }
}

/// max |a − b|.
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) elements")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
