import Foundation
import XCTest

/// docs/ROBUSTNESS.md, nmt translate: the --input file, the model directory, the options.
extension RobustnessTests {
    func translate(_ arguments: [String], model: String? = nil) -> [String] {
        ["translate", "--model", model ?? Self.goodModel.path] + arguments
    }

    func testTranslateMissingInput() throws {
        try expectFailure(translate(["--input", missingFile, "--output", output()]), mentions: [missingFile])
    }

    func testTranslateEmptyInputGivesEmptyOutput() throws {
        try expectSuccess(translate(["--input", try emptyFile(), "--output", output()]))
        XCTAssertEqual(try String(contentsOfFile: output(), encoding: .utf8), "")
    }

    func testTranslateDirectoryInput() throws {
        let directory = try directoryInsteadOfFile()
        try expectFailure(translate(["--input", directory, "--output", output()]), mentions: [directory])
    }

    func testTranslateUnreadableInput() throws {
        let path = try unreadableFile()
        try expectFailure(translate(["--input", path, "--output", output()]), mentions: [path])
    }

    func testTranslateInvalidUTF8() throws {
        let path = try invalidUTF8File()
        try expectFailure(translate(["--input", path, "--output", output()]), mentions: ["\(path):2"])
    }

    func testTranslateNULByte() throws {
        let path = try nulFile()
        try expectFailure(translate(["--input", path, "--output", output()]), mentions: ["\(path):2"])
    }

    func testTranslateMegabyteLine() throws {
        let path = try file("long.txt", Self.megabyteLine + "\n")
        let outcome = try expectSuccess(translate(["--input", path, "--output", output(), "--beam", "1"]))
        XCTAssertEqual(lines(outcome.standardError).count, 1, "one warning naming the line: \(outcome.standardError)")
        XCTAssertTrue(outcome.standardError.contains("\(path):1"), outcome.standardError)
        XCTAssertEqual(lines(try String(contentsOfFile: output(), encoding: .utf8)).count, 1)
    }

    func testTranslateBlankLinesGiveBlankLines() throws {
        let outcome = try expectSuccess(translate([]), input: Self.blankLines)
        XCTAssertEqual(outcome.standardOutput, Self.blankLines)
        XCTAssertEqual(outcome.standardError, "")
    }

    func testTranslateModelMissingAFile() throws {
        for name in ["config.json", "model.safetensors", "tokenizer.json"] {
            try expectFailure(translate(["x"], model: try modelWithout(name)), mentions: [name])
        }
    }

    func testTranslateTruncatedWeights() throws {
        try expectFailure(translate(["x"], model: try modelWithTruncatedWeights()), mentions: ["model.safetensors"])
    }

    func testTranslateCorruptedWeights() throws {
        try expectFailure(translate(["x"], model: try modelWithCorruptedWeights()), mentions: ["model.safetensors"])
    }

    func testTranslateConfigWrongType() throws {
        try expectFailure(translate(["x"], model: try modelWithConfig(["d_model": "sixteen"])), mentions: ["config.json", "d_model"])
    }

    func testTranslateConfigUnknownActivation() throws {
        try expectFailure(translate(["x"], model: try modelWithConfig(["activation_function": "tanhh"])),
                          mentions: ["config.json", "activation_function"])
    }

    func testTranslateUnsupportedTokenizerKind() throws {
        try expectFailure(translate(["x"], model: try modelWithTokenizerKind("WordPiece")), mentions: ["tokenizer.json", "WordPiece"])
    }

    func testTranslateVocabularySizeDisagreesWithEmbedding() throws {
        try expectFailure(translate(["x"], model: try modelWithConfig(["vocab_size": 999, "decoder_vocab_size": 999])), mentions: ["model.safetensors"])
        try expectFailure(translate(["x"], model: try modelWithLargerTokenizer()), mentions: ["tokenizer.json"])
    }

    func testTranslateOutOfRangeOptions() throws {
        let input = try file("in.txt", "I am a student.\n")
        for (option, value) in [("--beam", "0"), ("--max-length", "-1"), ("--threads", "0"), ("--batch-size", "0"), ("--n-best", "0")] {
            try expectFailure(translate(["--input", input, "--output", output(), "\(option)=\(value)"]), mentions: [option])
        }
    }

    /// The bad line comes after the first chunks were written to the temporary output: it must go.
    func testTranslateFailureAfterWrittenChunksLeavesNoOutput() throws {
        let path = try file("late.txt", Array(String(repeating: "\n", count: 700).utf8) + [0x49, 0xFF, 0x0A])
        try expectFailure(translate(["--input", path, "--output", output()]), mentions: ["\(path):701"])
    }

    func testTranslateOutputIsADirectory() throws {
        try expectFailure(translate(["I am a student.", "--output", outDirectory.path]), mentions: [outDirectory.path])
    }

    func testTranslateOutputInMissingDirectory() throws {
        let path = scratch.appendingPathComponent("no-such-dir/out.txt").path
        try expectFailure(translate(["I am a student.", "--output", path]), mentions: [path])
    }
}
