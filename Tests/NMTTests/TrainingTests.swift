import Evaluation
import Foundation
import NMT
import Tensor
import TestSupport
import Tokenizers
import XCTest

/// The trainer on the walkthrough corpus with a very small model: batches, initialisation, the
/// pad row, checkpoints that survive a kill, resume that continues bit for bit, divergence.
final class TrainingTests: XCTestCase {
    static let corpusURL = Fixtures.packageRoot.appendingPathComponent("corpora/walkthrough.tsv")
    static let tokenizerURL = Fixtures.packageRoot.appendingPathComponent("vocab/walkthrough.json")

    var tokenizer: Tokenizer!
    var data: TrainingData!
    var output: URL!

    override func setUpWithError() throws {
        Parallel.configure(threads: 1)  // one thread: every run of the same seed is identical
        tokenizer = try Tokenizer(contentsOf: Self.tokenizerURL)
        data = TrainingData(corpus: try ParallelCorpus(tsv: Self.corpusURL), tokenizer: tokenizer, maxLength: 64)
        output = try Fixtures.temporaryDirectory("nmt-training")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: output)
    }

    func config() -> ModelConfig {
        var config = ModelPreset.tiny.config(vocabularySize: tokenizer.vocabularySize, maxPositions: 64)
        (config.modelWidth, config.encoderFeedForwardWidth, config.decoderFeedForwardWidth) = (32, 64, 64)
        config.encoderLayers = 1
        config.decoderLayers = 1
        return config
    }

    /// The run of these tests: the model of `config()`, small batches, a short warm-up to a high peak.
    func run(maxSteps: Int) -> TrainingRun {
        var run = TrainingRun()
        (run.model.preset, run.model.maxPositions) = (.tiny, 64)
        (run.model.dModel, run.model.ffn, run.model.encoderLayers, run.model.decoderLayers) = (32, 64, 1, 1)
        run.optimization.seed = 7
        run.optimization.epochs = 100
        run.optimization.maxSteps = maxSteps
        run.optimization.batchTokens = 256
        run.schedule.warmup = 10
        run.schedule.learningRate = 3e-3
        run.reporting.logEvery = 1
        return run
    }

    func testTheRunDeclaresTheModelOfTheseTests() throws {
        XCTAssertEqual(try run(maxSteps: 1).modelConfig(for: tokenizer).jsonData(), try config().jsonData())
    }

    func testTeacherForcedBatchShiftsTargetsRight() {
        let batch = TeacherForcedBatch(sources: [[5, 6, 0], [7, 0]], targets: [[8, 9, 0], [4, 0]], padId: 99, decoderStartId: 99)
        XCTAssertEqual(batch.decoderInput, [99, 8, 9, 99, 4, 99])
        XCTAssertEqual(batch.labels, [8, 9, 0, 4, 0, 99])
        XCTAssertEqual(batch.targetTokens, 5)
        XCTAssertEqual(batch.source.ids, [5, 6, 0, 7, 0, 99])
    }

    func testInitialisationFollowsTheRules() {
        let model = Transformer(config: config())
        var generator = SeededGenerator(seed: 3)
        model.initializeForTraining(generator: &generator)
        let D = model.config.modelWidth, pad = model.config.padId
        let embedding = model.parameters.values(of: "model.shared.weight")
        XCTAssertEqual(Array(embedding[(pad * D)..<((pad + 1) * D)]), [Float](repeating: 0, count: D), "pad row zero")
        let bound = (6 / Float(model.config.vocabularySize + D)).squareRoot()
        XCTAssertLessThanOrEqual(embedding.map(abs).max()!, bound)
        XCTAssertGreaterThan(embedding.map(abs).max()!, bound * 0.9)
        for entry in model.parameters.entries {
            let values = model.parameters.values(of: entry.name)
            if entry.name.hasSuffix("layer_norm.weight") {
                XCTAssertEqual(Set(values), [1], entry.name)
            } else if entry.shape.count == 1 || !entry.trainable {
                XCTAssertEqual(Set(values), [0], entry.name)
            } else {
                let bound = (6 / Float(entry.shape[0] + entry.shape[1])).squareRoot()
                XCTAssertLessThanOrEqual(values.map(abs).max()!, bound, entry.name)
            }
        }
    }

    func testTrainingLowersTheLossAndNeverMovesThePadRow() throws {
        let trainer = try Trainer(run: run(maxSteps: 30), tokenizer: tokenizer, output: output)
        XCTAssertEqual(try trainer.train(on: data, validation: nil), .finished)
        let losses = try TrainingLog.trainingValues("loss", in: trainer.logURL)
        XCTAssertEqual(losses.count, 30)
        XCTAssertLessThan(losses[30]!, losses[1]! - 1, "30 updates lower the loss")
        let D = trainer.model.config.modelWidth, pad = trainer.model.config.padId
        let row = trainer.model.parameters.values(of: "model.shared.weight")[(pad * D)..<((pad + 1) * D)]
        XCTAssertTrue(row.allSatisfy { $0 == 0 }, "the pad row stays zero")
        // Without validation, --output holds the newest model.
        XCTAssertNoThrow(try ModelDirectory.loadModel(from: output))
    }

    func testResumeEqualsUninterruptedRun() throws {
        let whole = try Trainer(run: run(maxSteps: 24), tokenizer: tokenizer, output: output)
        XCTAssertEqual(try whole.train(on: data, validation: nil), .finished)
        let uninterrupted = try TrainingLog.trainingValues("loss", in: whole.logURL)

        // The same run stopped at step 11 (mid-epoch: an epoch here is 9 batches), then resumed.
        let split = output.appendingPathComponent("split")
        let first = try Trainer(run: run(maxSteps: 11), tokenizer: tokenizer, output: split)
        XCTAssertEqual(try first.train(on: data, validation: nil), .finished)
        XCTAssertEqual(first.state.step, 11)
        XCTAssertGreaterThan(first.state.batchInEpoch, 0, "stopped inside an epoch")
        let resumed = try Trainer.resume(from: split, run: run(maxSteps: 24), output: split)
        XCTAssertEqual(resumed.state.step, 11)
        XCTAssertEqual(try resumed.train(on: data, validation: nil), .finished)
        let splitLosses = try TrainingLog.trainingValues("loss", in: resumed.logURL)
        XCTAssertEqual(splitLosses.count, 24)
        for step in 1...24 {
            XCTAssertEqual(splitLosses[step], uninterrupted[step], "step \(step): resumed runs must repeat the uninterrupted losses exactly")
        }
        XCTAssertEqual(resumed.model.parameters.values(of: "model.shared.weight"), whole.model.parameters.values(of: "model.shared.weight"))
    }

    /// Issue 20, item 2: without --warmup, a tenth of the planned updates, at least 1, at most
    /// the paper's 4000; --warmup, or the warm-up a resumed run settled on, wins.
    func testTheAutomaticWarmupIsATenthOfThePlannedUpdatesUpTo4000() {
        XCTAssertEqual([5, 9, 10, 300, 14_000, 40_000, 1_000_000].map(TrainingRun.automaticWarmup(plannedSteps:)), [1, 1, 1, 30, 1_400, 4_000, 4_000])
        var run = TrainingRun()
        XCTAssertEqual(run.warmup(plannedSteps: 300, settled: nil), 30)
        XCTAssertEqual(run.warmup(plannedSteps: 3_000, settled: 30), 30, "a resumed run keeps its curve")
        run.schedule.warmup = 100
        XCTAssertEqual(run.warmup(plannedSteps: 300, settled: 30), 100)
        XCTAssertEqual(TrainingRun().peakLearningRate, 5e-4, "the default preset, small, keeps its rate")
        run.model.preset = .tiny
        XCTAssertEqual(run.peakLearningRate, 3e-3)
    }

    func testCoolDownEndsAtTheLastUpdateOfAResumedRun() throws {
        // 14 updates at the plain schedule, then resumed to 30 with the last 10 cooling down: the
        // ramp is placed by the run's end, whichever process reaches it.
        let first = try Trainer(run: run(maxSteps: 14), tokenizer: tokenizer, output: output)
        XCTAssertEqual(try first.train(on: data, validation: nil), .finished)
        var run = run(maxSteps: 30)
        run.schedule.coolDown = 10
        var messages: [String] = []
        let resumed = try Trainer.resume(from: output, run: run, output: output,
                                         onEvent: { if case .message(let text) = $0 { messages.append(text) } })
        XCTAssertEqual(try resumed.train(on: data, validation: nil), .finished)
        XCTAssertTrue(messages.contains { $0.contains("updates 21–30") }, "\(messages)")
        let rates = try TrainingLog.trainingValues("learning_rate", in: resumed.logURL)
        let plain = LearningRateSchedule(peak: run.peakLearningRate, warmup: try XCTUnwrap(run.schedule.warmup))
        for step in 1...20 { XCTAssertEqual(rates[step]!, plain.rate(step: step), accuracy: 1e-15, "step \(step)") }
        for step in 21...30 {
            XCTAssertEqual(rates[step]!, plain.rate(step: step) * Double(31 - step) / 10, accuracy: 1e-15, "step \(step)")
        }
    }

    func testABranchLogStartsWithTheHistoryOfItsCheckpoint() throws {
        let first = try Trainer(run: run(maxSteps: 6), tokenizer: tokenizer, output: output)
        XCTAssertEqual(try first.train(on: data, validation: nil), .finished)
        let original = try String(contentsOf: first.logURL, encoding: .utf8)
        // The original also logged a step past the checkpoint the branch starts from.
        try (original + "{\"event\":\"train\",\"loss\":1,\"step\":7}\n").write(to: first.logURL, atomically: true, encoding: .utf8)
        let branch = output.appendingPathComponent("branch")
        let resumed = try Trainer.resume(from: output, run: run(maxSteps: 9), output: branch)
        XCTAssertEqual(try resumed.train(on: data, validation: nil), .finished)
        XCTAssertEqual(Array(try TrainingLog.trainingValues("loss", in: resumed.logURL).keys).sorted(), Array(1...9))
        XCTAssertEqual(try TrainingLog.trainingValues("loss", in: resumed.logURL)[6], try TrainingLog.trainingValues("loss", in: first.logURL)[6])
        XCTAssertTrue(try String(contentsOf: resumed.logURL, encoding: .utf8).hasPrefix(original), "copied up to step 6, in order")
        XCTAssertEqual(try TrainingLog.trainingValues("loss", in: first.logURL).count, 7, "the original log is untouched")
    }

    func testHalfWrittenCheckpointIsNeverRead() throws {
        let trainer = try Trainer(run: run(maxSteps: 5), tokenizer: tokenizer, output: output)
        XCTAssertEqual(try trainer.train(on: data, validation: nil), .finished)
        let root = trainer.checkpointDirectory
        // A save of step 6 killed halfway: its temporary directory holds a truncated weights file
        // and no training state.
        let partial = root.appendingPathComponent(".step-00000006.tmp")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        let weights = try Data(contentsOf: root.appendingPathComponent("step-00000005/model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: partial.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try Checkpoint.latest(in: root)?.lastPathComponent, "step-00000005")
        let resumed = try Trainer.resume(from: output, run: run(maxSteps: 8), output: output)
        XCTAssertEqual(resumed.state.step, 5)
        XCTAssertEqual(try resumed.train(on: data, validation: nil), .finished)
        // The next save replaced the partial directory and removed the older checkpoint.
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        XCTAssertEqual(names, ["step-00000008"])
    }

    func testNonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        let trainer = try Trainer(run: run(maxSteps: 4), tokenizer: tokenizer, output: output)
        XCTAssertEqual(try trainer.train(on: data, validation: nil), .finished)
        var messages: [String] = []
        let resumed = try Trainer.resume(from: output, run: run(maxSteps: 10), output: output,
                                         onEvent: { if case .message(let text) = $0 { messages.append(text) } })
        resumed.model.parameters.valueBuffer("model.encoder.layers.0.fc1.weight")[0] = .infinity
        XCTAssertEqual(try resumed.train(on: data, validation: nil), .diverged(step: 5))
        XCTAssertTrue(messages.contains { $0.contains("step 5") && $0.contains("last good checkpoint") }, "\(messages)")
        XCTAssertEqual(try Checkpoint.latest(in: resumed.checkpointDirectory)?.lastPathComponent, "step-00000004")
        let reloaded = try Checkpoint.load(try Checkpoint.latest(in: resumed.checkpointDirectory)!)
        XCTAssertTrue(reloaded.model.parameters.values(of: "model.encoder.layers.0.fc1.weight").allSatisfy(\.isFinite))
    }

    func testValidationPicksTheBestModelAndStopsEarly() throws {
        let valid = TrainingData(corpus: try ParallelCorpus(tsv: Self.corpusURL.deletingLastPathComponent()
            .appendingPathComponent("walkthrough-valid.tsv")), tokenizer: tokenizer, maxLength: 64)
        var run = run(maxSteps: 60)
        run.validation.validateEvery = 3
        run.validation.patience = 1
        run.schedule.learningRate = 0.5  // far too high: validation gets worse soon
        run.optimization.clipNorm = 0
        var validations: [(step: Int, loss: Double, best: Bool)] = []
        let trainer = try Trainer(run: run, tokenizer: tokenizer, output: output,
                                  onEvent: { if case .validation(let step, _, let r, let best) = $0 { validations.append((step, r.loss, best)) } })
        XCTAssertEqual(try trainer.train(on: data, validation: valid), .earlyStopped)
        XCTAssertEqual(validations.last?.best, false)
        XCTAssertEqual(trainer.state.bestStep, validations.last { $0.best }?.step)
        XCTAssertNotNil(try ModelDirectory.loadModel(from: output), "the best model is in the output directory")

        // Validation's figures are the metrics of its own greedy translations.
        let result = try Validation.run(model: trainer.model, tokenizer: tokenizer, data: valid, run: run)
        XCTAssertEqual(result.hypotheses.count, valid.count)
        let references = valid.pairs.map(\.references)
        XCTAssertEqual(result.bleu, BLEU().corpusScore(hypotheses: result.hypotheses, references: references).score)
        XCTAssertEqual(result.chrf, CHRF().corpusScore(hypotheses: result.hypotheses, references: references).score)
        XCTAssertTrue(result.loss.isFinite && result.loss > 0)
    }
}
