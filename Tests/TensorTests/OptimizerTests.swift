import Tensor
import XCTest

/// Adam, gradient clipping, the learning-rate schedule and Xavier initialisation against
/// references written from their papers (or PyTorch's definitions).
final class OptimizerTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testAdamMatchesReferenceOverSeveralSteps() {
        // More than one parallel chunk, and a length that is not a multiple of it.
        let n = (1 << 14) * 2 + 37
        let initial = GradientCheck.randomArray(n, seed: 1)
        let parameters = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { parameters.deallocate() }
        initial.withUnsafeBufferPointer { parameters.update(from: $0.baseAddress!, count: n) }
        let adam = Adam(parameterCount: n)
        var reference = initial.map(Double.init)
        var m = [Double](repeating: 0, count: n), v = m
        for step in 1...5 {
            var gradients = GradientCheck.randomArray(n, seed: UInt64(10 + step), scale: 0.1)
            gradients[3] = 0  // a parameter that never gets a gradient never moves
            let lr = 1e-3 * Double(step)
            gradients.withUnsafeBufferPointer { adam.update(parameters: parameters, gradients: $0.baseAddress!, learningRate: Float(lr)) }
            ReferenceKernels.adamStep(parameters: &reference, gradients: gradients.map(Double.init), m: &m, v: &v, step: step,
                                      learningRate: lr, beta1: 0.9, beta2: 0.98, epsilon: 1e-9)
        }
        XCTAssertEqual(adam.step, 5)
        var worst = 0.0
        for i in 0..<n { worst = max(worst, abs(Double(parameters[i]) - reference[i])) }
        XCTAssertLessThanOrEqual(worst, 1e-6, "max |Adam − reference|")
        XCTAssertEqual(parameters[3], initial[3])
        XCTAssertEqual(Double(adam.secondMoment[7]), v[7], accuracy: 1e-9)
    }

    func testAdamRestoreContinuesIdentically() {
        let n = 100
        let gradients = (0..<4).map { GradientCheck.randomArray(n, seed: UInt64(20 + $0)) }
        func run(_ adam: Adam, _ p: UnsafeMutablePointer<Float>, steps: Range<Int>) {
            for s in steps { gradients[s].withUnsafeBufferPointer { adam.update(parameters: p, gradients: $0.baseAddress!, learningRate: 0.01) } }
        }
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n), b = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { a.deallocate(); b.deallocate() }
        a.initialize(repeating: 0.5, count: n)
        let whole = Adam(parameterCount: n)
        run(whole, a, steps: 0..<4)
        b.initialize(repeating: 0.5, count: n)
        let first = Adam(parameterCount: n)
        run(first, b, steps: 0..<2)
        let resumed = Adam(parameterCount: n)
        resumed.restore(step: first.step, firstMoment: Array(UnsafeBufferPointer(start: first.firstMoment, count: n)),
                        secondMoment: Array(UnsafeBufferPointer(start: first.secondMoment, count: n)))
        run(resumed, b, steps: 2..<4)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: a, count: n)), Array(UnsafeBufferPointer(start: b, count: n)))
    }

    func testClippingScalesOnlyAboveTheThreshold() {
        var g: [Float] = [3, 4, 0]  // norm 5
        let before = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0.baseAddress!, count: 3, maxNorm: 10) }
        XCTAssertEqual(before, 5, accuracy: 1e-12)
        XCTAssertEqual(g, [3, 4, 0])
        g.withUnsafeMutableBufferPointer { _ = GradientClipping.clip($0.baseAddress!, count: 3, maxNorm: 1) }
        XCTAssertEqual(g[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(g[1], 0.8, accuracy: 1e-6)
        let big = GradientCheck.randomArray(300_001, seed: 3)
        let expected = big.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(big.withUnsafeBufferPointer { GradientClipping.norm($0.baseAddress!, count: big.count) }, expected,
                       accuracy: 1e-9 * expected)
    }

    func testNoamScheduleMatchesThePaperFormula() {
        let (D, warmup, factor) = (512, 4000, 2.0)
        let schedule = LearningRateSchedule.noam(factor: factor, modelWidth: D, warmup: warmup)
        for step in [1, 10, 3999, 4000, 4001, 10_000, 100_000] {
            let paper = factor * pow(Double(D), -0.5) * min(pow(Double(step), -0.5), Double(step) * pow(Double(warmup), -1.5))
            XCTAssertEqual(schedule.rate(step: step), paper, accuracy: 1e-12 * paper, "step \(step)")
        }
        XCTAssertEqual(schedule.rate(step: warmup), schedule.peak, accuracy: 1e-15)
        let peak = LearningRateSchedule(peak: 5e-4, warmup: 100)
        XCTAssertEqual(peak.rate(step: 50), 2.5e-4, accuracy: 1e-15)
        XCTAssertEqual(peak.rate(step: 400), 2.5e-4, accuracy: 1e-15)
    }

    func testCoolDownRampsTheLastUpdatesLinearlyToZero() {
        let base = LearningRateSchedule(peak: 5e-4, warmup: 100)
        let cooled = LearningRateSchedule(peak: 5e-4, warmup: 100, coolDown: .init(end: 1000, updates: 200))
        for step in [1, 100, 500, 800] { XCTAssertEqual(cooled.rate(step: step), base.rate(step: step), "step \(step): before the cool-down") }
        // Update 801 is the first of the 200: factor 200/200; update 1000 the last: 1/200.
        XCTAssertEqual(cooled.rate(step: 801), base.rate(step: 801), accuracy: 1e-18)
        XCTAssertEqual(cooled.rate(step: 900), base.rate(step: 900) * 101 / 200, accuracy: 1e-18)
        XCTAssertEqual(cooled.rate(step: 1000), base.rate(step: 1000) / 200, accuracy: 1e-18)
        XCTAssertEqual(cooled.rate(step: 1001), 0)
        let rates = (801...1000).map { cooled.rate(step: $0) }
        XCTAssertTrue(zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 }, "strictly falling")
        // A cool-down longer than the run starts below 1 and still ends at 1/updates.
        let long = LearningRateSchedule(peak: 5e-4, warmup: 100, coolDown: .init(end: 50, updates: 100))
        XCTAssertEqual(long.rate(step: 1), base.rate(step: 1) * 0.5, accuracy: 1e-18)
        XCTAssertEqual(long.rate(step: 50), base.rate(step: 50) / 100, accuracy: 1e-18)
    }

    func testXavierUniformBoundsAndVariance() {
        let (fanIn, fanOut) = (300, 200)
        var values = [Float](repeating: 0, count: fanIn * fanOut)
        var generator = SeededGenerator(seed: 9)
        values.withUnsafeMutableBufferPointer { Initialization.xavierUniform($0, fanIn: fanIn, fanOut: fanOut, generator: &generator) }
        let bound = (6.0 / Double(fanIn + fanOut)).squareRoot()
        XCTAssertLessThanOrEqual(Double(values.map(abs).max()!), bound)
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(values.count) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.01 * bound)
        // U(−a, a) has variance a²/3 = 2 / (fanIn + fanOut).
        XCTAssertEqual(variance, 2 / Double(fanIn + fanOut), accuracy: 0.02 * 2 / Double(fanIn + fanOut))
    }
}

