import Foundation
import NMT
import Tensor
import TestSupport
import Tokenizers
import XCTest

/// Checkpoint averaging against a naive per-tensor mean, its refusals, and the trainer keeping
/// the N newest checkpoints it averages.
final class CheckpointAveragingTests: XCTestCase {
    static let tokenizerURL = Fixtures.packageRoot.appendingPathComponent("vocab/walkthrough.json")

    var root: URL!
    var tokenizerJSON: Data!

    override func setUpWithError() throws {
        root = try Fixtures.temporaryDirectory("nmt-averaging")
        tokenizerJSON = try Data(contentsOf: Self.tokenizerURL)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    /// A small config for the walkthrough vocabulary (V 400ish, D 32, 1+1 layers).
    func config(modelWidth: Int = 32) throws -> ModelConfig {
        let tokenizer = try Tokenizer(contentsOf: Self.tokenizerURL)
        var config = ModelPreset.tiny.config(vocabularySize: tokenizer.vocabularySize, maxPositions: 64)
        config.padId = tokenizer.padId
        config.decoderStartId = tokenizer.padId
        config.eosId = tokenizer.eosId
        (config.modelWidth, config.encoderFeedForwardWidth, config.decoderFeedForwardWidth) = (modelWidth, 64, 64)
        (config.encoderLayers, config.decoderLayers) = (1, 1)
        return config
    }

    /// A model initialised from `seed`, with the biases and layer norms (0 and 1 after
    /// initialisation) given random values too, so that every tensor has something to average.
    func model(seed: UInt64, config: ModelConfig) -> Transformer {
        let model = Transformer(config: config)
        var generator = SeededGenerator(seed: seed)
        model.initializeForTraining(generator: &generator)
        for entry in model.parameters.entries where entry.name.hasSuffix(".bias") || entry.name.contains("layer_norm") {
            let values = model.parameters.valueBuffer(entry.name)
            for index in values.indices { values[index] += Float.random(in: -0.5...0.5, using: &generator) }
        }
        return model
    }

    /// Saves `model` as a model directory named `name` under the test's root.
    @discardableResult
    func save(_ model: Transformer, as name: String, tokenizerJSON: Data? = nil) throws -> URL {
        let directory = root.appendingPathComponent(name)
        try ModelDirectory.save(model, to: directory, tokenizerJSON: tokenizerJSON ?? self.tokenizerJSON)
        return directory
    }

    /// The mean of each named tensor computed one element at a time in Double, compared with what
    /// `CheckpointAveraging` returns; the largest difference per tensor is reported on failure.
    func assertIsMean(_ averaged: Transformer, of models: [Transformer], file: StaticString = #filePath, line: UInt = #line) {
        for entry in averaged.parameters.entries {
            let inputs = models.map { $0.parameters.values(of: entry.name) }
            let result = averaged.parameters.values(of: entry.name)
            var largest: Float = 0, scale: Float = 0
            for index in result.indices {
                var sum = 0.0
                for input in inputs { sum += Double(input[index]) }
                let expected = Float(sum / Double(inputs.count))
                largest = max(largest, abs(result[index] - expected))
                scale = max(scale, abs(expected))
            }
            // The same sums in Double: equal up to the last bit of the Float rounding.
            XCTAssertLessThanOrEqual(largest, scale.ulp, "\(entry.name): largest difference \(largest)", file: file, line: line)
        }
    }

    func testAverageOfTwoAndThreeModelsIsTheElementWiseMean() throws {
        let config = try config()
        let models = (1...3).map { model(seed: UInt64($0), config: config) }
        let directories = try models.enumerated().map { try save($0.element, as: "model-\($0.offset)") }
        var read: [URL] = []
        let three = try CheckpointAveraging.average(directories) { read.append($0) }
        XCTAssertEqual(read, directories)
        XCTAssertEqual(three.count, 3)
        XCTAssertEqual(three.tokenizerJSON, tokenizerJSON)
        assertIsMean(three.model, of: models)
        let two = try CheckpointAveraging.average(Array(directories.prefix(2)))
        assertIsMean(two.model, of: Array(models.prefix(2)))
        // A mean that differs from each input (seeds give different models).
        XCTAssertNotEqual(two.model.parameters.values(of: "model.shared.weight"), models[0].parameters.values(of: "model.shared.weight"))
    }

    func testAverageOfCopiesIsExactlyTheModel() throws {
        // In Double, x + x + x is exact and / 3 gives x back; a Float running sum would round it.
        let model = model(seed: 11, config: try config())
        let directory = try save(model, as: "one")
        let averaged = try CheckpointAveraging.average([directory, directory, directory])
        let expected = UnsafeBufferPointer(start: model.parameters.values, count: model.parameters.count)
        let actual = UnsafeBufferPointer(start: averaged.model.parameters.values, count: averaged.model.parameters.count)
        let differing = zip(expected, actual).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "\(differing) of \(expected.count) parameters are not the model's")
    }

    func testAveragedModelSavesAndTranslates() throws {
        let config = try config()
        let directories = try (1...2).map { try save(model(seed: UInt64($0), config: config), as: "m\($0)") }
        let result = try CheckpointAveraging.average(directories)
        let output = try save(result.model, as: "average", tokenizerJSON: result.tokenizerJSON)
        let translator = try Translator(directory: output)
        XCTAssertEqual(translator.model.parameters.values(of: "model.shared.weight"), result.model.parameters.values(of: "model.shared.weight"))
    }

