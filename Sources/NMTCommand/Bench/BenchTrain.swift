import ArgumentParser
import Foundation
import NMT
import Tensor

/// `nmt bench train`: training throughput on the benchmark shape of torch_train_ref.py — the small
/// preset (D 256, H 4, F 1024, 3+3 layers), V 8000, a batch of 128 random sources of 18 tokens and
/// targets of 20, dropout 0.1 everywhere, label smoothing 0.1, Adam — timed step by step.
///
/// Under `mpirun -np N` (a build with the MPI trait) the ranks share each batch, as `nmt train`
/// does, and rank 0 reports the whole batch's tokens/s and the share of the step spent summing
/// gradients over the ranks.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training speed: target tokens/s, peak memory, and GFLOP/s against a plain sgemm."
    )

    @OptionGroup var options: BenchmarkOptions

    @OptionGroup var computation: ThreadOptions
    @Option(help: "Sentence pairs a batch.")
    var batch = 128
    @Option(help: "Source tokens a sentence.")
    var sourceLength = 18
    @Option(help: "Target tokens a sentence.")
    var targetLength = 20
    @Option(help: "Vocabulary size.")
    var vocabulary = 8000
    @Option(help: "Untimed steps first.")
    var warmup = 2

    func run() throws {
        let group = try DistributedTraining.join()
        try DistributedTraining.run(in: group) {
            if group.isDistributed { try runDistributed(in: group) } else { try runAlone() }
        }
    }

    /// The benchmark's model (the small preset, initialized from seed 0) and a batch of random ids,
    /// the same on every rank; `generator` goes on from where the draws ended (dropout's stream).
    func makeModelAndBatch() -> (config: ModelConfig, model: Transformer, sources: [[Int]], targets: [[Int]],
                                 generator: SeededGenerator) {
        computation.configure()
        let config = ModelPreset.small.config(vocabularySize: vocabulary)
        let model = Transformer(config: config)
        var generator = SeededGenerator(seed: 0)
        model.initializeForTraining(generator: &generator)
        func randomSequence(_ length: Int) -> [Int] {
            // Any id but EOS (0) and pad (V − 1), as the reference draws ids 4 ..< V.
            (0..<length).map { _ in 1 + Int(generator.next() % UInt64(vocabulary - 2)) }
        }
        let sources = (0..<batch).map { _ in randomSequence(sourceLength) }
        let targets = (0..<batch).map { _ in randomSequence(targetLength) }
        return (config, model, sources, targets, generator)
    }

    func runAlone() throws {
        let (config, model, sources, targets, drawn) = makeModelAndBatch()
        var generator = drawn
        let data = TeacherForcedBatch(sources: sources, targets: targets,
                                      padId: config.padId, decoderStartId: config.decoderStartId)
        let updater = ParameterUpdater(model: model, schedule: LearningRateSchedule(peak: 1e-4, warmup: 1),
                                       clipNorm: nil, labelSmoothing: 0.1)
        for _ in 0..<warmup { _ = updater.train(data, generator: &generator) }
        let seconds = medianSeconds(repeats: options.repeats) { _ = updater.train(data, generator: &generator) }
        let peakMemory = TrainingMemory.peakResidentMegabytes()  // before the sgemm's buffers below
        let flops = Self.trainingFlops(config: config, batch: batch, sourceLength: sourceLength, targetLength: targetLength)

        // The largest GEMM of the step (the output projection) alone, same threads, same process.
        let (m, n, k) = (batch * targetLength, vocabulary, config.modelWidth)
        let a = Tensor(zeros: [m, k]), b = Tensor(zeros: [n, k]), c = Tensor(zeros: [m, n])
        a.fill(0.01); b.fill(0.02)
        let gemmSeconds = medianSeconds(repeats: max(options.repeats, 5)) {
            BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, a: a.data, b: b.data, c: c.data)
        }
        let gemmRate = 2 * Double(m * n * k) / gemmSeconds / 1e9
        let achieved = flops / seconds / 1e9
        let name = "train"
        options.report([
            BenchmarkFigure(benchmark: name, metric: "target tokens/s", value: Double(batch * targetLength) / seconds, unit: "tok/s"),
            BenchmarkFigure(benchmark: name, metric: "step time", value: seconds * 1000, unit: "ms"),
            BenchmarkFigure(benchmark: name, metric: "peak memory", value: peakMemory, unit: "MB"),
            BenchmarkFigure(benchmark: name, metric: "achieved", value: achieved, unit: "GFLOP/s"),
            BenchmarkFigure(benchmark: name, metric: "sgemm \(m)x\(n)x\(k)", value: gemmRate, unit: "GFLOP/s"),
            BenchmarkFigure(benchmark: name, metric: "achieved / sgemm", value: achieved / gemmRate, unit: "ratio"),
        ])
    }

    /// The same batch shared among the ranks of `group`: tokens/s of the whole batch, the step
    /// time, the all-reduce's time within the step (with the wait for the slower rank) and
    /// alone (the ranks in step, the gradient buffer summed again: median and fastest of 20).
    func runDistributed(in group: TrainingGroup) throws {
        // Every rank draws the whole batch from the same seed and keeps its share.
        let (config, model, sources, targets, _) = makeModelAndBatch()
        let share = Batcher.share(of: Array(0..<batch), rank: group.rank, ranks: group.size)
        let data = share.isEmpty ? nil : TeacherForcedBatch(sources: share.map { sources[$0] }, targets: share.map { targets[$0] },
                                                            padId: config.padId, decoderStartId: config.decoderStartId)
        var dropout = SeededGenerator(seed: 1 + UInt64(group.rank))
        let updater = ParameterUpdater(model: model, schedule: LearningRateSchedule(peak: 1e-4, warmup: 1),
                                       clipNorm: nil, labelSmoothing: 0.1)
        let batchTokens = batch * targetLength
        for _ in 0..<warmup { _ = updater.train(share: data, batchTargetTokens: batchTokens, group: group, generator: &dropout) }
        var reduction: [Double] = []
        let seconds = medianSeconds(repeats: options.repeats) {
            reduction.append(updater.train(share: data, batchTargetTokens: batchTokens, group: group, generator: &dropout).reductionSeconds)
        }
        let parameters = model.parameters
        // Cheap enough to repeat: the fastest of 20 is the cost when neither rank is descheduled.
        var aloneTimes: [Double] = []
        for _ in 0..<max(options.repeats, 20) {
            _ = group.allReduceSum([0])  // start together, so no rank's wait is counted
            let start = DispatchTime.now().uptimeNanoseconds
            group.allReduceSum(parameters.gradients, count: parameters.count)
            aloneTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        aloneTimes.sort()
        let (alone, fastest) = (aloneTimes[aloneTimes.count / 2], aloneTimes[0])
        let peakMemory = TrainingMemory.peakResidentMegabytes()
        reduction.sort()
        let reductionMedian = reduction[reduction.count / 2]
        let name = "train \(group.size) ranks"
        options.report([
            BenchmarkFigure(benchmark: name, metric: "target tokens/s", value: Double(batchTokens) / seconds, unit: "tok/s"),
            BenchmarkFigure(benchmark: name, metric: "step time", value: seconds * 1000, unit: "ms"),
            BenchmarkFigure(benchmark: name, metric: "all-reduce in step", value: reductionMedian * 1000, unit: "ms"),
            BenchmarkFigure(benchmark: name, metric: "all-reduce share", value: reductionMedian / seconds, unit: "ratio"),
            BenchmarkFigure(benchmark: name, metric: "all-reduce alone", value: alone * 1000, unit: "ms"),
            BenchmarkFigure(benchmark: name, metric: "all-reduce alone, fastest", value: fastest * 1000, unit: "ms"),
            BenchmarkFigure(benchmark: name, metric: "all-reduce bandwidth, fastest", value: Double(parameters.count * 4) / fastest / 1e9, unit: "GB/s"),
            BenchmarkFigure(benchmark: name, metric: "peak memory per rank", value: peakMemory, unit: "MB"),
        ])
    }

    /// Matrix-multiply FLOPs of one training step: 3 × those of the forward (the backward computes
    /// two products for each of the forward's), counting 2 per multiply-add.
    static func trainingFlops(config: ModelConfig, batch B: Int, sourceLength S: Int, targetLength T: Int) -> Double {
        let (D, F, V) = (Double(config.modelWidth), Double(config.encoderFeedForwardWidth), Double(config.vocabularySize))
        let sourceRows = Double(B * S), targetRows = Double(B * T)
        let (s, t) = (Double(S), Double(T))
        let encoderLayer = sourceRows * (2 * D * 3 * D + 2 * D * D + 4 * D * F) + 4 * Double(B) * s * s * D
        let decoderLayer = targetRows * (2 * D * 3 * D + 2 * D * D + 2 * D * D + 2 * D * D + 4 * D * F)
            + sourceRows * 2 * D * 2 * D + 4 * Double(B) * t * t * D + 4 * Double(B) * t * s * D
        let forward = Double(config.encoderLayers) * encoderLayer + Double(config.decoderLayers) * decoderLayer
            + targetRows * 2 * D * V
        return 3 * forward
    }
}
