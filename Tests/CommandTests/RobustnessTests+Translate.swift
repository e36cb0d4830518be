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
        // Split, it is 65,536 sentences, each of which the test model loops on: the first
        // warning and a count of the others, not 65,536 lines.
        let outcome = try expectSuccess(translate(["--input", path, "--output", output(), "--beam", "1"]))
        let warnings = lines(outcome.standardError)
        XCTAssertEqual(warnings.count, 2, outcome.standardError)
        XCTAssertTrue(warnings.allSatisfy { $0.hasPrefix("warning: \(path):1: ") }, outcome.standardError)
        XCTAssertTrue(warnings[1].contains("65535 more warnings about its other sentences"), outcome.standardError)
        XCTAssertEqual(lines(try String(contentsOfFile: output(), encoding: .utf8)).count, 1)
        // Whole, it is cut at the model's positions, with one warning naming the line.
        let whole = try expectSuccess(translate(["--input", path, "--output", output(), "--overwrite", "--beam", "1", "--no-split", "--no-repetition-guard"]))
        XCTAssertEqual(lines(whole.standardError).count, 1, "one warning naming the line: \(whole.standardError)")
        XCTAssertTrue(whole.standardError.contains("\(path):1: longer than the model's"), whole.standardError)
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
        let path = try file("late.txt", Array(String(repeating: "\n", count: 2100).utf8) + [0x49, 0xFF, 0x0A])
        try expectFailure(translate(["--input", path, "--output", output()]), mentions: ["\(path):2101"])
    }

    func testTranslateOutputIsADirectory() throws {
        try expectFailure(translate(["I am a student.", "--output", outDirectory.path]), mentions: [outDirectory.path])
    }

    func testTranslateOutputInMissingDirectory() throws {
        let path = scratch.appendingPathComponent("no-such-dir/out.txt").path
        try expectFailure(translate(["I am a student.", "--output", path]), mentions: [path])
    }
}
