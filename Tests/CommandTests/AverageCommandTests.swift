import Foundation
import NMT
import TestSupport
import XCTest

/// `nmt train --keep-checkpoints` and `nmt average` run as the built binary: a short run keeps its
/// last checkpoints, their average is a model that translates, and mistakes get one line.
final class AverageCommandTests: XCTestCase {
    static let corpus = Fixtures.packageRoot.appendingPathComponent("corpora/walkthrough.tsv").path
    static let tokenizer = Fixtures.packageRoot.appendingPathComponent("vocab/walkthrough.json").path

    var root: URL!

    override func setUpWithError() throws {
        root = try Fixtures.temporaryDirectory("nmt-average-command")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    /// Trains the tiny preset for 8 updates with a checkpoint every 2, keeping 3; returns the run.
    func trainRun() throws -> URL {
        let run = root.appendingPathComponent("run")
        let trained = try NMTProcess.run(["train", "--train", Self.corpus, "--tokenizer", Self.tokenizer, "--output", run.path,
                                          "--preset", "tiny", "--max-steps", "8", "--warmup", "100", "--learning-rate", "3e-3",
                                          "--batch-tokens", "256", "--seed", "1", "--threads", "2",
                                          "--checkpoint-every", "2", "--keep-checkpoints", "3"], timeout: 60)
        XCTAssertEqual(trained.status, 0, trained.standardError + trained.standardOutput)
        return run
    }

    /// The one line on stderr of a failed command, checked to be one line naming `parts`.
    func assertFails(_ arguments: [String], mentioning parts: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try NMTProcess.run(arguments, timeout: 30)
        XCTAssertEqual(outcome.status, 1, outcome.standardError, file: file, line: line)
        let lines = outcome.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, outcome.standardError, file: file, line: line)
        for part in parts {
            XCTAssertTrue(outcome.standardError.contains(part), "“\(outcome.standardError)” should mention \(part)", file: file, line: line)
        }
    }

    func testTrainKeepsThreeCheckpointsAndTheirAverageTranslates() throws {
        let run = try trainRun()
        let checkpoints = run.appendingPathComponent("checkpoints")
        let kept = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).sorted()
        XCTAssertEqual(kept, ["step-00000004", "step-00000006", "step-00000008"])

        let output = root.appendingPathComponent("averaged")
        let averaged = try NMTProcess.run(["average", "--last", "3", run.path, "--output", output.path], timeout: 30)
        XCTAssertEqual(averaged.status, 0, averaged.standardError)
        let lines = averaged.standardOutput.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, kept.map { "read \(checkpoints.appendingPathComponent($0).path)" }
            + ["wrote \(output.path): the average of 3 models"])

        // What was written is the mean of the three checkpoints, tensor by tensor.
        let model = try ModelDirectory.loadModel(from: output)
        let inputs = try kept.map { try ModelDirectory.loadModel(from: checkpoints.appendingPathComponent($0)) }
        for entry in model.parameters.entries {
            let values = model.parameters.values(of: entry.name)
            let each = inputs.map { $0.parameters.values(of: entry.name) }
            var largest: Float = 0
            for index in values.indices {
                let mean = Float(each.reduce(0.0) { $0 + Double($1[index]) } / 3)
                largest = max(largest, abs(values[index] - mean) / max(abs(mean), 1e-30))
            }
            XCTAssertLessThanOrEqual(largest, 1.2e-7, "\(entry.name): largest relative difference \(largest)")
        }
        let translated = try NMTProcess.run(["translate", "--model", output.path, "--beam", "1", "I am a student."], timeout: 30)
        XCTAssertEqual(translated.status, 0, translated.standardError)
        XCTAssertEqual(translated.standardOutput.filter { $0 == "\n" }.count, 1, translated.standardOutput)

        // float16 halves the weights; the checkpoints folder itself works as the run.
        let half = root.appendingPathComponent("half")
        let halved = try NMTProcess.run(["average", "--last", "2", checkpoints.path, "--output", half.path, "--dtype", "f16"], timeout: 30)
        XCTAssertEqual(halved.status, 0, halved.standardError)
        let size = { (directory: URL) in
            try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("model.safetensors").path)[.size] as! Int
        }
        XCTAssertEqual(Double(try size(half)) / Double(try size(output)), 0.5, accuracy: 0.01)

        // Each failure is checked with an --output that does not exist (an existing one is refused first).
        let unwritten = root.appendingPathComponent("unwritten").path
        try assertFails(["average", "--last", "4", run.path, "--output", unwritten],
                        mentioning: [checkpoints.path, "only 3 checkpoints, fewer than the 4 asked for"])
        try assertFails(["average", "--last", "1", run.path, "--output", unwritten], mentioning: ["--last must be at least 2, got 1"])
        try assertFails(["average", run.path, "--output", unwritten], mentioning: ["at least 2 model directories", "got 1"])
        try assertFails(["average", run.path, "/nonexistent-model", "--output", unwritten],
                        mentioning: ["/nonexistent-model: no such model directory"])
        try assertFails(["average", run.path, root.path, "--output", unwritten], mentioning: ["\(root.path)/config.json: missing"])
        try assertFails(["train", "--train", Self.corpus, "--tokenizer", Self.tokenizer, "--output", unwritten, "--keep-checkpoints", "0"],
                        mentioning: ["--keep-checkpoints must be at least 1, got 0"])
    }
}
