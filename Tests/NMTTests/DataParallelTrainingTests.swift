import Foundation
import NMT
import Tensor
import TestSupport
import Tokenizers
import XCTest

/// Data-parallel training in the engine, without MPI: ranks are threads of this process joined by
/// `ThreadGroup`, each with its own model. N ranks of budget B must follow one process of budget
/// N × B (the same global batches) within 1e-4, and end with bit-identical parameters. Dropout is
/// 0: ranks draw their masks from streams of their own. The same under `mpirun`:
/// CommandTests/DistributedTrainingTests.
final class DataParallelTrainingTests: XCTestCase {
    var tokenizer: Tokenizer!
    var data: TrainingData!
    var output: URL!

    override func setUpWithError() throws {
        Parallel.configure(threads: 1)
        tokenizer = try Tokenizer(contentsOf: Fixtures.packageRoot.appendingPathComponent("vocab/walkthrough.json"))
        let corpus = try ParallelCorpus(tsv: Fixtures.packageRoot.appendingPathComponent("corpora/walkthrough.tsv"))
        data = TrainingData(corpus: corpus, tokenizer: tokenizer, maxLength: 64)
        output = try Fixtures.temporaryDirectory("nmt-data-parallel")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: output)
    }

    func config() -> ModelConfig {
        var config = ModelPreset.tiny.config(vocabularySize: tokenizer.vocabularySize, maxPositions: 64)
        (config.modelWidth, config.encoderFeedForwardWidth, config.decoderFeedForwardWidth) = (32, 64, 64)
        (config.encoderLayers, config.decoderLayers) = (1, 1)
        (config.dropout, config.attentionDropout, config.activationDropout) = (0, 0, 0)
        return config
    }

    /// The run of `config()` with a per-process budget of `tokenBudget` tokens.
    func run(tokenBudget: Int, maxSteps: Int) -> TrainingRun {
        var run = TrainingRun()
        (run.model.preset, run.model.maxPositions) = (.tiny, 64)
        (run.model.dModel, run.model.ffn, run.model.encoderLayers, run.model.decoderLayers) = (32, 64, 1, 1)
        (run.model.dropout, run.model.attentionDropout, run.model.activationDropout) = (0, 0, 0)
        run.optimization.seed = 3
        run.optimization.epochs = 100
        run.optimization.maxSteps = maxSteps
        run.optimization.batchTokens = tokenBudget
        run.schedule.warmup = 5
        run.schedule.learningRate = 3e-3
        run.reporting.logEvery = 1
        return run
    }

    func testTheRunDeclaresTheModelOfTheseTests() throws {
        XCTAssertEqual(try run(tokenBudget: 48, maxSteps: 1).modelConfig(for: tokenizer).jsonData(), try config().jsonData())
    }

    func testSharesDealABatchOutInTurn() {
        let batch = [10, 11, 12, 13, 14, 15, 16]
        XCTAssertEqual(Batcher.share(of: batch, rank: 0, ranks: 3), [10, 13, 16])
        XCTAssertEqual(Batcher.share(of: batch, rank: 1, ranks: 3), [11, 14])
        XCTAssertEqual(Batcher.share(of: batch, rank: 2, ranks: 3), [12, 15])
        XCTAssertEqual(Batcher.share(of: [4, 5], rank: 2, ranks: 3), [], "more ranks than pairs: an empty share")
        XCTAssertEqual(Batcher.share(of: batch, rank: 0, ranks: 1), batch)
    }

    /// Trains `ranks` trainers on threads; returns rank 0's (step → loss) and every rank's parameters.
    func trainTogether(ranks: Int, tokenBudget: Int, maxSteps: Int) throws -> (losses: [Int: Double], parameters: [[Float]]) {
        let hub = ThreadGroup.Hub(size: ranks)
        var losses: [Int: Double] = [:]
        let trainers = try (0..<ranks).map { rank in
            try Trainer(run: run(tokenBudget: tokenBudget, maxSteps: maxSteps), tokenizer: tokenizer,
                        output: output.appendingPathComponent("ranks-\(ranks)"), group: ThreadGroup(rank: rank, hub: hub),
                        onEvent: { event in if case .progress(let p) = event { losses[p.step] = p.loss } })
        }
        let outcomes = UnsafeMutableBufferPointer<Trainer.Outcome?>.allocate(capacity: ranks)
        outcomes.initialize(repeating: nil)
        defer { outcomes.deallocate() }
        let data = self.data!
        ThreadGroup.run(ranks: ranks) { rank in
            outcomes[rank] = try? trainers[rank].train(on: data, validation: nil)
        }
        for rank in 0..<ranks { XCTAssertEqual(outcomes[rank], .finished, "rank \(rank)") }
        let parameters = trainers.map { Array(UnsafeBufferPointer(start: $0.model.parameters.values, count: $0.model.parameters.count)) }
        return (losses, parameters)
    }

    func testThreeRanksFollowOneProcessOnTheSameGlobalBatches() throws {
        let steps = 12
        var aloneLosses: [Int: Double] = [:]
        let alone = try Trainer(run: run(tokenBudget: 3 * 48, maxSteps: steps), tokenizer: tokenizer, output: output.appendingPathComponent("alone"),
                                onEvent: { event in if case .progress(let p) = event { aloneLosses[p.step] = p.loss } })
        XCTAssertEqual(try alone.train(on: data, validation: nil), .finished)
        let together = try trainTogether(ranks: 3, tokenBudget: 48, maxSteps: steps)

        XCTAssertEqual(Set(together.losses.keys), Set(1...steps))
        var largest = 0.0
        for step in 1...steps {
            let (a, b) = (try XCTUnwrap(together.losses[step]), try XCTUnwrap(aloneLosses[step]))
            largest = max(largest, abs(a - b) / abs(b))
        }
        print("3 thread ranks against 1 process: largest relative loss difference \(largest)")
        XCTAssertLessThanOrEqual(largest, 1e-4)
        XCTAssertLessThan(aloneLosses[steps]!, aloneLosses[1]! - 0.5, "the runs learn something")
        XCTAssertEqual(together.parameters[1], together.parameters[0], "ranks 0 and 1 differ")
        XCTAssertEqual(together.parameters[2], together.parameters[0], "ranks 0 and 2 differ")
        // Rank 0 alone wrote the model and the checkpoints.
        XCTAssertNoThrow(try ModelDirectory.loadModel(from: output.appendingPathComponent("ranks-3")))
    }

    /// A batch of 2 pairs over 3 ranks: one share is empty, its rank still takes part, and the
    /// update equals the single process's.
    func testARankWithAnEmptyShareStillJoinsTheUpdate() throws {
        let pairs = [0, 1]
        let tokens = pairs.reduce(0) { $0 + data.targets[$1].count }
        func updater() -> ParameterUpdater {
            let model = Transformer(config: self.config())
            var generator = SeededGenerator(seed: 5)
            model.initializeForTraining(generator: &generator)
            return ParameterUpdater(model: model, schedule: LearningRateSchedule(peak: 1e-3, warmup: 1), clipNorm: 1, labelSmoothing: 0.1)
        }
        let config = self.config()
        let alone = updater()
        var generator = SeededGenerator(seed: 9)
        let expected = alone.train(data.batch(pairs, padId: config.padId, decoderStartId: config.decoderStartId), generator: &generator)

        let hub = ThreadGroup.Hub(size: 3)
        let updaters = (0..<3).map { _ in updater() }
        let results = UnsafeMutableBufferPointer<StepResult?>.allocate(capacity: 3)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let trainingData = self.data!
        ThreadGroup.run(ranks: 3) { rank in
            let share = Batcher.share(of: pairs, rank: rank, ranks: 3)
            var dropout = SeededGenerator(seed: UInt64(rank))
            results[rank] = updaters[rank].train(
                share: share.isEmpty ? nil : trainingData.batch(share, padId: config.padId, decoderStartId: config.decoderStartId),
                batchTargetTokens: tokens, group: ThreadGroup(rank: rank, hub: hub), generator: &dropout)
        }
        for rank in 0..<3 {
            let result = try XCTUnwrap(results[rank])
            XCTAssertEqual(Double(result.loss), Double(expected.loss), accuracy: 1e-6 * Double(expected.loss), "rank \(rank)")
            XCTAssertEqual(result.gradientNorm, expected.gradientNorm, accuracy: 1e-5 * expected.gradientNorm, "rank \(rank)")
            XCTAssertEqual(result.targetTokens, tokens)
        }
        let values = { (u: ParameterUpdater) in Array(UnsafeBufferPointer(start: u.model.parameters.values, count: u.model.parameters.count)) }
        let gradients = { (u: ParameterUpdater) in Array(UnsafeBufferPointer(start: u.model.parameters.gradients, count: u.model.parameters.count)) }
        XCTAssertEqual(values(updaters[1]), values(updaters[0]))
        XCTAssertEqual(values(updaters[2]), values(updaters[0]))
        // The summed gradient is the whole batch's. (Not the parameters after Adam: its first
        // step moves each parameter by ±lr whatever the size of its gradient, so a gradient of
        // nearly 0 flips its step with any rounding.)
        let reference = gradients(alone)
        let scale = reference.map(abs).max()!
        let difference = zip(reference, gradients(updaters[0])).map { abs($0 - $1) }.max()!
        print("empty share: largest gradient difference \(difference) (largest gradient \(scale))")
        XCTAssertGreaterThan(scale, 1e-3)
        XCTAssertLessThanOrEqual(difference, 1e-5 * scale)
    }
}

