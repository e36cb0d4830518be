import Foundation
import TestSupport
import Tokenizers
import XCTest

/// `nmt tokenize`, `nmt vocab learn` and `nmt bench tokenize`, run as a user would: the built
/// `nmt` binary in a child process.
final class TokenizeCommandTests: XCTestCase {
    static let fixture = Fixtures.url("bpe-tatoeba-4k/tokenizer.json").path

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `nmt` executable of this build: beside the test bundle, else in .build.
    static let binary: URL? = {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            testBinary.deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
            Fixtures.packageRoot.appendingPathComponent(".build/release"),
            Fixtures.packageRoot.appendingPathComponent(".build/debug"),
        ].map { $0.appendingPathComponent("nmt") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    func run(_ arguments: [String], stdin: [UInt8] = []) throws -> Result {
        guard let binary = Self.binary else { throw XCTSkip("the nmt binary is not built (swift build -c release)") }
        let directory = try Fixtures.temporaryDirectory("nmt-run")
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("stdin"), output = directory.appendingPathComponent("stdout"),
            errors = directory.appendingPathComponent("stderr")
        try Data(stdin).write(to: input)
        FileManager.default.createFile(atPath: output.path, contents: nil)
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = Fixtures.packageRoot
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: try Data(contentsOf: output), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: errors), as: UTF8.self))
    }

    /// A fresh directory, removed when the test ends.
    func makeDirectory() throws -> URL {
        let directory = try Fixtures.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }

    // MARK: nmt tokenize

    func testPrintsPiecesAndIdsOfArguments() throws {
        let result = try run(["tokenize", "--tokenizer", Self.fixture, "I am a student."])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "▁I ▁am ▁a ▁stud ent.\n387 677 375 1248 730\n")
    }

    func testReadsStandardInputAsJSONLinesAndSkipsInvalidUTF8() throws {
        let input = Array("I am a student.\n".utf8) + [0xFF, 0x0A] + Array("Je suis étudiant.\n".utf8)
        let result = try run(["tokenize", "--tokenizer", Self.fixture, "--format", "json"], stdin: input)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "<stdin>:2: invalid UTF-8, line skipped\n")
        struct Line: Decodable { var text: String; var tokens: [String]; var ids: [Int] }
        let lines = try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        XCTAssertEqual(lines.map(\.text), ["I am a student.", "Je suis étudiant."])
        XCTAssertEqual(lines.map(\.ids), [[387, 677, 375, 1248, 730], [417, 572, 2437, 808]])
        XCTAssertEqual(lines[1].tokens, ["▁Je", "▁suis", "▁étudi", "ant."])

        let strict = try run(["tokenize", "--tokenizer", Self.fixture, "--strict"], stdin: input)
        XCTAssertNotEqual(strict.status, 0)
        XCTAssertTrue(strict.stderr.contains("<stdin>:2: invalid UTF-8"), strict.stderr)
    }

    func testDecodesIds() throws {
        let result = try run(["tokenize", "--tokenizer", Self.fixture, "--decode", "387 677 375 1248 730", "[0, 417, 572]"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "I am a student.\nJe suis\n")
        let kept = try run(["tokenize", "--tokenizer", Self.fixture, "--decode", "--keep-special-tokens", "--format", "json", "0,417"])
        XCTAssertEqual(kept.stdout, "{\"text\":\"</s> Je\",\"ids\":[0,417]}\n")
        let bad = try run(["tokenize", "--tokenizer", Self.fixture, "--decode", "12 x"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("argument 1"), bad.stderr)
    }

    func testUnsupportedTokenizerIsAOneLineError() throws {
        let directory = try makeDirectory()
        let file = directory.appendingPathComponent("unigram.json")
        try Data(#"{"model": {"type": "Unigram", "vocab": []}, "pre_tokenizer": {"type": "Metaspace"}}"#.utf8).write(to: file)
        let result = try run(["tokenize", "--tokenizer", file.path, "hello"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "Error: \(file.path): unsupported model \"Unigram\" (nmt reads BPE)\n")
    }

    // MARK: nmt vocab learn

    func testLearnsFromTSVAndTextDeterministically() throws {
        let directory = try makeDirectory()
        let tsv = directory.appendingPathComponent("pairs.tsv"), text = directory.appendingPathComponent("more.txt")
        var pairs = Array("I am a student.\tJe suis étudiant.\nYou are a student.\tTu es étudiant.\n".utf8)
        pairs += [0x62, 0x61, 0x64, 0xC3, 0x09, 0x78, 0x0A]  // line 3: invalid UTF-8
        pairs += Array("We are students.\tNous sommes étudiants.\n".utf8)
        try Data(pairs).write(to: tsv)
        try Data("The student is here.\nL'étudiant est ici.\n".utf8).write(to: text)
        let first = directory.appendingPathComponent("first.json"), second = directory.appendingPathComponent("second.json")

        let options = ["--size", "300", "--min-pair-frequency", "1"]
        let result = try run(["vocab", "learn"] + options + ["--output", first.path, tsv.path, text.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(tsv.path):3: invalid UTF-8, line skipped"), result.stderr)
        XCTAssertTrue(result.stdout.contains("300 ids from 8 sentences"), result.stdout)
        let tokenizer = try Tokenizer(contentsOf: first)
        XCTAssertEqual(tokenizer.vocabularySize, 300)
        XCTAssertEqual(tokenizer.padId, 299)
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("Nous sommes étudiants.")), "Nous sommes étudiants.")

        _ = try run(["vocab", "learn", "--quiet"] + options + ["--output", second.path, tsv.path, text.path])
        XCTAssertEqual(try Data(contentsOf: second), try Data(contentsOf: first))

        let strictOutput = directory.appendingPathComponent("strict.json")
        let strict = try run(["vocab", "learn", "--strict"] + options + ["--output", strictOutput.path, tsv.path])
        XCTAssertNotEqual(strict.status, 0)
        XCTAssertTrue(strict.stderr.contains("\(tsv.path):3: invalid UTF-8"), strict.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: strictOutput.path))

        let tooSmall = try run(["vocab", "learn", "--size", "100", "--output", strictOutput.path, text.path])
        XCTAssertNotEqual(tooSmall.status, 0)
        XCTAssertTrue(tooSmall.stderr.contains("too small"), tooSmall.stderr)
        let missing = try run(["vocab", "learn", "--output", strictOutput.path, directory.appendingPathComponent("none.tsv").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("none.tsv: cannot read the file"), missing.stderr)
    }

    // MARK: nmt bench tokenize

    func testBenchReportsEncodingAndLearning() throws {
        let directory = try makeDirectory()
        let corpus = directory.appendingPathComponent("small.tsv")
        try Data(String(repeating: "I am a student.\tJe suis étudiant.\nWhere is he?\tOù est-il ?\n", count: 50).utf8).write(to: corpus)
        let result = try run(["bench", "tokenize", "--repeats", "1", "--format", "json", "--size", "300",
                              "--corpus", corpus.path, "--tokenizer", Self.fixture])
        XCTAssertEqual(result.status, 0, result.stderr)
        struct Figure: Decodable { var benchmark: String; var metric: String; var value: Double; var unit: String }
        let figures = try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(Figure.self, from: Data($0.utf8)) }
        XCTAssertEqual(Set(figures.map(\.benchmark)), ["tokenize"])
        XCTAssertEqual(figures.map(\.metric), ["encode nmt", "encode nmt tokens", "encode nmt bytes", "learn nmt 300"])
        XCTAssertTrue(figures.allSatisfy { $0.value > 0 })
    }
}
