import Foundation
import NMT
import Tensor
import TestSupport
import Tokenizers
import XCTest

/// `nmt translate` run as the built binary on a small model directory made here: a tokenizer
/// learned from a few sentences and a randomly initialised model of its vocabulary. The model
/// translates nonsense, deterministically — these tests check the command, not the quality.
final class TranslateCommandTests: XCTestCase {
    static var modelDirectory: URL!

    override class func setUp() {
        super.setUp()
        modelDirectory = try! makeModelDirectory()
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: modelDirectory)
        super.tearDown()
    }

    static func makeModelDirectory() throws -> URL {
        var learner = BPELearner(options: .init(vocabularySize: 300, minPairFrequency: 1, minCharacterFrequency: 1))
        for sentence in ["I am a student.", "Je suis étudiant.", "You are a teacher.", "Tu es professeur.", "We are students."] {
            learner.add(sentence)
        }
        let tokenizer = try learner.learn()
        let config = ModelConfig(vocabularySize: tokenizer.vocabularySize, modelWidth: 16, encoderLayers: 1, decoderLayers: 1,
                                 heads: 2, feedForwardWidth: 32, maxPositions: 64, padId: tokenizer.padId, eosId: tokenizer.eosId)
        let model = Transformer(config: config)
        var generator = SeededGenerator(seed: 11)
        for i in 0..<model.parameters.count { model.parameters.values[i] = generator.nextNormal() * 0.3 }
        let directory = try Fixtures.temporaryDirectory("nmt-translate")
        try ModelDirectory.save(model, to: directory, tokenizerJSON: tokenizer.jsonData())
        return directory
    }

    func translate(_ arguments: [String], input: String? = nil) throws -> NMTProcess.Outcome {
        try NMTProcess.run(["translate", "--model", Self.modelDirectory.path] + arguments, input: input, timeout: 60)
    }

    func testArgumentGivesOneLine() throws {
        let outcome = try translate(["I am a student."])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(outcome.standardOutput.filter { $0 == "\n" }.count, 1)
    }

    func testStandardInputLinesInOrderWithEmptyLines() throws {
        let lines = ["I am a student.", "", "You are a teacher.", "   ", "We are students.", "I am a student."]
        let outcome = try translate(["--beam", "2"], input: lines.joined(separator: "\n") + "\n")
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let output = outcome.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        XCTAssertEqual(output.count, lines.count, "one line out per line in")
        XCTAssertEqual(output[1], "")
        XCTAssertEqual(output[3], "")
        XCTAssertEqual(output[0], output[5], "the same sentence translates the same wherever it stands")
        // Each line alone gives the same translation as within the batch.
        let alone = try translate(["--beam", "2", "We are students."])
        XCTAssertEqual(alone.standardOutput, output[4] + "\n")
    }

    func testJSONOutputWithNBest() throws {
        let outcome = try translate(["--format", "json", "--beam", "4", "--n-best", "3"], input: "I am a student.\nYou are a teacher.\n")
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let lines = outcome.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for (line, source) in zip(lines, ["I am a student.", "You are a teacher."]) {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(object["source"] as? String, source)
            let translations = try XCTUnwrap(object["translations"] as? [[String: Any]])
            XCTAssertEqual(translations.count, 3)
            let scores = translations.compactMap { $0["score"] as? Double }
            XCTAssertEqual(scores, scores.sorted(by: >), "best first")
            for t in translations {
                XCTAssertEqual((t["tokens"] as? [String])?.count, (t["ids"] as? [Int])?.count)
                XCTAssertNotNil(t["text"] as? String)
            }
        }
    }

    func testInputAndOutputFiles() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.txt"), output = directory.appendingPathComponent("out.txt")
        try "I am a student.\nWe are students.\n".write(to: input, atomically: true, encoding: .utf8)
        let outcome = try translate(["--input", input.path, "--output", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(outcome.standardOutput, "")
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).count, 3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["in.txt", "out.txt"])
    }

    func testBadModelDirectoryAndOptionsAreOneLineErrors() throws {
        let missing = try NMTProcess.run(["translate", "--model", "/nonexistent/model", "Hello."])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.standardError.contains("/nonexistent/model"), missing.standardError)
        XCTAssertEqual(missing.standardError.split(separator: "\n").count, 1, missing.standardError)

        // A directory without its tokenizer.
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: Self.modelDirectory.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        let noTokenizer = try NMTProcess.run(["translate", "--model", directory.path, "Hello."])
        XCTAssertNotEqual(noTokenizer.status, 0)
        XCTAssertTrue(noTokenizer.standardError.contains("tokenizer.json"), noTokenizer.standardError)

        // A tokenizer that does not fit the model (the fixture's model has 53 tokens).
        let mismatched = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: mismatched) }
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: Fixtures.url("marian-tiny/\(file)"), to: mismatched.appendingPathComponent(file))
        }
        try FileManager.default.copyItem(at: Self.modelDirectory.appendingPathComponent("tokenizer.json"), to: mismatched.appendingPathComponent("tokenizer.json"))
        let mismatch = try NMTProcess.run(["translate", "--model", mismatched.path, "Hello."])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.standardError.contains("vocab_size 53"), mismatch.standardError)

        for bad in [["--beam", "0"], ["--n-best", "5", "--beam", "4"], ["--max-length", "-1"], ["--threads", "0"], ["--batch-size", "0"]] {
            let outcome = try translate(bad + ["Hello."])
            XCTAssertNotEqual(outcome.status, 0, "\(bad)")
            XCTAssertFalse(outcome.standardError.isEmpty, "\(bad)")
        }
    }

    func testOverlongInputWarnsAndTranslates() throws {
        let long = Array(repeating: "student", count: 200).joined(separator: " ")
        let outcome = try translate(["--beam", "1"], input: long + "\n")
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertTrue(outcome.standardError.contains("<stdin>:1"), outcome.standardError)
        XCTAssertEqual(outcome.standardOutput.filter { $0 == "\n" }.count, 1)
    }

    /// `nmt evaluate --model` scores exactly what `nmt translate` writes for the sources.
    func testEvaluateWithModelScoresItsOwnTranslations() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let test = directory.appendingPathComponent("test.tsv"), hypotheses = directory.appendingPathComponent("hyp.txt")
        try "I am a student.\tJe suis étudiant.\nYou are a teacher.\tTu es professeur.\tVous êtes professeur.\n"
            .write(to: test, atomically: true, encoding: .utf8)
        let sources = directory.appendingPathComponent("src.txt")
        try "I am a student.\nYou are a teacher.\n".write(to: sources, atomically: true, encoding: .utf8)
        XCTAssertEqual(try translate(["--input", sources.path, "--output", hypotheses.path, "--beam", "2"]).status, 0)
        let byModel = try NMTProcess.run(["evaluate", "--model", Self.modelDirectory.path, "--beam", "2", "--format", "json", test.path])
        let byFile = try NMTProcess.run(["evaluate", "--hypotheses", hypotheses.path, "--format", "json", test.path])
        XCTAssertEqual(byModel.status, 0, byModel.standardError)
        XCTAssertEqual(byModel.standardOutput, byFile.standardOutput)
        let references = directory.appendingPathComponent("ref.txt")
        try "Je suis étudiant.\nTu es professeur.\n".write(to: references, atomically: true, encoding: .utf8)
        let withSourceFile = try NMTProcess.run(["evaluate", "--model", Self.modelDirectory.path, "--beam", "2", "--format", "json",
                                                 "--source", sources.path, "--reference", references.path])
        let withHypotheses = try NMTProcess.run(["evaluate", "--hypotheses", hypotheses.path, "--format", "json", "--reference", references.path])
        XCTAssertEqual(withSourceFile.status, 0, withSourceFile.standardError)
        XCTAssertEqual(withSourceFile.standardOutput, withHypotheses.standardOutput)
    }
}
