import Foundation
import XCTest

/// docs/ROBUSTNESS.md, nmt evaluate: hypotheses, references and TSV test sets, the options.
extension RobustnessTests {
    func evaluate(hypotheses: String, reference: String) -> [String] {
        ["evaluate", "--hypotheses", hypotheses, "--reference", reference]
    }

    var goodLines: String { "I am a student.\nYou are a teacher.\n" }

    func testEvaluateMissingFiles() throws {
        let good = try file("ref.txt", goodLines)
        try expectFailure(evaluate(hypotheses: missingFile, reference: good), mentions: [missingFile])
        try expectFailure(evaluate(hypotheses: good, reference: missingFile), mentions: [missingFile])
        try expectFailure(["evaluate", "--hypotheses", good, missingFile], mentions: [missingFile])
    }

    func testEvaluateEmptyFilesScoreZero() throws {
        let outcome = try expectSuccess(evaluate(hypotheses: try emptyFile("hyp.txt"), reference: try emptyFile("ref.txt")) + ["--format", "json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
        XCTAssertEqual(report["bleu"] as? Double, 0)
    }

    func testEvaluateDirectoryInsteadOfFile() throws {
        let directory = try directoryInsteadOfFile()
        try expectFailure(evaluate(hypotheses: directory, reference: try file("ref.txt", goodLines)), mentions: [directory])
    }

    func testEvaluateUnreadableFile() throws {
        let path = try unreadableFile()
        try expectFailure(evaluate(hypotheses: path, reference: try file("ref.txt", goodLines)), mentions: [path])
    }

    func testEvaluateInvalidUTF8() throws {
        let path = try invalidUTF8File()
        try expectFailure(evaluate(hypotheses: path, reference: try file("ref.txt", goodLines)), mentions: ["\(path):2"])
    }

    /// U+0000 is a character like any other to the scorer: the line simply matches nothing.
    func testEvaluateNULByteIsText() throws {
        let outcome = try expectSuccess(evaluate(hypotheses: try nulFile(), reference: try file("ref.txt", goodLines)))
        XCTAssertEqual(outcome.standardError, "")
    }

    func testEvaluateMegabyteLine() throws {
        let line = try file("long.txt", Self.megabyteLine + "\n")
        let outcome = try expectSuccess(evaluate(hypotheses: line, reference: line) + ["--format", "json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(report["bleu"] as? Double), 100, accuracy: 1e-9)
    }

    func testEvaluateBlankLinesScoreZero() throws {
        let blank = try file("blank.txt", Self.blankLines)
        let outcome = try expectSuccess(evaluate(hypotheses: blank, reference: blank) + ["--format", "json"])
        XCTAssertEqual(outcome.standardError, "")
    }

    func testEvaluateTSVWithWrongColumnCount() throws {
        let tsv = try file("test.tsv", "I am a student.\tJe suis étudiant.\nYou are a teacher.\n")
        try expectFailure(["evaluate", "--hypotheses", try file("hyp.txt", goodLines), tsv], mentions: ["\(tsv):2"])
    }

    func testEvaluateMismatchedFiles() throws {
        let hypotheses = try file("hyp.txt", goodLines + "We are students.\n")
        try expectFailure(evaluate(hypotheses: hypotheses, reference: try file("ref.txt", goodLines)), mentions: ["\(hypotheses):3"])
    }

    func testEvaluateBrokenModel() throws {
        let tsv = try file("test.tsv", "I am a student.\tJe suis étudiant.\n")
        try expectFailure(["evaluate", "--model", try modelWithout("model.safetensors"), tsv], mentions: ["model.safetensors"])
    }

    func testEvaluateOutOfRangeOptions() throws {
        let tsv = try file("test.tsv", "I am a student.\tJe suis étudiant.\n")
        for (option, value) in [("--beam", "0"), ("--batch-size", "0"), ("--threads", "0")] {
            try expectFailure(["evaluate", "--model", Self.goodModel.path, tsv, "\(option)=\(value)"], mentions: [option])
        }
    }
}
