import ImageKernels
import Tensor
import XCTest

/// The image-model kernels against their naive references (forward) and finite differences
/// (backward), on odd shapes, strides and paddings; SGD and the one-cycle schedule against numbers
/// PyTorch computed.
final class ImageKernelTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    /// (N, C, H, W, O, K, stride, padding): the network's 3×3 pad 1, 3×3 stride 2, 1×1 stride 2
    /// and pointwise cases, plus odd sizes and a kernel wider than its padding allows at the edge.
    /// Small maps put several images in one product (`Kernels.imagesPerProduct`); 28×28 and
    /// 14×14 maps (one image a product) are covered by AttentionNetTests against PyTorch.
    let convolutionCases: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 1, 6, 6, 3, 3, 1, 1), (3, 4, 7, 7, 5, 3, 2, 1), (2, 3, 7, 5, 4, 1, 2, 0),
        (3, 6, 3, 3, 5, 1, 1, 0), (1, 2, 5, 6, 3, 2, 3, 2), (2, 3, 4, 4, 2, 5, 1, 2),
        // 7×7 outputs go four images to a product: groups of 4 and 2, 3×3 and pointwise.
        (6, 3, 7, 7, 4, 3, 1, 1), (6, 4, 7, 7, 5, 1, 1, 0),
        // One image alone: a pointwise product straight into y and dx.
        (1, 3, 4, 4, 2, 1, 1, 0),
        // "Same" convolutions with a kernel as large as or larger than the image (shifts past the plane).
        (2, 2, 2, 3, 3, 5, 1, 2), (1, 1, 1, 1, 2, 7, 1, 3),
    ]

    func testConvolutionMatchesReference() {
        for (N, C, H, W, O, K, stride, padding) in convolutionCases {
            let shape = ConvolutionShape(batch: N, inChannels: C, height: H, width: W, outChannels: O, kernelSize: K, stride: stride, padding: padding)
            let x = GradientCheck.randomArray(N * C * H * W, seed: 100)
            let w = GradientCheck.randomArray(O * C * K * K, seed: 101)
            let b = GradientCheck.randomArray(O, seed: 102)
            let expected = ReferenceKernels.convolution(x: x, weight: w, bias: b, shape: shape)
            let y = Tape.inference.conv2d(Tensor(x, shape: [N, C, H, W]), weight: Tensor(w, shape: [O, C, K, K]),
                                          bias: Tensor(b, shape: [O]), stride: stride, padding: padding)
            XCTAssertEqual(y.shape, [N, O, shape.outHeight, shape.outWidth])
            XCTAssertLessThanOrEqual(maxDifference(y.values, expected), 1e-4, "conv \(shape)")
        }
    }

    func testConvolutionBackward() {
        for (index, (N, C, H, W, O, K, stride, padding)) in convolutionCases.enumerated() {
            let seed = UInt64(110 + 4 * index)
            let x = GradientCheck.random([N, C, H, W], seed: seed), w = GradientCheck.random([O, C, K, K], seed: seed + 1)
            let b = GradientCheck.random([O], seed: seed + 2)
            let shape = ConvolutionShape(batch: N, inChannels: C, height: H, width: W, outChannels: O, kernelSize: K, stride: stride, padding: padding)
            let r = GradientCheck.randomArray(N * O * shape.outPixels, seed: seed + 3)
            GradientCheck.check(inputs: [x, w, b]) { tape in
                GradientCheck.weightedSum(tape.conv2d(x, weight: w, bias: b, stride: stride, padding: padding), weights: r, tape: tape)
            }
        }
    }

    /// An input that feeds two convolutions gets the sum of both gradients (the accumulate path).
    func testConvolutionGradientAccumulatesOverConsumers() {
        let x = GradientCheck.random([2, 3, 5, 5], seed: 140)
        let w1 = GradientCheck.random([4, 3, 3, 3], seed: 141), w2 = GradientCheck.random([4, 3, 1, 1], seed: 142)
        let r = GradientCheck.randomArray(2 * 4 * 9, seed: 143)
        GradientCheck.check(inputs: [x, w1, w2]) { tape in
            let a = tape.conv2d(x, weight: w1, bias: nil, stride: 2, padding: 1)
            let b = tape.conv2d(x, weight: w2, bias: nil, stride: 2)
            return GradientCheck.weightedSum(tape.add(a, b), weights: r, tape: tape)
        }
    }

    func testBatchNormMatchesReferenceAndUpdatesRunningStatistics() {
        for (N, C, H, W) in [(2, 3, 4, 5), (5, 7, 1, 1), (3, 2, 7, 7)] {
            let x = GradientCheck.randomArray(N * C * H * W, seed: 150, scale: 3).map { $0 + 1.5 }
            let w = GradientCheck.randomArray(C, seed: 151), b = GradientCheck.randomArray(C, seed: 152)
            for relu in [false, true] {
                let expected = ReferenceKernels.batchNorm(x: x, batch: N, channels: C, pixels: H * W, weight: w, bias: b, epsilon: 1e-5, relu: relu)
                let runningMean = Tensor([Float](repeating: 0.5, count: C), shape: [C])
                let runningVariance = Tensor([Float](repeating: 2, count: C), shape: [C])
                let y = Tape.inference.batchNorm(Tensor(x, shape: [N, C, H, W]), weight: Tensor(w, shape: [C]), bias: Tensor(b, shape: [C]),
                                                 runningMean: runningMean, runningVariance: runningVariance, training: true, relu: relu)
                XCTAssertLessThanOrEqual(maxDifference(y.values, expected), 1e-4, "batch norm \(N)×\(C)×\(H)×\(W) relu \(relu)")
                // PyTorch: running ← 0.9·running + 0.1·batch, the variance unbiased (M − 1).
                for c in 0..<C {
                    var values: [Double] = []
                    for n in 0..<N { for p in 0..<(H * W) { values.append(Double(x[(n * C + c) * H * W + p])) } }
                    let m = values.reduce(0, +) / Double(values.count)
                    let unbiased = values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)
                    XCTAssertEqual(Double(runningMean.data[c]), 0.9 * 0.5 + 0.1 * m, accuracy: 1e-5)
                    XCTAssertEqual(Double(runningVariance.data[c]), 0.9 * 2 + 0.1 * unbiased, accuracy: 1e-4)
                }
                // Inference with the running statistics is the affine map they define.
                let z = Tape.inference.batchNorm(Tensor(x, shape: [N, C, H, W]), weight: Tensor(w, shape: [C]), bias: Tensor(b, shape: [C]),
                                                 runningMean: runningMean, runningVariance: runningVariance, training: false, relu: relu)
                var worst: Float = 0
                for i in 0..<x.count {
                    let c = (i / (H * W)) % C
                    var e = (x[i] - runningMean.data[c]) / (runningVariance.data[c] + 1e-5).squareRoot() * w[c] + b[c]
                    if relu { e = max(e, 0) }
                    worst = max(worst, abs(e - z.data[i]))
                }
                XCTAssertLessThanOrEqual(worst, 1e-5)
            }
        }
    }

    func testBatchNormBackward() {
        let x = GradientCheck.random([2, 2, 4, 5], seed: 160, scale: 2), w = GradientCheck.random([2], seed: 161)
        let b = GradientCheck.random([2], seed: 162)
        let r = GradientCheck.randomArray(80, seed: 163)
        GradientCheck.check(inputs: [x, w, b]) { tape in
            GradientCheck.weightedSum(tape.batchNorm(x, weight: w, bias: b, runningMean: nil, runningVariance: nil, training: true),
                                      weights: r, tape: tape)
        }
    }

    /// The fused batch norm + ReLU has the gradients of batch norm followed by the separate ReLU op.
    func testBatchNormReLUBackwardMatchesUnfused() {
        let (N, C, H, W) = (4, 3, 5, 5)
        let r = GradientCheck.randomArray(N * C * H * W, seed: 170)
        func gradients(fused: Bool) -> [[Float]] {
            let x = GradientCheck.random([N, C, H, W], seed: 171, scale: 2), w = GradientCheck.random([C], seed: 172)
            let b = GradientCheck.random([C], seed: 173)
            for t in [x, w, b] { t.requiresGradient = true }
            let tape = Tape()
            let y = fused
                ? tape.batchNorm(x, weight: w, bias: b, runningMean: nil, runningVariance: nil, training: true, relu: true)
                : tape.activation(tape.batchNorm(x, weight: w, bias: b, runningMean: nil, runningVariance: nil, training: true), .relu)
            tape.backward(from: GradientCheck.weightedSum(y, weights: r, tape: tape))
            return [x, w, b].map { $0.gradient!.values }
        }
        for (fused, unfused) in zip(gradients(fused: true), gradients(fused: false)) {
            XCTAssertLessThanOrEqual(maxDifference(fused, unfused), 1e-5)
        }
    }

    func testAddReLUBackward() {
        let a = GradientCheck.random([2, 3, 2, 2], seed: 180), b = GradientCheck.random([2, 3, 2, 2], seed: 181)
        let r = GradientCheck.randomArray(24, seed: 182)
        GradientCheck.check(inputs: [a, b], epsilon: 1e-3) { tape in GradientCheck.weightedSum(tape.addReLU(a, b), weights: r, tape: tape) }
    }

    func testSpatialAttentionMatchesReference() {
        for (N, Cq, C, H, W) in [(1, 1, 1, 1, 1), (2, 2, 5, 3, 3), (3, 4, 9, 7, 7)] {
            let shape = SpatialAttentionShape(batch: N, positions: H * W, queryChannels: Cq, valueChannels: C)
            let qkv = GradientCheck.randomArray(N * shape.projectedChannels * H * W, seed: 190)
            let x = GradientCheck.randomArray(N * C * H * W, seed: 191)
            let gamma: Float = 0.7
            let expected = ReferenceKernels.spatialAttention(qkv: qkv, x: x, gamma: gamma, shape: shape)
            let (y, probabilities) = Tape.inference.spatialSelfAttention(
                qkv: Tensor(qkv, shape: [N, shape.projectedChannels, H, W]), input: Tensor(x, shape: [N, C, H, W]),
                gamma: Tensor([gamma], shape: [1]), queryChannels: Cq)
            XCTAssertLessThanOrEqual(maxDifference(y.values, expected.y), 1e-4, "attention output \(shape)")
            XCTAssertLessThanOrEqual(maxDifference(probabilities.values, expected.probabilities), 1e-5, "attention weights \(shape)")
        }
    }

    func testSpatialAttentionBackward() {
        let (N, Cq, C, H, W) = (2, 2, 3, 2, 3)
        let qkv = GradientCheck.random([N, 2 * Cq + C, H, W], seed: 200), x = GradientCheck.random([N, C, H, W], seed: 201)
        let gamma = Tensor([0.7], shape: [1])
        let r = GradientCheck.randomArray(N * C * H * W, seed: 202)
        GradientCheck.check(inputs: [qkv, x, gamma]) { tape in
            GradientCheck.weightedSum(tape.spatialSelfAttention(qkv: qkv, input: x, gamma: gamma, queryChannels: Cq).output, weights: r, tape: tape)
        }
    }

    /// The whole attention layer as the model uses it: a fused 1×1 q|k|v convolution of x, so x
    /// receives gradient through the projection and the residual.
    func testAttentionLayerBackwardThroughProjection() {
        let (N, Cq, C, H, W) = (2, 1, 3, 3, 3)
        let x = GradientCheck.random([N, C, H, W], seed: 210)
        let weight = GradientCheck.random([2 * Cq + C, C, 1, 1], seed: 211, scale: 0.5), bias = GradientCheck.random([2 * Cq + C], seed: 212)
        let gamma = Tensor([-0.4], shape: [1])
        let r = GradientCheck.randomArray(N * C * H * W, seed: 213)
        GradientCheck.check(inputs: [x, weight, bias, gamma]) { tape in
            let qkv = tape.conv2d(x, weight: weight, bias: bias)
            return GradientCheck.weightedSum(tape.spatialSelfAttention(qkv: qkv, input: x, gamma: gamma, queryChannels: Cq).output,
                                             weights: r, tape: tape)
        }
    }

    func testGlobalAveragePoolMatchesReference() {
        for (N, C, H, W) in [(1, 1, 1, 1), (2, 3, 7, 7), (3, 5, 4, 6)] {
            let x = GradientCheck.randomArray(N * C * H * W, seed: 230, scale: 2)
            let y = Tape.inference.globalAveragePool(Tensor(x, shape: [N, C, H, W]))
            XCTAssertEqual(y.shape, [N, C])
            XCTAssertLessThanOrEqual(maxDifference(y.values, ReferenceKernels.globalAveragePool(x: x, planes: N * C, pixels: H * W)), 1e-6)
        }
    }

    func testGlobalAveragePoolAndCrossEntropyBackward() {
        let x = GradientCheck.random([3, 4, 2, 3], seed: 220)
        let w = GradientCheck.random([5, 4], seed: 221)
        let labels: [Int32] = [4, 0, 2]
        GradientCheck.check(inputs: [x, w]) { tape in
            tape.crossEntropy(tape.linear(tape.globalAveragePool(x), weight: w, bias: nil), labels: labels)
        }
        let logits = GradientCheck.randomArray(15, seed: 222, scale: 3)
        let loss = Tape.inference.crossEntropy(Tensor(logits, shape: [3, 5]), labels: labels).scalar
        let expected = ReferenceKernels.labelSmoothedCrossEntropy(logits: logits, rows: 3, vocabulary: 5, labels: labels, ignoreLabel: nil, smoothing: 0)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5)
    }

    /// torch.optim.SGD(lr 0.1, momentum 0.9, weight_decay 0.01) on p = [1, −2, 0.5] with three
    /// given gradients ends at these values (PyTorch 2, printed by the reference environment).
    func testSGDMatchesPyTorch() {
        let p: [Float] = [1, -2, 0.5]
        let sgd = SGD(parameterCount: 3, weightDecay: 0.01)
        var values = p
        for g: [Float] in [[0.5, 0.1, -0.3], [0.2, -0.4, 0.1], [-0.1, 0.3, 0.2]] {
            sgd.update(parameters: &values, gradients: g, learningRate: 0.1, momentum: 0.9)
        }
        XCTAssertLessThanOrEqual(maxDifference(values, [0.8311047554016113, -1.9698914289474487, 0.539393424987793]), 1e-6)
        XCTAssertEqual(sgd.step, 3)
    }

    /// torch.optim.lr_scheduler.OneCycleLR(max_lr 0.05, total_steps 20) on SGD: the learning rate
    /// and momentum of the param group before each update, printed by the reference environment.
    func testOneCycleScheduleMatchesPyTorch() {
        let schedule = OneCycleSchedule(maximumRate: 0.05, totalSteps: 20)
        let expected: [(Int, Double, Double)] = [
            (0, 0.0020000000000000018, 0.95), (1, 0.006583592135001266, 0.9404508497187474),
            (2, 0.018583592135001263, 0.9154508497187474), (5, 0.05, 0.85),
            (6, 0.04937320031175437, 0.8512536043909088), (10, 0.035847150089565044, 0.878305813044122),
            (19, 2e-07, 0.95),
        ]
        for (step, rate, momentum) in expected {
            let values = schedule.values(step: step)
            XCTAssertEqual(values.rate, rate, accuracy: 1e-12, "rate at step \(step)")
            XCTAssertEqual(values.momentum, momentum, accuracy: 1e-12, "momentum at step \(step)")
        }
    }
}
