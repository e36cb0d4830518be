import Foundation
import TestSupport
import XCTest

/// docs/ROBUSTNESS.md, "Outputs" (issue 20, item 1): no command replaces a file or a model
/// directory that is already there unless given --overwrite, and none writes into the shipped
/// models/ folder at all. Each refusal comes before any work, in one line naming the path and
/// the way out. (nmt train's run folder: FirstRunTests.)
extension RobustnessTests {
    /// A file of the user's, outside the `out` folder the failure checks watch.
    func usersFile() throws -> String { try file("mine.txt", "mine\n") }

    /// A training log for `nmt plot`.
    func trainingLog() throws -> String {
        try file("log.jsonl", #"{"event":"train","step":1,"loss":8.5}"# + "\n" + #"{"event":"train","step":2,"loss":7.5}"# + "\n")
    }

    /// Every command that writes a file or a folder, pointed at `target`.
    func writers(to target: String) throws -> [(command: [String], option: String)] {
        let corpus = try file("c.tsv", "I am a student.\tJe suis étudiant.\n")
        return [
            (translate(["I am a student.", "--output", target]), "--output"),
            (["vocab", "learn", "--quiet", "--size", "300", "--output", target, corpus], "--output"),
            (["plot", try trainingLog(), "--output", target], "--output"),
            (["attention", "--model", Self.goodModel.path, "I am a student.", "--svg", target], "--svg"),
            (["image", "attention", "--index", "0", "--svg", target], "--svg"),
            (["export", Self.goodModel.path, "--output", target], "--output"),
            (["average", Self.goodModel.path, Self.goodModel.path, "--output", target], "--output"),
            (["image", "train", "--epochs", "1", "--limit", "128", "--output", target], "--output"),
            (train(["--train", corpus], ["--max-steps", "1"]).map { $0 == output("run") ? target : $0 }, "--output"),
        ]
    }

    func testNoCommandReplacesAFileOfTheUsers() throws {
        let mine = try usersFile()
        for (command, option) in try writers(to: mine) {
            // A file output refuses and points at --overwrite; a folder output names what is there.
            let writesAFile = ["translate", "vocab", "plot", "attention"].contains(command[0]) || command.contains("--svg")
            try expectFailure(command, mentions: [mine] + (writesAFile ? ["already exists", "--overwrite"] : ["is a file", option]))
            XCTAssertEqual(try String(contentsOfFile: mine, encoding: .utf8), "mine\n", "\(command[0]) left the file alone")
        }
    }

    func testOverwriteReplacesAFile() throws {
        let mine = try usersFile()
        try expectSuccess(translate(["I am a student.", "--output", mine, "--overwrite"]))
        XCTAssertNotEqual(try String(contentsOfFile: mine, encoding: .utf8), "mine\n")
        try expectSuccess(["plot", try trainingLog(), "--output", mine, "--overwrite"])
        XCTAssertTrue(try String(contentsOfFile: mine, encoding: .utf8).hasPrefix("<?xml"))
    }

    /// export, average and image train onto a folder that holds a model (or anything): refused;
    /// export with --overwrite replaces the model's files and says what it wrote.
    func testModelDirectoryOutputsRefuseAFolderThatHoldsSomething() throws {
        let copy = try model { _ in }
        let before = try Data(contentsOf: URL(fileURLWithPath: copy).appendingPathComponent("model.safetensors"))
        for command in [["export", Self.goodModel.path, "--output", copy], ["average", Self.goodModel.path, Self.goodModel.path, "--output", copy],
                        ["image", "train", "--epochs", "1", "--limit", "128", "--output", copy]] {
            try expectFailure(command, mentions: [copy, "already holds", "config.json", "--overwrite"])
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy).appendingPathComponent("model.safetensors")), before)
        let exported = try expectSuccess(["export", Self.goodModel.path, "--output", copy, "--overwrite", "--dtype", "f16"])
        XCTAssertTrue(exported.standardOutput.hasPrefix("wrote \(copy): \(Self.goodModel.path)'s model with f16 weights ("), exported.standardOutput)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: copy).appendingPathComponent("model.safetensors")), before)
    }

    /// Issue 20: "Run onto a copy of models/en-fr, it replaced the shipped model". Nothing is ever
    /// written under the shipped models/ folder, --overwrite or not.
    func testNothingIsWrittenIntoTheShippedModels() throws {
        let models = Fixtures.packageRoot.appendingPathComponent("models")
        let inside = models.appendingPathComponent("nmt-test-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: inside) }
        for target in [inside.path, inside.appendingPathComponent("x.txt").path, models.appendingPathComponent("en-fr").path,
                       models.appendingPathComponent("en-fr/tokenizer.json").path] {
            for (command, _) in try writers(to: target) {
                try expectFailure(command + ["--overwrite"], mentions: ["shipped models folder", "never writes"])
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: inside.path))
        // Through a symbolic link too.
        let link = scratch.appendingPathComponent("models-link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: models)
        try expectFailure(["export", Self.goodModel.path, "--output", link.appendingPathComponent("en-fr").path, "--overwrite"],
                          mentions: ["shipped models folder"])
    }

    /// Issue 20, item 9: `nmt plot` labelled only each axis's ends and drew the loss from 0. Now
    /// the axes are marked at round values in between and the loss axis spans the losses; the
    /// updates axis is marked at whole updates.
    func testPlotMarksItsAxesBetweenTheEnds() throws {
        let log = try file("curves.jsonl", [(100, 8.5), (200, 7.25), (300, 6.0)].map { #"{"event":"train","step":\#($0.0),"loss":\#($0.1)}"# }
            .joined(separator: "\n") + "\n")
        try expectSuccess(["plot", log, "--output", output("curves.svg")])
        let svg = try String(contentsOfFile: output("curves.svg"), encoding: .utf8)
        for label in ["6.0", "6.5", "7.0", "7.5", "8.0", "8.5", "50", "150", "250"] {
            XCTAssertTrue(svg.contains(">\(label)</text>"), "a mark \(label): \(svg)")
        }
        XCTAssertFalse(svg.contains(">0.0</text>"), "the loss axis does not start at 0")
        let short = try file("short.jsonl", #"{"event":"train","step":1,"loss":8.5}"# + "\n" + #"{"event":"train","step":3,"loss":7.5}"# + "\n")
        try expectSuccess(["plot", short, "--output", output("short.svg")])
        let marks = try String(contentsOfFile: output("short.svg"), encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("text-anchor=\"middle\"") }.compactMap { $0.firstMatch(of: #/>([^<]*)</text>/#).map { String($0.output.1) } }
        XCTAssertEqual(marks, ["0", "1", "2", "3"])
    }
}
