import Foundation
import ImageClassification
import TestSupport
import XCTest

/// `nmt image train` as the built binary: a short run writes a model directory that loads, with
/// its log; bad options and unusable paths are one line on stderr, exit 1, before any training.
final class ImageTrainCommandTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = try Fixtures.temporaryDirectory("nmt-image-train")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func testShortRunWritesALoadableModelAndLog() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory.appendingPathComponent(FashionMNIST.Split.train.imagesFile).path),
                          "Fashion-MNIST is not installed (\(FashionMNIST.installCommand))")
        let output = scratch.appendingPathComponent("nested/model")
        let outcome = try NMTProcess.run(["image", "train", "--epochs", "1", "--limit", "256", "--batch-size", "64",
                                          "--half-precision", "--output", output.path], timeout: 600)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertTrue(outcome.standardOutput.contains("256 training images, 10000 test images"), outcome.standardOutput)
        XCTAssertTrue(outcome.standardOutput.contains("epoch 1/1: loss "), outcome.standardOutput)
        let model = try AttentionNet.load(directory: output)
        XCTAssertEqual(model.batchesTracked, 4, "256 images in batches of 64")
        XCTAssertEqual(model.config.classNames, FashionMNIST.classNames)
        let log = try String(contentsOf: output.appendingPathComponent("training-log.tsv"), encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 2, log)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted(),
                       ["config.json", "model.safetensors", "training-log.tsv"])
    }

    func testBadOptionsAndPathsAreOneLine() throws {
        let file = scratch.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let cases: [([String], String)] = [
            (["--epochs", "0", "--output", scratch.path], "--epochs must be at least 1, got 0"),
            (["--limit", "10", "--output", scratch.path], "--limit 10 is smaller than one batch (--batch-size 128)"),
            (["--learning-rate=-1", "--output", scratch.path], "--learning-rate must be positive, got -1.0"),
            (["--output", file.path], "\(file.path): is a file; --output names a directory to write"),
            (["--output", file.appendingPathComponent("model").path], "cannot write the model directory"),
            (["--data", scratch.appendingPathComponent("none").path, "--output", scratch.appendingPathComponent("m").path],
             "not found; install the data with"),
        ]
        for (arguments, expected) in cases {
            let outcome = try NMTProcess.run(["image", "train"] + arguments, timeout: 60)
            XCTAssertEqual(outcome.status, 1, "\(arguments)")
            let lines = outcome.standardError.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(outcome.standardError)")
            XCTAssertTrue(outcome.standardError.contains(expected), "\(arguments): \(outcome.standardError)")
        }
    }
}