    func assertRefused(_ directories: [URL], mentioning parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CheckpointAveraging.average(directories), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(error is ModelError, message, file: file, line: line)
            for part in parts { XCTAssertTrue(message.contains(part), "“\(message)” should mention \(part)", file: file, line: line) }
            XCTAssertFalse(message.contains("\n"), "one line", file: file, line: line)
        }
    }

    func testMismatchedArchitectureOrTokenizerIsRefused() throws {
        let first = try save(model(seed: 1, config: try config()), as: "a")
        let wider = try save(model(seed: 2, config: try config(modelWidth: 48)), as: "b")
        assertRefused([first, wider], mentioning: [first.path, wider.path, "config.json's d_model (32 vs 48)"])

        var deeper = try config()
        deeper.decoderLayers = 2
        let deep = try save(model(seed: 3, config: deeper), as: "c")
        assertRefused([first, first, deep], mentioning: [first.path, deep.path, "decoder_layers (1 vs 2)"])

        var edited = try JSONSerialization.jsonObject(with: tokenizerJSON) as! [String: Any]
        edited["truncation"] = ["max_length": 5]
        let otherTokenizer = try save(model(seed: 4, config: try config()), as: "d",
                                      tokenizerJSON: try JSONSerialization.data(withJSONObject: edited, options: [.sortedKeys]))
        assertRefused([first, otherTokenizer], mentioning: [first.path, otherTokenizer.path, "tokenizer.json", "truncation"])

        // Only the bytes differ: the first one that does is named.
        let respaced = try save(model(seed: 5, config: try config()), as: "e", tokenizerJSON: tokenizerJSON + Data(" ".utf8))
        assertRefused([first, respaced], mentioning: [respaced.path, "tokenizer.json", "byte \(tokenizerJSON.count)"])

        // Dropout acts in training only: models that differ in it still average.
        var moreDropout = try config()
        moreDropout.dropout = 0.3
        let dropout = try save(model(seed: 6, config: moreDropout), as: "f")
        XCTAssertEqual(try CheckpointAveraging.average([first, dropout]).model.config.dropout, 0.3)
    }

    func testTooFewMissingOrNonModelInputsAreRefused() throws {
        let model = try save(model(seed: 1, config: try config()), as: "a")
        assertRefused([model], mentioning: ["at least 2 models, got 1"])
        let missing = root.appendingPathComponent("nowhere")
        assertRefused([model, missing], mentioning: [missing.path, "no such model directory"])
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        assertRefused([model, empty], mentioning: [empty.path, "config.json: missing"])
        let noTokenizer = root.appendingPathComponent("no-tokenizer")
        try ModelDirectory.save(Transformer(config: try config()), to: noTokenizer)
        assertRefused([model, noTokenizer], mentioning: [noTokenizer.path, "tokenizer.json: missing"])
    }

    func testTrainerKeepsTheNewestCheckpointsThatAverageFinds() throws {
        Parallel.configure(threads: 1)
        let tokenizer = try Tokenizer(contentsOf: Self.tokenizerURL)
        let data = TrainingData(corpus: try ParallelCorpus(tsv: Fixtures.packageRoot.appendingPathComponent("corpora/walkthrough.tsv")),
                                tokenizer: tokenizer, maxLength: 64)
        var run = TrainingRun()
        (run.model.preset, run.model.maxPositions) = (.tiny, 64)
        (run.model.dModel, run.model.ffn, run.model.encoderLayers, run.model.decoderLayers) = (32, 64, 1, 1)
        (run.optimization.maxSteps, run.optimization.batchTokens, run.schedule.warmup, run.reporting.logEvery) = (5, 256, 10, 100)
        run.checkpoints.checkpointEvery = 1
        run.checkpoints.keepCheckpoints = 3
        XCTAssertEqual(try run.modelConfig(for: tokenizer).jsonData(), try config().jsonData(), "the run declares config()")
        let output = root.appendingPathComponent("run")
        let trainer = try Trainer(run: run, tokenizer: tokenizer, output: output)
        XCTAssertEqual(try trainer.train(on: data, validation: nil), .finished)
        let names = try FileManager.default.contentsOfDirectory(atPath: trainer.checkpointDirectory.path).sorted()
        XCTAssertEqual(names, ["step-00000003", "step-00000004", "step-00000005"])

        // Resuming goes on from the newest and keeps three again.
        run.optimization.maxSteps = 7
        let resumed = try Trainer.resume(from: output, run: run, output: output)
        XCTAssertEqual(resumed.state.step, 5)
        XCTAssertEqual(try resumed.train(on: data, validation: nil), .finished)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: trainer.checkpointDirectory.path).sorted(),
                       ["step-00000005", "step-00000006", "step-00000007"])

        let newest = try CheckpointAveraging.newestCheckpoints(2, in: output)
        XCTAssertEqual(newest.map(\.lastPathComponent), ["step-00000006", "step-00000007"])
        XCTAssertEqual(try CheckpointAveraging.newestCheckpoints(3, in: trainer.checkpointDirectory).map(\.lastPathComponent),
                       ["step-00000005", "step-00000006", "step-00000007"])
        XCTAssertThrowsError(try CheckpointAveraging.newestCheckpoints(4, in: output)) { error in
            XCTAssertTrue("\(error)".contains("only 3 checkpoints, fewer than the 4 asked for"), "\(error)")
        }
        let averaged = try CheckpointAveraging.average(newest)
        let models = try newest.map { try ModelDirectory.loadModel(from: $0) }
        assertIsMean(averaged.model, of: models)
    }
}