/// Attention dropout: the forward against a dropped-probability reference, the backward by
/// finite differences with the mask held fixed (the tape's generator reseeded for every evaluation).
final class AttentionDropoutTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testForwardKeepsUndroppedProbabilitiesAndDropsInTheWeightedSum() {
        let (B, T, S, H, Dh) = (2, 3, 4, 2, 3)
        let D = H * Dh
        let q = GradientCheck.random([B, T, D], seed: 1), kv = GradientCheck.random([B, S, 2 * D], seed: 2)
        let padding: [UInt8] = [0, 0, 0, 0, 0, 0, 1, 1]
        let p: Float = 0.4
        let tape = Tape(recording: false, training: true, generator: SeededGenerator(seed: 3))
        let (out, probabilities) = tape.attention(query: q, queryColumn: 0, keyValue: kv, keyColumn: 0, valueColumn: D,
                                                  heads: H, keyPadding: padding, causal: false, dropout: p)
        let (_, undropped) = Tape.inference.attention(query: q, queryColumn: 0, keyValue: kv, keyColumn: 0, valueColumn: D,
                                                      heads: H, keyPadding: padding, causal: false)
        XCTAssertEqual(probabilities.values, undropped.values, "the probabilities returned are before dropout")
        var generator = SeededGenerator(seed: 3)
        let mask = Kernels.dropoutMask(count: B * H * T * S, probability: p, generator: &generator)
        XCTAssertTrue(mask.contains(0) && mask.contains(1))
        for b in 0..<B { for t in 0..<T { for h in 0..<H { for d in 0..<Dh {
            var expected: Float = 0
            for s in 0..<S {
                let i = ((b * H + h) * T + t) * S + s
                expected += undropped.data[i] * Float(mask[i]) / (1 - p) * kv.data[(b * S + s) * 2 * D + D + h * Dh + d]
            }
            XCTAssertEqual(out.data[(b * T + t) * D + h * Dh + d], expected, accuracy: 1e-5)
        } } } }
    }

    func testBackwardWithFixedMaskMatchesFiniteDifferences() {
        let (B, T, H, Dh) = (2, 4, 2, 3)
        let qkv = GradientCheck.random([B, T, 3 * H * Dh], seed: 4)
        let padding: [UInt8] = [0, 0, 0, 0, 0, 0, 1, 1]
        let r = GradientCheck.randomArray(B * T * H * Dh, seed: 5)
        for causal in [false, true] {
            GradientCheck.check(inputs: [qkv]) { tape in
                tape.isTraining = true
                tape.generator = SeededGenerator(seed: 6)  // the same mask at every evaluation
                let (out, _) = tape.attention(query: qkv, queryColumn: 0, keyValue: qkv, keyColumn: H * Dh, valueColumn: 2 * H * Dh,
                                              heads: H, keyPadding: padding, causal: causal, dropout: 0.3)
                return GradientCheck.weightedSum(out, weights: r, tape: tape)
            }
        }
    }
}