/// Ranks as threads of one process: every collective gathers all ranks' values and combines them
/// in rank order, so every rank gets the same bits (as MPI's all-reduce gives).
final class ThreadGroup: TrainingGroup {
    final class Hub: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var slots: [[Double]?]
        private var gathered: [[Double]] = []
        private var arrived = 0
        private var round = 0

        init(size: Int) {
            self.size = size
            slots = Array(repeating: nil, count: size)
        }

        /// Every rank's `values`, in rank order, once all ranks have called.
        func allGather(rank: Int, _ values: [Double]) -> [[Double]] {
            condition.lock()
            defer { condition.unlock() }
            let myRound = round
            slots[rank] = values
            arrived += 1
            if arrived == size {
                // Nobody overwrites `gathered` before every rank has read it: that takes a new
                // round, which needs every rank to arrive again.
                gathered = slots.map { $0! }
                slots = Array(repeating: nil, count: size)
                arrived = 0
                round += 1
                condition.broadcast()
            } else {
                while round == myRound { condition.wait() }
            }
            return gathered
        }
    }

    let rank: Int
    let hub: Hub
    var size: Int { hub.size }

    init(rank: Int, hub: Hub) {
        self.rank = rank
        self.hub = hub
    }

    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        let all = hub.allGather(rank: rank, (0..<count).map { Double(buffer[$0]) })
        for i in 0..<count {
            var sum: Float = 0
            for contribution in all { sum += Float(contribution[i]) }
            buffer[i] = sum
        }
    }

    func allReduceSum(_ values: [Double]) -> [Double] {
        let all = hub.allGather(rank: rank, values)
        return values.indices.map { i in all.reduce(0) { $0 + $1[i] } }
    }

    func broadcastFromFirst(_ values: [Double]) -> [Double] {
        hub.allGather(rank: rank, values)[0]
    }

    func abort(_ message: String) -> Never {
        fatalError(message)
    }

    /// Runs `body(rank)` for every rank, each on a thread of its own (a thread pool with fewer
    /// threads than ranks would leave ranks waiting for one that never starts), and waits for all.
    static func run(ranks: Int, _ body: @escaping (Int) -> Void) {
        let finished = DispatchSemaphore(value: 0)
        for rank in 0..<ranks {
            let thread = Thread {
                body(rank)
                finished.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<ranks { finished.wait() }
    }
}
