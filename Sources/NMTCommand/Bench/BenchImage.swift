import ArgumentParser
import Foundation
import ImageClassification
import ImageKernels
import NMT
import Tensor

/// `nmt bench image`: AttentionNet training throughput on the shape of attentionnet_ref.py's timing
/// mode — a fixed batch of random N(0, 1) images (128 by default) with random labels, SGD with
/// momentum 0.9 and weight decay 5e-4 at lr 0.05 — timed step by step; and inference throughput.
struct BenchImage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "AttentionNet speed: training and inference images/s, and GFLOP/s against a plain sgemm."
    )

    @OptionGroup var options: BenchmarkOptions

    @OptionGroup var computation: ThreadOptions
    @Option(help: "Images a training step.")
    var batch = 128
    @Option(help: "Untimed steps first.")
    var warmup = 2
    @Option(help: "Training steps a timed repetition.")
    var steps = 4

    func validate() throws {
        for (name, value) in [("--batch", batch), ("--steps", steps)] where value < 1 {
            throw CommandError("\(name) must be at least 1, got \(value)")
        }
        guard warmup >= 0 else { throw CommandError("--warmup must be 0 or more, got \(warmup)") }
    }

    func run() throws {
        computation.configure()
        let threads = computation.threads
        let model = AttentionNet(config: AttentionNetConfig(normalization: .init(mean: 0, std: 1),
                                                            classNames: (0..<10).map { "class \($0)" }))
        var generator = SeededGenerator(seed: 0)
        model.initialize(generator: &generator)
        let images = Tensor((0..<(batch * 28 * 28)).map { _ in generator.nextNormal() }, shape: [batch, 1, 28, 28])
        let labels = (0..<batch).map { _ in Int32(generator.next() % 10) }
        // The reference's fixed lr 0.05, momentum 0.9: a one-cycle schedule would only change the numbers, not the work.
        let optimizer = SGD(parameterCount: model.trainableCount, weightDecay: 5e-4)
        func step() {
            model.parameters.zeroGradients()
            let tape = Tape(recording: true, training: true)
            let loss = tape.crossEntropy(model.forward(images, tape: tape, training: true).logits, labels: labels)
            tape.backward(from: loss)
            optimizer.update(parameters: model.parameters.values, gradients: model.parameters.gradients, learningRate: 0.05, momentum: 0.9)
        }
        for _ in 0..<warmup { step() }
        let seconds = medianSeconds(repeats: options.repeats) { for _ in 0..<steps { step() } } / Double(steps)
        let peakMemory = TrainingMemory.peakResidentMegabytes()

        let pixels = (0..<(batch * 28 * 28)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let inferenceSeconds = medianSeconds(repeats: options.repeats) { _ = model.logits(pixels: pixels, count: batch) }

        // The largest convolution's product (res1.conv2 for one image: 128 × 196 × 1152) alone, one thread per image.
        let (m, n, k) = (128, 196, 1152)
        let a = Tensor(zeros: [m, k]), b = Tensor(zeros: [k, n]), c = Tensor(zeros: [m, n])
        a.fill(0.01); b.fill(0.02)
        let repetitions = 50
        let gemmSeconds = medianSeconds(repeats: 5) {
            Parallel.forEach(threads) { _ in
                let cc = Tensor(zeros: [m, n])
                for _ in 0..<repetitions { BLAS.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a.data, b: b.data, c: cc.data, splitAcrossThreads: false) }
            }
        }
        _ = c
        let gemmRate = 2 * Double(m * n * k * repetitions * threads) / gemmSeconds / 1e9
        // The FLOPs a direct convolution would spend, over the step time: where Winograd saves
        // multiplications this rate can pass the plain sgemm's.
        let directEquivalent = 3 * Self.forwardFlopsPerImage * Double(batch) / seconds / 1e9
        let name = "image"
        options.report([
            BenchmarkFigure(benchmark: name, metric: "training images/s", value: Double(batch) / seconds, unit: "images/s"),
            BenchmarkFigure(benchmark: name, metric: "step time", value: seconds * 1000, unit: "ms"),
            BenchmarkFigure(benchmark: name, metric: "inference images/s", value: Double(batch) / inferenceSeconds, unit: "images/s"),
            BenchmarkFigure(benchmark: name, metric: "peak memory", value: peakMemory, unit: "MB"),
            BenchmarkFigure(benchmark: name, metric: "direct-equivalent", value: directEquivalent, unit: "GFLOP/s"),
            BenchmarkFigure(benchmark: name, metric: "sgemm \(m)x\(n)x\(k)", value: gemmRate, unit: "GFLOP/s"),
            BenchmarkFigure(benchmark: name, metric: "direct-equivalent / sgemm", value: directEquivalent / gemmRate, unit: "ratio"),
        ])
    }

    /// Multiply-add FLOPs (2 each) of one image's forward computed directly: the convolutions (as
    /// seven-loop sums, whatever algorithm runs them), the attention's products and the classifier.
    static let forwardFlopsPerImage: Double = {
        func conv(_ c: Int, _ o: Int, _ k: Int, _ pixels: Int) -> Double { 2 * Double(c * k * k * o * pixels) }
        let convolutions = conv(1, 64, 3, 784) + conv(64, 128, 3, 196) + conv(128, 128, 3, 196) + conv(64, 128, 1, 196)
            + conv(128, 256, 3, 49) + conv(256, 256, 3, 49) + conv(128, 256, 1, 49) + conv(256, 320, 1, 49)
        let attention = 2 * Double(49 * 49 * 32 + 49 * 49 * 256)
        return convolutions + attention + 2 * 256 * 10
    }()
}
