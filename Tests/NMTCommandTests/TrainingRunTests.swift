import Foundation
import NMT
@testable import NMTCommand
import TestSupport
import TextIO
import XCTest

/// The declared training run against `nmt train`'s options: every field of `TrainingRun` — walked
/// off the value itself, not from a list kept here — is set by its option, survives `--resume`
/// whole, and is overridden by the option given again with `--resume`; and every option of
/// `nmt train --help` but where the run is written and the machine's threads is a field.
final class TrainingRunTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try Fixtures.temporaryDirectory("nmt-training-run")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Every field of the declared run, with its default value.
    var fields: [(section: String, field: String, value: Any)] {
        Mirror(reflecting: TrainingRun()).children.flatMap { section in
            Mirror(reflecting: section.value).children.map { (section.label!, $0.label!, $0.value) }
        }
    }

    /// `learningRate` → `--learning-rate`: a field is named after its option.
    func option(_ field: String) -> String {
        "--" + field.reduce(into: "") { name, character in
            name += character.isUppercase ? "-\(character.lowercased())" : String(character)
        }
    }

    /// Arguments that set the field of default `value` to something else — the `variant`-th of
    /// two different values — or nil for a flag that cannot be given twice.
    func arguments(field: String, value: Any, variant: Int) throws -> [String]? {
        let name = option(field)
        var type: Any.Type = Swift.type(of: value)
        var current: Any? = value
        if let optional = type as? OptionalType.Type {
            type = optional.wrappedType
            current = (value as! OptionalType).wrapped
        }
        switch type {
        case is Bool.Type:
            return variant == 0 ? [name] : nil  // a flag: only ever turned on
        case is Int.Type:
            return [name, String((current as? Int ?? 2) + 1 + variant)]
        case is UInt64.Type:
            return [name, String((current as? UInt64 ?? 2) + 1 + UInt64(variant))]
        case is Double.Type:
            return [name, String((current as? Double ?? 2.5) / Double(2 + variant))]
        case is Float.Type:
            return [name, String((current as? Float ?? 0.5) / Float(2 + variant))]
        case is String.Type:
            return [name, folder.appendingPathComponent("\(field)-\(variant).file").path]
        case let cases as any CaseIterable.Type:
            let names = Self.caseNames(cases).filter { current == nil || $0 != "\(current!)" }
            return [name, names[variant]]
        default:
            XCTFail("no test value for a field of type \(type): add one here")
            return []
        }
    }

    static func caseNames<T: CaseIterable>(_ type: T.Type) -> [String] { T.allCases.map { "\($0)" } }

    /// The run `nmt train ARGUMENTS` declares.
    func declared(_ arguments: [String]) throws -> TrainingRun {
        try Train.parse(arguments).declaredRun()
    }

    /// The field's value in `run`, as JSON (nil when absent).
    func value(of section: String, _ field: String, in run: TrainingRun) throws -> JSON? {
        try JSON.parse([UInt8](CodableJSON.encode(run)))[section]?[field]
    }

    func testEveryFieldIsSetByItsOptionAndSurvivesResume() throws {
        XCTAssertGreaterThan(fields.count, 30)
        let output = folder.appendingPathComponent("run").path
        for (section, field, defaultValue) in fields {
            // The data comes as one TSV file or as two aligned files, not both.
            let aligned = ["source", "target"].contains(field)
            let data = aligned ? ["--source", "/s.txt", "--target", "/t.txt"] : ["--train", "/pairs.tsv"]
            let base = ["--output", output, "--tokenizer", "/tokenizer.json"] + data
            let given = try XCTUnwrap(try arguments(field: field, value: defaultValue, variant: 0))
            let run = try declared(base + given)
            let start = try value(of: section, field, in: run)
            XCTAssertNotEqual(start, try value(of: section, field, in: TrainingRun()), "\(given) did not reach \(section).\(field)")

            // Resumed with nothing but the run: the whole run, every field, as it was declared.
            try SavedRun.write(run, in: folder)
            XCTAssertEqual(try declared(["--resume", folder.path]), run, "\(section).\(field) did not survive --resume")

            // Given again with --resume, the option wins over the saved value; the rest stays as saved.
            guard var again = try arguments(field: field, value: defaultValue, variant: 1) else { continue }
            if aligned { again += field == "source" ? ["--target", "/t2.txt"] : ["--source", "/s2.txt"] }
            let resumed = try declared(["--resume", folder.path] + again)
            let overridden = try value(of: section, field, in: resumed)
            XCTAssertNotEqual(overridden, start, "\(again) with --resume did not override \(section).\(field)")
            XCTAssertEqual(overridden, try value(of: section, field, in: try declared(base + again)), "\(again)")
            // (--train given with --resume replaces the saved --source/--target: testResumeWithTheDataGivenAgainKeepsTheSavedRun.)
            guard !["train", "source", "target"].contains(field) else { continue }
            for (otherSection, other, _) in fields where other != field {
                XCTAssertEqual(try value(of: otherSection, other, in: resumed), try value(of: otherSection, other, in: run),
                               "\(otherSection).\(other) changed when resuming with \(again)")
            }
        }
    }

    /// With --train (or --source and --target) given again, --resume lays them over the saved
    /// run like any other option (corpora that moved); the rest stays as saved. (Before issue 20
    /// the data given again made --resume ignore the saved run: every other option silently went
    /// back to its default.)
    func testResumeWithTheDataGivenAgainKeepsTheSavedRun() throws {
        var saved = TrainingRun()
        saved.data.train = "/old/pairs.tsv"
        saved.optimization.maxSteps = 6
        saved.schedule.warmup = 100
        try SavedRun.write(saved, in: folder)
        let resumed = try declared(["--resume", folder.path, "--train", "/pairs.tsv", "--epochs", "3"])
        var expected = saved
        expected.data.train = "/pairs.tsv"
        expected.optimization.epochs = 3
        XCTAssertEqual(resumed, expected)
        // A run nmt saved no declaration for needs its data given again, and then takes the command line.
        try FileManager.default.removeItem(at: folder.appendingPathComponent(SavedRun.fileName))
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        var fresh = TrainingRun()
        fresh.data.train = "/pairs.tsv"
        fresh.optimization.epochs = 3
        XCTAssertEqual(try declared(["--resume", folder.path, "--train", "/pairs.tsv", "--epochs", "3"]), fresh)
        XCTAssertThrowsError(try declared(["--resume", folder.path, "--epochs", "3"])) { error in
            XCTAssertTrue("\(error)".contains("--train FILE"), "\(error)")
        }
    }

    func testEveryOptionIsAFieldAndEveryFieldAnOption() throws {
        let help = Train.helpMessage(columns: 200)
        let options = Set(help.split(separator: "\n").compactMap { line in
            line.trimmingPrefix(while: \.isWhitespace).prefixMatch(of: #/--[a-z][a-z-]*/#).map { String($0.output) }
        }).subtracting(["--output", "--resume", "--overwrite", "--threads", "--help"])
        XCTAssertEqual(options, Set(fields.map { option($0.field) }))
    }

    func testDefaultsAreTheRunOfNoOptions() throws {
        XCTAssertEqual(try declared(["--train", "/pairs.tsv", "--tokenizer", "/t.json", "--output", "/out"]).optimization, TrainingRun().optimization)
        let saved = try CodableJSON.encode(TrainingRun())
        XCTAssertEqual(try SavedRun.decode(saved, source: "run"), TrainingRun())
        // A field missing from the file (a run saved before its option existed) takes its default.
        XCTAssertEqual(try SavedRun.decode(Data(#"{"schedule": {"warmup": 7}}"#.utf8), source: "run").schedule.warmup, 7)
        XCTAssertEqual(try SavedRun.decode(Data(#"{"schedule": {"warmup": 7}}"#.utf8), source: "run").optimization, TrainingRun().optimization)
    }

    func testBrokenSavedRunsAreNamed() {
        for (text, expected) in [
            (#"{"optimization": {"epochs": 0}}"#, "run.json: --epochs must be at least 1, got 0"),
            (#"{"optimization": {"epochs": "ten"}}"#, "run.json: optimization.epochs: expected Int"),
            (#"{"optimization": {"epoch": 3}}"#, "run.json: optimization.epoch is not an option of this nmt"),
            (#"{"optimisation": {}}"#, #"run.json: "optimisation" is not a part of a training run"#),
            ("[1]", "run.json: not a JSON object"),
            (#"{"arguments": ["--epochs", "0"]}"#, "run.json: --epochs must be at least 1, got 0"),
            (#"{"arguments": 3}"#, #"run.json: not a JSON object with an "arguments" list of strings"#),
        ] {
            XCTAssertThrowsError(try SavedRun.decode(Data(text.utf8), source: "run.json"), text) { error in
                XCTAssertEqual("\(error)", expected)
            }
        }
    }

    /// Runs of nmt before the declared run saved their options as a command line; they resume as
    /// the same run.
    func testARunSavedAsArgumentsByAnOlderNMTResumesAsTheSameRun() throws {
        let arguments = ["--train", "/data/pairs.tsv", "--tokenizer", "/data/tokenizer.json", "--strict", "--max-length", "64",
                         "--preset", "tiny", "--d-model", "32", "--activation", "gelu", "--dropout", "0.2", "--epochs", "40",
                         "--max-steps", "900", "--seed", "3", "--batch-tokens", "256", "--learning-rate", "0.002", "--warmup", "100",
                         "--cool-down", "50", "--validate-every", "50", "--best-by", "bleu", "--lowercase", "--keep-checkpoints", "5",
                         "--log-every", "10"]
        let legacy = JSON.object([("arguments", .array(arguments.map(JSON.string)))])
        try Data(legacy.pretty.utf8).write(to: folder.appendingPathComponent(SavedRun.fileName))
        let resumed = try declared(["--resume", folder.path])
        XCTAssertEqual(resumed, try declared(arguments + ["--output", "/out"]))
        XCTAssertEqual(resumed.schedule.coolDown, 50)
        XCTAssertEqual(resumed.model.activation, .gelu)
        XCTAssertEqual(try declared(["--resume", folder.path, "--max-steps", "1000"]).optimization.maxSteps, 1000)
    }
}

/// `Optional` seen through `Any`: its wrapped type and value.
private protocol OptionalType {
    static var wrappedType: Any.Type { get }
    var wrapped: Any? { get }
}

extension Optional: OptionalType {
    static var wrappedType: Any.Type { Wrapped.self }
    var wrapped: Any? { self.map { $0 as Any } }
}
