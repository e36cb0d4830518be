import Foundation
import XCTest

/// docs/ROBUSTNESS.md, nmt train: bad corpora, tokenizers and options only — nothing here
/// trains a step. A failed run must not leave its --output directory behind.
extension RobustnessTests {
    func train(_ data: [String], _ options: [String] = [], tokenizer: String? = nil) -> [String] {
        ["train", "--tokenizer", tokenizer ?? tokenizerPath, "--output", output("run"), "--preset", "tiny", "--epochs", "1"] + data + options
    }

    func testTrainMissingCorpus() throws {
        try expectFailure(train(["--train", missingFile]), mentions: [missingFile])
    }

    func testTrainEmptyCorpus() throws {
        let path = try emptyFile("empty.tsv")
        try expectFailure(train(["--train", path]), mentions: [path])
    }

    func testTrainDirectoryCorpus() throws {
        let directory = try directoryInsteadOfFile()
        try expectFailure(train(["--train", directory]), mentions: [directory])
    }

    func testTrainUnreadableCorpus() throws {
        let path = try unreadableFile("unreadable.tsv")
        try expectFailure(train(["--train", path]), mentions: [path])
    }

    func testTrainStrictInvalidUTF8() throws {
        let invalid = try file("invalid.tsv", Array("I am a student.\tJe suis étudiant.\n".utf8) + [0x49, 0xFF, 0x09, 0x4A, 0x0A])
        try expectFailure(train(["--train", invalid, "--strict"]), mentions: ["\(invalid):2"])
    }

    func testTrainStrictWrongColumnCount() throws {
        let tsv = try file("c.tsv", "I am a student.\tJe suis étudiant.\nYou are a teacher.\n")
        try expectFailure(train(["--train", tsv, "--strict"]), mentions: ["\(tsv):2"])
    }

    func testTrainMismatchedParallelFiles() throws {
        let source = try file("c.en", "I am a student.\nYou are a teacher.\n")
        let target = try file("c.fr", "Je suis étudiant.\n")
        try expectFailure(train(["--source", source, "--target", target]), mentions: [source])
    }

    func testTrainBadTokenizer() throws {
        let corpus = try file("c.tsv", "I am a student.\tJe suis étudiant.\n")
        try expectFailure(train(["--train", corpus], tokenizer: missingFile), mentions: [missingFile])
        let unsupported = try modelWithTokenizerKind("WordPiece") + "/tokenizer.json"
        try expectFailure(train(["--train", corpus], tokenizer: unsupported), mentions: [unsupported])
    }

    func testTrainResumeWithBadSavedArguments() throws {
        // `nmt train --resume RUN` alone reads RUN/training-arguments.json: a broken one is named.
        let run = scratch.appendingPathComponent("saved-run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let saved = run.appendingPathComponent("training-arguments.json")
        for text in ["{\"arguments\": 3}", "[\"--epochs\"", "{\"arguments\": [\"--epochs\", \"0\"]}",
                     "{\"arguments\": [\"--no-such-option\"]}", "{\"optimization\": {\"epochs\": 0}}",
                     "{\"optimization\": {\"epochs\": \"ten\"}}", "{\"optimization\": {\"no_such_option\": 1}}"] {
            try text.write(to: saved, atomically: true, encoding: .utf8)
            try expectFailure(["train", "--resume", run.path], mentions: [saved.path])
        }
        try FileManager.default.removeItem(at: saved)
        // A folder with neither saved options nor checkpoints is no run (issue 20, item 4)…
        try expectFailure(["train", "--resume", run.path], mentions: [run.path, "not a training run"])
        // …one with checkpoints but no saved options is a run of an nmt before they were saved.
        try FileManager.default.createDirectory(at: run.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        try expectFailure(["train", "--resume", run.path], mentions: [saved.path, "--train FILE"])
    }

    func testTrainOutOfRangeOptions() throws {
        let corpus = try file("c.tsv", "I am a student.\tJe suis étudiant.\n")
        for (option, value) in [("--threads", "0"), ("--epochs", "0"), ("--max-length", "-1"), ("--batch-tokens", "0"),
                                ("--activation", "tanhh"), ("--learning-rate", "-1"), ("--d-model", "0"), ("--heads", "0")] {
            try expectFailure(train(["--train", corpus], ["\(option)=\(value)"]), mentions: [option])
        }
    }
}
