import Foundation
import TestSupport
import Tokenizers
import XCTest

/// OPUS-MT / Hugging Face Marian folders through the built `nmt` binary: every command takes them
/// with --model DIR, and the fixtures' transformers cases come out the same from model.safetensors
/// and from pytorch_model.bin, with shared and with separate vocabularies.
final class OpusMTCommandTests: XCTestCase {
    static let folders = ["opus-mt-tiny", "opus-mt-tiny-separate"]

    func expected(_ folder: String) throws -> OpusMTExpected { try OpusMTExpected.load(folder) }

    func nmt(_ arguments: [String], input: String? = nil) throws -> NMTProcess.Outcome {
        try NMTProcess.run(arguments, input: input, currentDirectory: Fixtures.packageRoot)
    }

    /// The JSON objects of standard output, one a line.
    func objects(_ outcome: NMTProcess.Outcome, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        XCTAssertEqual(outcome.status, 0, outcome.standardError, file: file, line: line)
        return try outcome.standardOutput.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], file: file, line: line)
        }
    }

    func testTokenizeGivesTransformersIds() throws {
        for folder in Self.folders {
            let cases = try expected(folder).tokenize
            let outcome = try nmt(["tokenize", "--model", Fixtures.url(folder).path, "--format", "json"] + cases.map(\.text))
            let results = try objects(outcome)
            XCTAssertEqual(results.count, cases.count, folder)
            for (result, item) in zip(results, cases) {
                XCTAssertEqual(result["ids"] as? [Int], item.ids, "\(folder): \(item.text.debugDescription)")
                XCTAssertEqual((result["tokens"] as? [String])?.count, item.ids.count)
            }
        }
    }

    /// `tokenize --decode --model` reads target ids: transformers' texts of the generated ids.
    func testTokenizeDecodesTargetIds() throws {
        for folder in Self.folders {
            let cases = try expected(folder).generate.prefix(8)
            let outcome = try nmt(["tokenize", "--model", Fixtures.url(folder).path, "--decode"],
                                  input: cases.map { $0.greedy_ids.map(String.init).joined(separator: " ") + "\n" }.joined())
            XCTAssertEqual(outcome.status, 0, outcome.standardError)
            XCTAssertEqual(outcome.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init),
                           cases.map(\.greedy_text), folder)
        }
    }

    /// Greedy and beam 4 from both weight files of both folders: transformers' ids, texts and scores.
    func testTranslateReproducesTransformersGenerate() throws {
        for folder in Self.folders {
            let cases = try expected(folder).generate
            let input = cases.map { $0.source + "\n" }.joined()
            for form in [folder, "\(folder)/pytorch"] {
                for beam in [1, 4] {
                    let outcome = try nmt(["translate", "--model", Fixtures.url(form).path, "--beam", String(beam),
                                           "--max-length", "40", "--format", "json"], input: input)
                    let results = try objects(outcome)
                    XCTAssertEqual(results.count, cases.count, "\(form) beam \(beam)")
                    for (result, item) in zip(results, cases) {
                        let best = try XCTUnwrap((result["translations"] as? [[String: Any]])?.first)
                        XCTAssertEqual(result["source"] as? String, item.source)
                        XCTAssertEqual(best["ids"] as? [Int], Array((beam == 1 ? item.greedy_ids : item.beam4_ids).dropFirst()),
                                       "\(form) beam \(beam): \(item.source)")
                        XCTAssertEqual(best["text"] as? String, beam == 1 ? item.greedy_text : item.beam4_text, "\(form) beam \(beam)")
                        if beam == 4 {
                            XCTAssertEqual(try XCTUnwrap(best["score"] as? Double), item.beam4_score, accuracy: 1e-4, "\(form): \(item.source)")
                        }
                    }
                }
            }
        }
    }

    /// n-best lists: the first is beam 4's best, the rest in falling score; the text format too.
    func testNBestFromAnOpusMTFolder() throws {
        let folder = "opus-mt-tiny-separate/pytorch"
        let item = try expected("opus-mt-tiny-separate").generate[3]
        let results = try objects(try nmt(["translate", "--model", Fixtures.url(folder).path, "--n-best", "3", "--format", "json", item.source]))
        let translations = try XCTUnwrap(results.first?["translations"] as? [[String: Any]])
        XCTAssertEqual(translations.count, 3)
        XCTAssertEqual(translations[0]["text"] as? String, item.beam4_text)
        let scores = translations.compactMap { $0["score"] as? Double }
        XCTAssertEqual(scores, scores.sorted(by: >))
        let text = try nmt(["translate", "--model", Fixtures.url(folder).path, item.source])
        XCTAssertEqual(text.status, 0, text.standardError)
        XCTAssertEqual(text.standardOutput, item.beam4_text + "\n")
    }

    /// A copy of opus-mt-tiny whose vocab.json has `>>fra<<` in place of a piece the test
    /// sentence does not use: the token is cut off whole, read as its vocabulary id, and changes
    /// what the model is given.
    func testLanguageTokenIsOneSourceToken() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = Fixtures.url("opus-mt-tiny")
        for name in ["config.json", "model.safetensors", "source.spm", "target.spm", "tokenizer_config.json", "generation_config.json"] {
            try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        let sentence = try expected("opus-mt-tiny").generate[0].source
        let plain = try MarianTokenizer(directory: folder).encodeSource(sentence)
        var vocabulary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("vocab.json"))) as? [String: Int])
        let (piece, id) = try XCTUnwrap(vocabulary.filter { $0.value > 10 && $0.value < 1000 && !plain.contains($0.value) }.min { $0.value < $1.value })
        vocabulary.removeValue(forKey: piece)
        vocabulary[">>fra<<"] = id
        try JSONSerialization.data(withJSONObject: vocabulary).write(to: directory.appendingPathComponent("vocab.json"))

        let tokens = try objects(try nmt(["tokenize", "--model", directory.path, "--format", "json", ">>fra<< " + sentence]))
        XCTAssertEqual(tokens.first?["ids"] as? [Int], [id] + plain)
        XCTAssertEqual((tokens.first?["tokens"] as? [String])?.first, ">>fra<<")
        let translations = try objects(try nmt(["translate", "--model", directory.path, "--format", "json", "--beam", "1"],
                                               input: ">>fra<< \(sentence)\n\(sentence)\n"))
        let ids = translations.map { (($0["translations"] as? [[String: Any]])?.first?["ids"] as? [Int]) ?? [] }
        guard ids.count == 2 else { return XCTFail("two translations expected, got \(ids.count)") }
        XCTAssertFalse(ids[0].isEmpty)
        // Without the token the folder translates as the original one does.
        XCTAssertEqual(ids[1], Array(try expected("opus-mt-tiny").generate[0].greedy_ids.dropFirst()))
        // With it, as transformers does (when its Python is here).
        let python = "/root/REF/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { return }
        let script = """
            import sys, json, warnings
            warnings.filterwarnings("ignore")
            from transformers import MarianMTModel, MarianTokenizer
            folder, text = sys.argv[1], sys.argv[2]
            tokenizer = MarianTokenizer.from_pretrained(folder)
            model = MarianMTModel.from_pretrained(folder).eval()
            batch = tokenizer([text], return_tensors="pt")
            out = model.generate(**batch, num_beams=1, do_sample=False, max_new_tokens=40)
            print(json.dumps({"input": batch.input_ids[0].tolist(), "output": out[0].tolist()[1:]}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, directory.path, ">>fra<< " + sentence]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let reference = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [Int]] else {
            return XCTFail("transformers did not run on the language-token folder")
        }
        XCTAssertEqual(reference["input"], [id] + plain)
        var output = reference["output"] ?? []
        if let end = output.firstIndex(of: 0) { output = Array(output[...end]) }
        XCTAssertEqual(ids[0], output, "greedy with >>fra<<, as transformers")
    }

    /// attention and walkthrough label source tokens from the source vocabulary and output tokens
    /// from the target one (they differ in the separate fixture).
    func testAttentionAndWalkthroughUseEachSidesVocabulary() throws {
        let folder = Fixtures.url("opus-mt-tiny-separate")
        let item = try expected("opus-mt-tiny-separate").generate[1]
        let tokenizer = try MarianTokenizer(directory: folder)
        let sourcePieces = tokenizer.sourceTokens(item.source).map(\.piece) + ["</s>"]
        let outputPieces = item.beam4_ids.dropFirst().map { tokenizer.targetPiece(for: $0)! }
        let attention = try nmt(["attention", "--model", folder.path, "--kind", "cross", "--format", "json", item.source])
        XCTAssertEqual(attention.status, 0, attention.standardError)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(attention.standardOutput.utf8)))
        let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        for piece in sourcePieces + outputPieces {
            let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [piece]), as: UTF8.self).dropFirst().dropLast()
            XCTAssertTrue(text.contains(quoted), "attention names \(piece)")
        }
        let walkthrough = try nmt(["walkthrough", "--model", Fixtures.url("opus-mt-tiny-separate/pytorch").path, item.source])
        XCTAssertEqual(walkthrough.status, 0, walkthrough.standardError)
        XCTAssertTrue(walkthrough.standardOutput.contains(item.greedy_text), "the walkthrough ends with the greedy translation")
        for piece in sourcePieces { XCTAssertTrue(walkthrough.standardOutput.contains(piece), "walkthrough shows \(piece)") }
    }

    /// evaluate translates with the folder: against transformers' own beam-4 texts as references, BLEU 100.
    func testEvaluateTranslatesWithTheFolder() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases = try expected("opus-mt-tiny-separate").generate
        let sources = directory.appendingPathComponent("sources.txt"), references = directory.appendingPathComponent("references.txt")
        try Data(cases.map { $0.source + "\n" }.joined().utf8).write(to: sources)
        try Data(cases.map { $0.beam4_text + "\n" }.joined().utf8).write(to: references)
        let results = try objects(try nmt(["evaluate", "--model", Fixtures.url("opus-mt-tiny-separate/pytorch").path,
                                           "--source", sources.path, "--reference", references.path, "--format", "json"]))
        XCTAssertEqual(try XCTUnwrap(results.first?["bleu"] as? Double), 100, accuracy: 1e-9)
    }

    /// export writes model.safetensors from pytorch_model.bin and keeps the tokenizer files; the
    /// copy translates as the original does.
    func testExportKeepsTheTokenizerFiles() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("exported")
        let source = Fixtures.url("opus-mt-tiny-separate/pytorch")
        let export = try nmt(["export", source.path, "--output", output.path, "--dtype", "f32"])
        XCTAssertEqual(export.status, 0, export.standardError)
        for name in ["config.json", "model.safetensors", "generation_config.json", "source.spm", "target.spm", "vocab.json",
                     "target_vocab.json", "tokenizer_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.appendingPathComponent("tokenizer.json").path))
        for name in ["source.spm", "target_vocab.json"] {
            XCTAssertEqual(try Data(contentsOf: output.appendingPathComponent(name)), try Data(contentsOf: source.appendingPathComponent(name)))
        }
        let cases = try expected("opus-mt-tiny-separate").generate
        let translated = try objects(try nmt(["translate", "--model", output.path, "--format", "json"], input: cases.map { $0.source + "\n" }.joined()))
        XCTAssertEqual(translated.compactMap { ($0["translations"] as? [[String: Any]])?.first?["text"] as? String }, cases.map(\.beam4_text))
    }

    /// A folder missing a tokenizer file, or with a vocabulary that disagrees with the model, is
    /// one line naming the file, exit 1.
    func testBrokenFoldersAreOneLine() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = Fixtures.url("opus-mt-tiny-separate/pytorch")
        for name in ["config.json", "pytorch_model.bin", "source.spm", "vocab.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        func assertFails(_ arguments: [String], mentioning text: String, line: UInt = #line) throws {
            let outcome = try nmt(arguments)
            XCTAssertEqual(outcome.status, 1, line: line)
            XCTAssertTrue(outcome.standardError.contains(text), "“\(outcome.standardError)” should mention \(text)", line: line)
            XCTAssertEqual(outcome.standardError.split(separator: "\n").count, 1, outcome.standardError, line: line)
        }
        try assertFails(["translate", "--model", directory.path, "x"], mentioning: "target.spm: missing from the model directory")
        try FileManager.default.copyItem(at: folder.appendingPathComponent("target.spm"), to: directory.appendingPathComponent("target.spm"))
        try assertFails(["translate", "--model", directory.path, "x"], mentioning: "target_vocab.json")
        // The shared fixture's vocabulary (1,074 pieces) beside this 500-row model (without the
        // tokenizer_config.json, whose <pad> 499 would be refused first).
        try FileManager.default.removeItem(at: directory.appendingPathComponent("tokenizer_config.json"))
        try FileManager.default.copyItem(at: Fixtures.url("opus-mt-tiny/vocab.json"), to: directory.appendingPathComponent("target_vocab.json"))
        try FileManager.default.removeItem(at: directory.appendingPathComponent("vocab.json"))
        try FileManager.default.copyItem(at: Fixtures.url("opus-mt-tiny/vocab.json"), to: directory.appendingPathComponent("vocab.json"))
        try assertFails(["translate", "--model", directory.path, "x"], mentioning: "vocab_size 500")
    }

    /// Broken files inside an otherwise good folder, through every command that reads them.
    func testBrokenFilesInAFolderAreOneLine() throws {
        let folder = Fixtures.url("opus-mt-tiny/pytorch")
        func brokenCopy(_ name: String, _ data: Data) throws -> URL {
            let directory = try Fixtures.temporaryDirectory()
            addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
            for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
                try FileManager.default.copyItem(at: folder.appendingPathComponent(file), to: directory.appendingPathComponent(file))
            }
            try data.write(to: directory.appendingPathComponent(name))
            return directory
        }
        func assertFails(_ directory: URL, mentioning texts: [String], line: UInt = #line) throws {
            for arguments in [["translate", "--model", directory.path, "x"], ["tokenize", "--model", directory.path, "x"],
                              ["attention", "--model", directory.path, "x"], ["export", directory.path, "--output", directory.appendingPathComponent("out").path]]
            where !(arguments[0] == "tokenize" && texts.contains { $0.contains("pytorch_model.bin") }) {
                let outcome = try nmt(arguments)
                XCTAssertEqual(outcome.status, 1, "\(arguments[0]): \(outcome.standardError)", line: line)
                XCTAssertEqual(outcome.standardError.split(separator: "\n").count, 1, outcome.standardError, line: line)
                for text in texts { XCTAssertTrue(outcome.standardError.contains(text), "“\(outcome.standardError)” should mention \(text)", line: line) }
            }
        }
        let spm = try Data(contentsOf: folder.appendingPathComponent("source.spm"))
        try assertFails(try brokenCopy("source.spm", spm.prefix(spm.count / 2)), mentioning: ["source.spm: not a SentencePiece model"])
        try assertFails(try brokenCopy("source.spm", Data("{\"not\": \"protobuf\"}".utf8)), mentioning: ["source.spm: not a SentencePiece model"])
        var vocabulary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("vocab.json"))) as? [String: Int])
        vocabulary.removeValue(forKey: "</s>")
        try assertFails(try brokenCopy("vocab.json", try JSONSerialization.data(withJSONObject: vocabulary)), mentioning: ["vocab.json: no \"</s>\""])
        for name in ["foreign-global.bin", "unexpected-opcode.bin", "missing-storage.bin"] {
            let data = try Data(contentsOf: Fixtures.url("pytorch/\(name)"))
            try assertFails(try brokenCopy("pytorch_model.bin", data), mentioning: ["pytorch_model.bin"])
        }
        let weights = try Data(contentsOf: folder.appendingPathComponent("pytorch_model.bin"))
        try assertFails(try brokenCopy("pytorch_model.bin", weights.prefix(weights.count / 2)), mentioning: ["pytorch_model.bin: not a zip archive"])
    }
}
