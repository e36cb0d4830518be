import Foundation
import TestSupport
import XCTest

/// The robustness matrix of docs/ROBUSTNESS.md: each command run as the built binary on bad
/// files, bad models and out-of-range options. A failure must exit 1 with exactly one line on
/// stderr naming the file (and line or field) or the option, leave no output file behind, and
/// finish within the time limit; an input that is legitimately fine must succeed.
/// The per-command rows are in the extensions (RobustnessTests+….swift).
final class RobustnessTests: XCTestCase {
    /// A tiny model with a learned tokenizer (TranslateCommandTests' recipe), made once.
    static var goodModel: URL!
    var scratch: URL!
    /// Run nmt as nobody (see `unreadableFile`).
    var unprivileged = false

    override class func setUp() {
        super.setUp()
        goodModel = try! TranslateCommandTests.makeModelDirectory()
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: goodModel)
        super.tearDown()
    }

    override func setUpWithError() throws {
        scratch = try Fixtures.temporaryDirectory("nmt-robustness")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    var tokenizerPath: String { Self.goodModel.appendingPathComponent("tokenizer.json").path }

    // MARK: Inputs

    /// Writes `bytes` to a file in the scratch directory and returns its path.
    @discardableResult
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = scratch.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }

    /// The inputs every file-reading command is tried with.
    var missingFile: String { scratch.appendingPathComponent("absent.txt").path }
    func emptyFile(_ name: String = "empty.txt") throws -> String { try file(name, "") }
    func directoryInsteadOfFile() throws -> String {
        let url = scratch.appendingPathComponent("a-directory")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
    /// "I am a student.", then a line with the invalid byte 0xFF.
    func invalidUTF8File(_ name: String = "invalid.txt") throws -> String {
        try file(name, Array("I am a student.\n".utf8) + [0x49, 0x20, 0xFF, 0x0A])
    }
    func nulFile(_ name: String = "nul.txt") throws -> String {
        try file(name, Array("I am a student.\n".utf8) + [0x49, 0x00, 0x61, 0x6D, 0x0A])
    }
    static let megabyteLine = String(repeating: "I am a student. ", count: 65_536)
    static let blankLines = String(repeating: "\n", count: 10_000)

    /// A file that cannot be read (mode 000). Root reads it anyway, so as root the tests that
    /// use it run nmt as nobody (`unprivileged`); without setpriv they are skipped.
    func unreadableFile(_ name: String = "unreadable.txt") throws -> String {
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: Self.setpriv) else {
                throw XCTSkip("running as root without \(Self.setpriv): a mode-000 file is still readable")
            }
            unprivileged = true
            // nobody writes the output (translate's temporary) and reads everything else.
            try FileManager.default.createDirectory(at: outDirectory, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: outDirectory.path)
        }
        let path = try file(name, "I am a student.\n")
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
        return path
    }

    static let setpriv = "/usr/bin/setpriv"

    // MARK: Broken models

    /// A copy of the good model changed by `change`.
    func model(_ change: (URL) throws -> Void) throws -> String {
        let copy = scratch.appendingPathComponent("model-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: Self.goodModel, to: copy)
        try change(copy)
        return copy.path
    }

    func modelWithout(_ file: String) throws -> String {
        try model { try FileManager.default.removeItem(at: $0.appendingPathComponent(file)) }
    }

    func modelWithTruncatedWeights() throws -> String {
        try model { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            let data = try Data(contentsOf: url)
            try data.prefix(data.count / 2).write(to: url)
        }
    }

    func modelWithCorruptedWeights() throws -> String {
        try model { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            var data = try Data(contentsOf: url)
            for i in 8..<40 { data[i] = 0xFF }  // the header's JSON
            try data.write(to: url)
        }
    }

    /// config.json with each key of `changes` set to its value.
    func modelWithConfig(_ changes: [String: Any]) throws -> String {
        try model { directory in
            let url = directory.appendingPathComponent("config.json")
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            try JSONSerialization.data(withJSONObject: object.merging(changes) { $1 }).write(to: url)
        }
    }

    func modelWithTokenizerKind(_ kind: String) throws -> String {
        try model { directory in
            let url = directory.appendingPathComponent("tokenizer.json")
            var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            var model = try XCTUnwrap(object["model"] as? [String: Any])
            model["type"] = kind
            object["model"] = model
            try JSONSerialization.data(withJSONObject: object).write(to: url)
        }
    }

    /// The model's tokenizer.json replaced by one with more ids than the embedding has rows.
    func modelWithLargerTokenizer() throws -> String {
        try model { directory in
            let learner = try NMTProcess.run(["vocab", "learn", "--quiet", "--size", "400", "--min-pair-frequency", "1",
                                              "--min-character-frequency", "1", "--overwrite", "--output", directory.appendingPathComponent("tokenizer.json").path,
                                              try file("many-words.txt", (0..<400).map { "word\($0) other\($0 * 7)" }.joined(separator: "\n"))],
                                             timeout: 30)
            XCTAssertEqual(learner.status, 0, learner.standardError)
        }
    }

    // MARK: Expectations

    /// Runs `nmt arguments…` and checks the failure: exit 1, no signal, no hang, exactly one
    /// line on stderr containing each of `mentions`, and nothing new in the scratch directory's
    /// `out` folder (where the tests point --output).
    @discardableResult
    func expectFailure(_ arguments: [String], input: String? = nil, mentions: [String],
                       file: StaticString = #filePath, line: UInt = #line) throws -> NMTProcess.Outcome {
        let outcome = try run(arguments, input: input)
        XCTAssertFalse(outcome.timedOut, "ran past the time limit", file: file, line: line)
        XCTAssertEqual(outcome.status, 1, "exit status; stderr: \(outcome.standardError)", file: file, line: line)
        let lines = outcome.standardError.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 1, "exactly one line on stderr, got:\n\(outcome.standardError)", file: file, line: line)
        for mention in mentions {
            XCTAssertTrue(outcome.standardError.contains(mention), "stderr names \(mention): \(outcome.standardError)", file: file, line: line)
        }
        XCTAssertEqual(try leftovers(), [], "no output left behind", file: file, line: line)
        return outcome
    }

    /// Runs `nmt arguments…` and checks that it succeeds within the time limit; returns it for
    /// checks of the output.
    @discardableResult
    func expectSuccess(_ arguments: [String], input: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> NMTProcess.Outcome {
        let outcome = try run(arguments, input: input)
        XCTAssertFalse(outcome.timedOut, "ran past the time limit", file: file, line: line)
        XCTAssertEqual(outcome.status, 0, "exit status; stderr: \(outcome.standardError)", file: file, line: line)
        return outcome
    }

    func run(_ arguments: [String], input: String?) throws -> NMTProcess.Outcome {
        try FileManager.default.createDirectory(at: outDirectory, withIntermediateDirectories: true)
        let wrapper = unprivileged ? [Self.setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        return try NMTProcess.run(arguments, input: input, timeout: 30, wrapper: wrapper)
    }

    /// Where the tests point --output; must stay empty after a failure.
    var outDirectory: URL { scratch.appendingPathComponent("out") }
    func output(_ name: String = "result.txt") -> String { outDirectory.appendingPathComponent(name).path }

    /// What is in the `out` folder, and any temporary output (`.NAME.partial-PID`) beside it.
    func leftovers() throws -> [String] {
        let partials = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".partial-") }
        guard FileManager.default.fileExists(atPath: outDirectory.path) else { return partials }
        return try FileManager.default.contentsOfDirectory(atPath: outDirectory.path).sorted() + partials
    }

    func lines(_ text: String) -> [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() }
}
