import Foundation
import TestSupport
import XCTest

/// `nmt train --from DIR`: fine-tuning an OPUS-MT folder on Tatoeba pairs through the binary. The
/// result is a folder of the same kind (SentencePiece files, no tokenizer.json) that nmt and,
/// when /root/REF's Python is here, transformers load and translate alike.
final class FineTuneCommandTests: XCTestCase {
    static let python = "/root/REF/bin/python"

    func nmt(_ arguments: [String], input: String? = nil) throws -> NMTProcess.Outcome {
        try NMTProcess.run(arguments, input: input, currentDirectory: Fixtures.packageRoot, timeout: 300)
    }

    /// A few hundred Tatoeba pairs (lines 20,000 … 20,299 of the shared training corpus).
    func tatoebaPairs(into directory: URL) throws -> (file: URL, sources: [String]) {
        guard let corpus = Fixtures.sharedCorpus("tatoeba-eng-fra/train.tsv") else { throw XCTSkip("../shared/corpora/tatoeba-eng-fra is not here") }
        let lines = try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n").dropFirst(20_000).prefix(300)
        let file = directory.appendingPathComponent("pairs.tsv")
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: file)
        return (file, lines.prefix(6).map { String($0.split(separator: "\t")[0]) })
    }

    func testFineTunedOpusMTFolderLearnsAndLoadsInTransformers() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pairs, sources) = try tatoebaPairs(into: directory)
        for folder in ["opus-mt-tiny", "opus-mt-tiny-separate/pytorch"] {
            let output = directory.appendingPathComponent(folder.replacingOccurrences(of: "/", with: "-"))
            let trained = try nmt(["train", "--from", Fixtures.url(folder).path, "--train", pairs.path, "--output", output.path,
                                   "--max-steps", "40", "--batch-tokens", "600", "--learning-rate", "5e-4", "--warmup", "5",
                                   "--dropout", "0", "--log-every", "1", "--seed", "1", "--threads", "2",
                                   "--checkpoint-every", "10", "--keep-checkpoints", "3"])
            XCTAssertEqual(trained.status, 0, trained.standardError + trained.standardOutput)
            XCTAssertTrue(trained.standardOutput.contains("fine-tuning"), trained.standardOutput)

            // The loss falls: the mean of the last five logged steps is below that of the first five.
            let losses = try TrainingLog.trainingValues("loss", in: output.appendingPathComponent("training-log.jsonl"))
            let steps = losses.keys.sorted()
            XCTAssertGreaterThanOrEqual(steps.count, 30, folder)
            let first = steps.prefix(5).map { losses[$0]! }.reduce(0, +) / 5, last = steps.suffix(5).map { losses[$0]! }.reduce(0, +) / 5
            XCTAssertLessThan(last, first * 0.9, "\(folder): loss \(first) → \(last)")

            // The same kind of folder: the tokenizer files byte for byte, no tokenizer.json.
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.appendingPathComponent("tokenizer.json").path))
            for name in ["source.spm", "target.spm", "vocab.json", "tokenizer_config.json"] {
                XCTAssertEqual(try Data(contentsOf: output.appendingPathComponent(name)),
                               try Data(contentsOf: Fixtures.url(folder).appendingPathComponent(name)), "\(folder): \(name)")
            }
            let translated = try nmt(["translate", "--model", output.path, "--format", "json", "--max-length", "40"],
                                     input: sources.map { $0 + "\n" }.joined())
            XCTAssertEqual(translated.status, 0, translated.standardError)
            let ids = try translated.standardOutput.split(separator: "\n").map { line -> [Int] in
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return try XCTUnwrap((object["translations"] as? [[String: Any]])?.first?["ids"] as? [Int])
            }
            XCTAssertEqual(ids.count, sources.count)
            try assertTransformersGenerates(ids, from: output, sources: sources, folder: folder)

            // The run resumes from its checkpoint, whose tokenizer is the folder's SentencePiece files.
            let resumed = try nmt(["train", "--resume", output.path, "--max-steps", "44", "--threads", "2"])
            XCTAssertEqual(resumed.status, 0, resumed.standardError + resumed.standardOutput)
            XCTAssertTrue(resumed.standardOutput.contains("resuming from") && resumed.standardOutput.contains("done at step 44"), resumed.standardOutput)

            // Two of its checkpoints average into a folder of the same kind that translates.
            let averaged = directory.appendingPathComponent("averaged-\(output.lastPathComponent)")
            let average = try nmt(["average", "--last", "2", output.path, "--output", averaged.path])
            XCTAssertEqual(average.status, 0, average.standardError)
            XCTAssertEqual(try Data(contentsOf: averaged.appendingPathComponent("vocab.json")),
                           try Data(contentsOf: Fixtures.url(folder).appendingPathComponent("vocab.json")))
            let fromAverage = try nmt(["translate", "--model", averaged.path, sources[0]])
            XCTAssertEqual(fromAverage.status, 0, fromAverage.standardError)
        }
    }

    /// transformers loads `folder` (model and tokenizer) and its beam-4 search gives `expected`.
    func assertTransformersGenerates(_ expected: [[Int]], from folder: URL, sources: [String], folder name: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else { return }
        let script = """
            import sys, json, warnings
            warnings.filterwarnings("ignore")
            from transformers import MarianMTModel, MarianTokenizer
            folder = sys.argv[1]
            tokenizer = MarianTokenizer.from_pretrained(folder)
            model = MarianMTModel.from_pretrained(folder).eval()
            for text in sys.argv[2:]:
                batch = tokenizer([text], return_tensors="pt")
                out = model.generate(**batch, num_beams=4, max_new_tokens=40, length_penalty=1.0, early_stopping=True)[0].tolist()[1:]
                if 0 in out: out = out[:out.index(0) + 1]
                print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = ["-c", script, folder.path] + sources
        let pipe = Pipe(), errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "transformers could not load \(name)'s fine-tuned folder: \(errorText.suffix(2000))")
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let reference = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Int]) }
        XCTAssertEqual(expected, reference, "\(name): nmt translate and transformers generate differ on the fine-tuned folder")
    }

    func testFromRefusesNewModelOptions() throws {
        for (extra, message) in [(["--tokenizer", "vocab/walkthrough.json"], "--from brings its model's tokenizer"),
                                 (["--preset", "tiny"], "--preset shapes a new model")] {
            let outcome = try nmt(["train", "--from", Fixtures.url("opus-mt-tiny").path, "--train", "corpora/walkthrough.tsv",
                                   "--output", "/nonexistent/never"] + extra)
            XCTAssertNotEqual(outcome.status, 0)
            XCTAssertTrue(outcome.standardError.contains(message), outcome.standardError)
        }
        let missing = try nmt(["train", "--from", "/nonexistent/folder", "--train", "corpora/walkthrough.tsv", "--output",
                               Fixtures.url("none").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.standardError.contains("/nonexistent/folder: no such model directory"), missing.standardError)
    }
}
