import Foundation
import ImageClassification
import ImageKernels
import Tensor
import TestSupport
import XCTest

/// AttentionNet against PyTorch (the same weights through the reference network: logits, attention,
/// loss, every gradient, the running statistics), its model directory, and training on a fixed batch.
final class AttentionNetTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    static let python = "/root/REF/bin/python"

    /// A model with random weights, a non-zero attention γ (at 0 the attention would get no
    /// gradient and not reach the logits) and running statistics away from their defaults.
    static func randomModel(seed: UInt64) -> AttentionNet {
        let model = AttentionNet(config: AttentionNetConfig(normalization: .init(mean: 0.286, std: 0.353),
                                                            classNames: (0..<10).map { "class \($0)" }))
        var generator = SeededGenerator(seed: seed)
        model.initialize(generator: &generator)
        model.parameters.valueBuffer("attention.gamma")[0] = 0.75
        for entry in model.parameters.entries where !entry.trainable {
            let values = model.parameters.valueBuffer(entry.name)
            let variance = entry.name.hasSuffix("running_var")
            for i in values.indices { values[i] = variance ? 0.5 + generator.nextUnitFloat() : 0.2 * generator.nextNormal() }
        }
        for name in ["conv1.bn.weight", "res2.bn2.bias"] {
            let values = model.parameters.valueBuffer(name)
            for i in values.indices { values[i] += 0.3 * generator.nextNormal() }
        }
        model.batchesTracked = 7
        return model
    }

    static func randomImages(count: Int, seed: UInt64) -> (pixels: [UInt8], labels: [UInt8]) {
        var generator = SeededGenerator(seed: seed)
        // Blobs on a dark background, closer to Fashion-MNIST than uniform noise.
        var pixels = [UInt8](repeating: 0, count: count * 784)
        for n in 0..<count {
            let (cy, cx) = (Float(8 + generator.next() % 12), Float(8 + generator.next() % 12))
            for y in 0..<28 { for x in 0..<28 {
                let d = ((Float(y) - cy) * (Float(y) - cy) + (Float(x) - cx) * (Float(x) - cx)).squareRoot()
                let value = max(0, 255 - d * 22) * (0.7 + 0.3 * generator.nextUnitFloat())
                pixels[n * 784 + y * 28 + x] = UInt8(min(255, value))
            } }
        }
        return (pixels, (0..<count).map { _ in UInt8(generator.next() % 10) })
    }

    func testMatchesPyTorchReference() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw XCTSkip("needs the PyTorch reference environment at \(Self.python)")
        }
        let model = Self.randomModel(seed: 1)
        let (pixels, labels) = Self.randomImages(count: 6, seed: 2)
        let directory = try Fixtures.temporaryDirectory("attentionnet-parity")
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelDirectory = directory.appendingPathComponent("model")
        try model.save(directory: modelDirectory, halfPrecision: false)
        try Data(pixels).write(to: directory.appendingPathComponent("pixels"))
        try Data(labels).write(to: directory.appendingPathComponent("labels"))
        let output = directory.appendingPathComponent("torch.safetensors")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Fixtures.url("scripts/attentionnet_parity.py").path, modelDirectory.path,
                             directory.appendingPathComponent("pixels").path, directory.appendingPathComponent("labels").path, output.path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "the PyTorch script failed")
        let torch = try SafeTensorsFile(contentsOf: output)

        // Inference: running statistics.
        let logits = model.logits(pixels: pixels, count: 6)
        XCTAssertLessThanOrEqual(maxDifference(logits, try torch.floats("eval.logits")), 2e-4, "eval logits")
        let attention = model.attentionMap(pixels: Array(pixels[784..<1568]))
        XCTAssertLessThanOrEqual(maxDifference(attention, Array(try torch.floats("eval.attention")[2401..<4802])), 1e-5, "attention of image 1")

        // Training: batch statistics, loss, every gradient, the running averages' update.
        model.parameters.zeroGradients()
        let tape = Tape(recording: true, training: true)
        let images = pixels.withUnsafeBufferPointer { model.normalizedImages($0, count: 6) }
        let loss = tape.crossEntropy(model.forward(images, tape: tape, training: true).logits, labels: labels.map(Int32.init))
        let lossValue = loss.scalar
        tape.backward(from: loss)
        XCTAssertEqual(lossValue, try torch.floats("train.loss")[0], accuracy: 1e-5)
        for entry in model.parameters.entries {
            let (ours, key) = entry.trainable ? (model.parameters.gradient(of: entry.name), "grad.\(entry.name)")
                                              : (model.parameters.values(of: entry.name), entry.name)
            let theirs = try torch.floats(key)
            // The floor: a convolution bias followed by batch norm has a true gradient of 0, which both
            // sides compute as rounding noise of ~1e-7.
            let scale = max(theirs.map(abs).max() ?? 0, 1e-2)
            XCTAssertLessThanOrEqual(maxDifference(ours, theirs), 1e-3 * scale, "\(key): largest |value| \(scale)")
        }
    }

    func testSaveAndLoadRoundTrip() throws {
        let model = Self.randomModel(seed: 3)
        let (pixels, _) = Self.randomImages(count: 3, seed: 4)
        let directory = try Fixtures.temporaryDirectory("attentionnet-save")
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("model")
        try model.save(directory: target, halfPrecision: false)
        try Data("notes".utf8).write(to: target.appendingPathComponent("README.md"))
        let loaded = try AttentionNet.load(directory: target)
        XCTAssertEqual(loaded.config, model.config)
        XCTAssertEqual(loaded.batchesTracked, 7)
        XCTAssertEqual(loaded.logits(pixels: pixels, count: 3), model.logits(pixels: pixels, count: 3))

        // Saving again replaces the model and keeps the other files of the directory.
        try model.save(directory: target, halfPrecision: true)
        XCTAssertEqual(try String(contentsOf: target.appendingPathComponent("README.md"), encoding: .utf8), "notes")
        let half = try AttentionNet.load(directory: target)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: target.appendingPathComponent("model.safetensors")).entries["fc.weight"]?.dtype, .f16)
        XCTAssertLessThanOrEqual(maxDifference(half.logits(pixels: pixels, count: 3), model.logits(pixels: pixels, count: 3)), 0.05)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "model" }
        XCTAssertEqual(leftovers, [], "no staging directory left behind")
    }

    func testLoadRejectsBrokenDirectories() throws {
        let directory = try Fixtures.temporaryDirectory("attentionnet-broken")
        defer { try? FileManager.default.removeItem(at: directory) }
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { _ = try AttentionNet.load(directory: directory.appendingPathComponent("none")) }.hasSuffix("no such model directory"))
        let target = directory.appendingPathComponent("model")
        try Self.randomModel(seed: 5).save(directory: target, halfPrecision: true)
        let config = target.appendingPathComponent("config.json")
        let original = try String(contentsOf: config, encoding: .utf8)
        try original.replacingOccurrences(of: "\"normalization\"", with: "\"normalisation\"").write(to: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(message { _ = try AttentionNet.load(directory: target) }, "\(config.path): missing key \"normalization\"")
        try original.replacingOccurrences(of: "\"image_rows\" : 28", with: "\"image_rows\" : 32").write(to: config, atomically: true, encoding: .utf8)
        XCTAssertTrue(message { _ = try AttentionNet.load(directory: target) }.contains("AttentionNet takes 28×28"))
        try original.write(to: config, atomically: true, encoding: .utf8)
        // A model with 3 classes against weights for 10.
        try original.replacingOccurrences(of: "\"class 3\",", with: "").write(to: config, atomically: true, encoding: .utf8)
        XCTAssertTrue(message { _ = try AttentionNet.load(directory: target) }.contains("tensor fc.weight has shape [10, 256]; AttentionNet's is [9, 256]"))
    }

    /// Repeated updates on one fixed batch drive its loss down (the network can fit 16 images).
    func testUpdatesOnAFixedBatchLowerTheLoss() {
        let model = Self.randomModel(seed: 6)
        model.parameters.valueBuffer("attention.gamma")[0] = 0
        let (pixels, labels) = Self.randomImages(count: 16, seed: 7)
        let trainer = ImageTrainer(model: model, options: ImageTrainingOptions(epochs: 1, batchSize: 16, maximumLearningRate: 0.05),
                                   trainingCount: 16 * 12)
        let images = pixels.withUnsafeBufferPointer { model.normalizedImages($0, count: 16) }
        var losses: [Float] = []
        for _ in 0..<12 { losses.append(trainer.update(images: images, labels: labels.map(Int32.init)).loss) }
        XCTAssertLessThan(losses.last!, 0.5 * losses.first!, "losses \(losses)")
        XCTAssertNotEqual(model.parameters.values(of: "attention.gamma")[0], 0, "γ is trained")
        XCTAssertEqual(model.batchesTracked, 7 + 12)
    }

    func testNormalizationIsMeanAndUnbiasedStdOfPixelsOver255() {
        let set = ImageSet(images: [0, 255, 51, 102, 0, 0, 255, 255], labels: [0, 1], rows: 2, columns: 2)
        let values = set.images.map { Double($0) / 255 }
        let mean = values.reduce(0, +) / 8
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 7).squareRoot()
        let normalization = ImageTrainer.normalization(of: set)
        XCTAssertEqual(Double(normalization.mean), mean, accuracy: 1e-6)
        XCTAssertEqual(Double(normalization.std), std, accuracy: 1e-6)
    }
}

/// max |a − b|.
private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) elements")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
