import Foundation
import NMT
import TestSupport
import XCTest

/// `nmt train` run as the built binary: the walkthrough learned from scratch, Ctrl-C, kills
/// during checkpoint saves, and option errors.
final class TrainCommandTests: XCTestCase {
    static let corpus = Fixtures.packageRoot.appendingPathComponent("corpora/walkthrough.tsv").path
    static let valid = Fixtures.packageRoot.appendingPathComponent("corpora/walkthrough-valid.tsv").path
    static let tokenizer = Fixtures.packageRoot.appendingPathComponent("vocab/walkthrough.json").path

    var output: URL!

    override func setUpWithError() throws {
        output = try Fixtures.temporaryDirectory("nmt-train-command")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: output)
    }

    /// The walkthrough's settings: the tiny preset, a short warm-up to a high peak, small batches.
    func trainArguments(epochs: Int, extra: [String] = []) -> [String] {
        ["train", "--train", Self.corpus, "--tokenizer", Self.tokenizer, "--output", output.path, "--preset", "tiny",
         "--epochs", String(epochs), "--warmup", "100", "--learning-rate", "3e-3", "--batch-tokens", "256",
         "--log-every", "50", "--seed", "1", "--threads", "2"] + extra
    }

    func testTinyModelLearnsTheWalkthroughSentenceInUnderAMinute() throws {
        let start = Date()
        let trained = try NMTProcess.run(trainArguments(epochs: 100, extra: ["--valid", Self.valid]), timeout: 120)
        XCTAssertEqual(trained.status, 0, trained.standardError + trained.standardOutput)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertLessThan(seconds, 60, "training the walkthrough must take under a minute")
        XCTAssertTrue(trained.standardOutput.contains("validation at step"), trained.standardOutput)
        let translated = try NMTProcess.run(["translate", "--model", output.path, "--beam", "1", "I am a student."])
        XCTAssertEqual(translated.status, 0, translated.standardError)
        XCTAssertEqual(translated.standardOutput, "Je suis étudiant.\n")
        print("walkthrough trained in \(String(format: "%.1f", seconds)) s")

        // The log has a line for every report and validation, each a JSON object.
        let log = try String(contentsOf: output.appendingPathComponent("training-log.jsonl"), encoding: .utf8)
        let events = try log.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertTrue(events.contains { $0["event"] as? String == "train" && $0["tokens_per_second"] != nil })
        XCTAssertEqual(events.filter { $0["event"] as? String == "validation" }.count, 100)
    }

    func testInterruptFinishesTheStepSavesAndExits130ThenResumes() throws {
        let process = Process()
        process.executableURL = try NMTProcess.binary()
        process.arguments = trainArguments(epochs: 1000, extra: ["--log-every", "1"])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let log = output.appendingPathComponent("training-log.jsonl")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.components(separatedBy: "\"event\":\"train\"").count > 20 { break }
            usleep(50_000)
        }
        kill(process.processIdentifier, SIGINT)
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, printed)
        XCTAssertTrue(printed.contains("interrupted at step"), printed)
        let checkpoint = try XCTUnwrap(try Checkpoint.latest(in: output.appendingPathComponent("checkpoints")))
        let saved = try Checkpoint.load(checkpoint)
        XCTAssertGreaterThanOrEqual(saved.state.step, 20)

        let resumed = try NMTProcess.run(["train", "--train", Self.corpus, "--output", output.path, "--resume", output.path,
                                          "--max-steps", String(saved.state.step + 3), "--threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.standardError + resumed.standardOutput)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from"), resumed.standardOutput)
        let newest = try XCTUnwrap(try Checkpoint.latest(in: output.appendingPathComponent("checkpoints")))
        XCTAssertEqual(try Checkpoint.load(newest).state.step, saved.state.step + 3)
    }

    func testKillsDuringSavesAlwaysLeaveALoadableCheckpoint() throws {
        // A checkpoint after every update: most kills land in or near a save.
        var generator = SystemRandomNumberGenerator()
        for round in 0..<4 {
            let process = Process()
            process.executableURL = try NMTProcess.binary()
            process.arguments = trainArguments(epochs: 1000, extra: ["--checkpoint-every", "1", "--threads", "1"]
                + (round == 0 ? [] : ["--resume", output.path]))
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 400_000...900_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            guard let latest = try Checkpoint.latest(in: output.appendingPathComponent("checkpoints")) else {
                XCTFail("round \(round): no complete checkpoint after the kill")
                continue
            }
            let loaded = try Checkpoint.load(latest)
            XCTAssertGreaterThan(loaded.state.step, 0, "round \(round)")
        }
    }

    func testOptionMistakesAreReported() throws {
        let noTokenizer = try NMTProcess.run(["train", "--train", Self.corpus, "--output", output.path])
        XCTAssertNotEqual(noTokenizer.status, 0)
        XCTAssertTrue(noTokenizer.standardError.contains("--tokenizer is required"), noTokenizer.standardError)
        let bothInputs = try NMTProcess.run(["train", "--train", Self.corpus, "--source", Self.corpus, "--tokenizer", Self.tokenizer,
                                             "--output", output.path])
        XCTAssertTrue(bothInputs.standardError.contains("--train FILE.tsv or as --source FILE --target FILE"), bothInputs.standardError)
        let badHeads = try NMTProcess.run(trainArguments(epochs: 1, extra: ["--heads", "5"]))
        XCTAssertNotEqual(badHeads.status, 0)
        XCTAssertTrue(badHeads.standardError.contains("not divisible"), badHeads.standardError)
        let missing = try NMTProcess.run(["train", "--train", "/nonexistent.tsv", "--tokenizer", Self.tokenizer, "--output", output.path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.standardError.contains("nonexistent.tsv"), missing.standardError)
    }
}
