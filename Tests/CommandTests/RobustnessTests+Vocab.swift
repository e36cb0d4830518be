import Foundation
import XCTest

/// docs/ROBUSTNESS.md, nmt vocab learn and nmt tokenize.
extension RobustnessTests {
    func learn(_ files: [String], _ options: [String] = []) -> [String] {
        ["vocab", "learn", "--quiet", "--size", "300", "--output", output("vocab.json")] + options + files
    }

    func testVocabMissingFile() throws {
        try expectFailure(learn([missingFile]), mentions: [missingFile, "No such file"])
    }

    func testVocabEmptyFileLearnsNoPieces() throws {
        try expectSuccess(learn([try emptyFile()]))
        XCTAssertTrue(FileManager.default.fileExists(atPath: output("vocab.json")))
    }

    func testVocabDirectoryInsteadOfFile() throws {
        let directory = try directoryInsteadOfFile()
        try expectFailure(learn([directory]), mentions: [directory, "it is a directory"])
    }

    func testVocabUnreadableFile() throws {
        let path = try unreadableFile()
        try expectFailure(learn([path]), mentions: [path])
    }

    func testVocabInvalidUTF8SkipsTheLineOrFailsWithStrict() throws {
        let path = try invalidUTF8File()
        let outcome = try expectSuccess(learn([path]))
        XCTAssertEqual(lines(outcome.standardError), ["\(path):2: invalid UTF-8, line skipped"])
        try FileManager.default.removeItem(atPath: output("vocab.json"))
        try expectFailure(learn([path], ["--strict"]), mentions: ["\(path):2"])
    }

    /// U+0000 is a character: seen once, it gets no piece and is encoded as the byte <0x00>.
    func testVocabNULByteIsText() throws {
        let outcome = try expectSuccess(learn([try nulFile()]))
        XCTAssertEqual(outcome.standardError, "")
    }

    func testVocabMegabyteLineAndBlankLines() throws {
        try expectSuccess(learn([try file("long.txt", Self.megabyteLine + "\n"), try file("blank.txt", Self.blankLines)]))
    }

    func testVocabTSVWithVaryingColumns() throws {
        // Every field is a sentence, however many a line has: nothing to refuse.
        try expectSuccess(learn([try file("c.tsv", "a b\tc d\ne f\ng\th\ti\n")]))
    }

    func testVocabOutOfRangeOptions() throws {
        let corpus = try file("c.txt", "I am a student.\n")
        for (option, value) in [("--size", "0"), ("--size", "10"), ("--min-pair-frequency", "0"), ("--min-character-frequency", "-1")] {
            try expectFailure(learn([corpus], ["\(option)=\(value)"]), mentions: [option])
        }
    }

    func testVocabOutputInMissingDirectory() throws {
        let path = scratch.appendingPathComponent("no-such-dir/v.json").path
        try expectFailure(["vocab", "learn", "--quiet", "--output", path, try file("c.txt", "I am a student.\n")], mentions: [path, "No such file"])
    }

    // MARK: tokenize

    func testTokenizeBadTokenizerFiles() throws {
        try expectFailure(["tokenize", "--tokenizer", missingFile, "x"], mentions: [missingFile])
        let empty = try emptyFile("empty.json")
        try expectFailure(["tokenize", "--tokenizer", empty, "x"], mentions: [empty])
        let directory = try directoryInsteadOfFile()
        try expectFailure(["tokenize", "--tokenizer", directory, "x"], mentions: [directory, "it is a directory"])
        let invalid = try invalidUTF8File("invalid.json")
        try expectFailure(["tokenize", "--tokenizer", invalid, "x"], mentions: [invalid])
        let nul = try nulFile("nul.json")
        try expectFailure(["tokenize", "--tokenizer", nul, "x"], mentions: [nul])
        let unsupported = try modelWithTokenizerKind("Unigram") + "/tokenizer.json"
        try expectFailure(["tokenize", "--tokenizer", unsupported, "x"], mentions: [unsupported, "Unigram"])
    }

    func testTokenizeUnreadableTokenizer() throws {
        let path = try unreadableFile("unreadable.json")
        try expectFailure(["tokenize", "--tokenizer", path, "x"], mentions: [path])
    }

    func testTokenizeMegabyteLine() throws {
        let outcome = try expectSuccess(["tokenize", "--tokenizer", tokenizerPath], input: Self.megabyteLine + "\n")
        XCTAssertEqual(lines(outcome.standardOutput).count, 2)
    }

    func testTokenizeBlankLines() throws {
        let outcome = try expectSuccess(["tokenize", "--tokenizer", tokenizerPath], input: Self.blankLines)
        XCTAssertEqual(outcome.standardOutput, String(repeating: "\n", count: 20_000), "an empty pieces line and an empty ids line each")
    }

    /// U+0000 is a character: tokenize shows what the tokenizer does with it (the byte <0x00>).
    func testTokenizeNULByteIsText() throws {
        let outcome = try expectSuccess(["tokenize", "--tokenizer", tokenizerPath], input: "I am.\nI\0am.\n")
        XCTAssertTrue(outcome.standardOutput.contains("<0x00>"), outcome.standardOutput)
    }

    func testTokenizeOutOfRangeId() throws {
        try expectFailure(["tokenize", "--tokenizer", tokenizerPath, "--decode", "5 99999"], mentions: ["99999"])
        try expectFailure(["tokenize", "--tokenizer", tokenizerPath, "--decode", "5 -3"], mentions: ["-3"])
    }
}
