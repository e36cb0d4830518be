import Foundation
import NMT
import Tensor
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

    /// Every option of `nmt train --help` given once, with values that train the walkthrough in a few steps.
    static let everyOption: [String] = [
        "--valid", valid, "--strict", "--max-length", "64", "--max-length-ratio", "9", "--preset", "tiny",
        "--d-model", "32", "--heads", "4", "--ffn", "64", "--encoder-layers", "1", "--decoder-layers", "1",
        "--activation", "gelu", "--dropout", "0.1", "--attention-dropout", "0.05", "--activation-dropout", "0.05",
        "--max-positions", "64", "--epochs", "100", "--max-steps", "4", "--seed", "3", "--batch-tokens", "256",
        "--max-sentences", "64", "--learning-rate", "0.002", "--warmup", "3", "--cool-down", "3", "--clip-norm", "2",
        "--label-smoothing", "0.2", "--validate-every", "50", "--checkpoint-every", "2", "--keep-checkpoints", "2",
        "--patience", "5", "--best-by", "chrf", "--lowercase", "--log-every", "1", "--max-translation-length", "20",
    ]

    func testResumeNeedsOnlyTheRunDirectory() throws {
        let started = try NMTProcess.run(["train", "--train", Self.corpus, "--tokenizer", Self.tokenizer, "--output", output.path,
                                          "--threads", "1"] + Self.everyOption)
        XCTAssertEqual(started.status, 0, started.standardError + started.standardOutput)
        let file = output.appendingPathComponent("training-arguments.json")
        let saved = try JSONDecoder().decode(TrainingRun.self, from: Data(contentsOf: file))
        let savedFields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: [String: Any]])
            .values.reduce(into: Set<String>()) { $0.formUnion($1.keys) }
        // Every option but where the run is (--output, --resume), the machine's --threads and the
        // alternative data form (--source/--target) is saved, so no new option can be forgotten.
        let help = try NMTProcess.run(["train", "--help"]).standardOutput
        // The options are the help lines that start with one (the text around them mentions others).
        let options = Set(help.split(separator: "\n").compactMap { line in
            line.trimmingPrefix(while: \.isWhitespace).prefixMatch(of: #/--[a-z][a-z-]*/#).map { String($0.output) }
        })
            .subtracting(["--output", "--resume", "--overwrite", "--threads", "--source", "--target", "--help", "--version",
                          "--from"])  // the other way to start a run (fine-tuning): FineTuneCommandTests
        XCTAssertFalse(options.isEmpty)
        func field(_ option: String) -> String {
            option.dropFirst(2).split(separator: "-").enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
        }
        for option in options { XCTAssertTrue(savedFields.contains(field(option)), "\(option) is not saved: \(savedFields)") }
        XCTAssertEqual(saved.data.train, Self.corpus, "paths are saved absolute")

        // Resumed from elsewhere with nothing but the run and a new end: the saved peak, warm-up
        // and cool-down length shape the rates, the ramp now ending at update 7.
        let elsewhere = try Fixtures.temporaryDirectory("nmt-train-elsewhere")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let resumed = try NMTProcess.run(["train", "--resume", output.path, "--max-steps", "7"], currentDirectory: elsewhere)
        XCTAssertEqual(resumed.status, 0, resumed.standardError + resumed.standardOutput)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from \(output.path)/checkpoints/step-00000004 at step 4"), resumed.standardOutput)
        XCTAssertTrue(resumed.standardOutput.contains("over updates 5–7"), resumed.standardOutput)
        let rates = try TrainingLog.trainingValues("learning_rate", in: output.appendingPathComponent("training-log.jsonl"))
        let schedule = LearningRateSchedule(peak: 0.002, warmup: 3, coolDown: .init(end: 7, updates: 3))
        for step in 5...7 { XCTAssertEqual(rates[step] ?? 0, schedule.rate(step: step), accuracy: 1e-12, "step \(step)") }
        XCTAssertEqual(try Checkpoint.load(XCTUnwrap(Checkpoint.latest(in: output.appendingPathComponent("checkpoints")))).state.step, 7)
        let resaved = try JSONDecoder().decode(TrainingRun.self, from: Data(contentsOf: file))
        XCTAssertEqual(resaved.optimization.maxSteps, 7, "the resumed run's options are saved for the next resume")
    }

    /// nmt before the declared run saved the options as a command line, {"arguments": [...]}: such
    /// a run resumes with them.
    func testARunSavedByAnOlderNMTResumes() throws {
        let started = try NMTProcess.run(trainArguments(epochs: 1, extra: ["--max-steps", "2", "--threads", "1"]))
        XCTAssertEqual(started.status, 0, started.standardError + started.standardOutput)
        let legacy = ["--train", Self.corpus, "--tokenizer", Self.tokenizer, "--preset", "tiny", "--epochs", "1", "--warmup", "100",
                      "--learning-rate", "3e-3", "--batch-tokens", "256", "--log-every", "50", "--seed", "1", "--max-steps", "2",
                      "--cool-down", "2"]
        let data = try JSONSerialization.data(withJSONObject: ["arguments": legacy], options: [.prettyPrinted, .sortedKeys])
        try data.write(to: output.appendingPathComponent("training-arguments.json"))
        let resumed = try NMTProcess.run(["train", "--resume", output.path, "--max-steps", "4", "--threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.standardError + resumed.standardOutput)
        XCTAssertTrue(resumed.standardOutput.contains("over updates 3–4"), "the saved --cool-down 2 applies: \(resumed.standardOutput)")
        XCTAssertEqual(try Checkpoint.load(XCTUnwrap(Checkpoint.latest(in: output.appendingPathComponent("checkpoints")))).state.step, 4)
        let resaved = try JSONDecoder().decode(TrainingRun.self, from: Data(contentsOf: output.appendingPathComponent("training-arguments.json")))
        XCTAssertEqual(resaved.schedule.coolDown, 2, "saved again as the declared run")
        XCTAssertEqual(resaved.optimization.maxSteps, 4)
    }

    func testResumeOfARunWithoutSavedArgumentsAsksForTheData() throws {
        let started = try NMTProcess.run(trainArguments(epochs: 1, extra: ["--max-steps", "2", "--threads", "1"]))
        XCTAssertEqual(started.status, 0, started.standardError + started.standardOutput)
        try FileManager.default.removeItem(at: output.appendingPathComponent("training-arguments.json"))
        let resumed = try NMTProcess.run(["train", "--resume", output.path])
        XCTAssertNotEqual(resumed.status, 0)
        let lines = resumed.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, resumed.standardError)
        XCTAssertTrue(resumed.standardError.contains("training-arguments.json: not found"), resumed.standardError)
        XCTAssertTrue(resumed.standardError.contains("--train FILE"), resumed.standardError)
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
