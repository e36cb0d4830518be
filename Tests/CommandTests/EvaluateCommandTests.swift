import Foundation
import TestSupport
import XCTest

/// `nmt evaluate`, run as the built binary. The expected lines are sacreBLEU 2.6.0's (see
/// Tests/NMTTests/EvaluationTests.swift and Tests/Fixtures/sacrebleu/expected.py) with our version field.
final class EvaluateCommandTests: XCTestCase {
    func nmt(_ arguments: [String]) throws -> NMTProcess.Outcome { try NMTProcess.run(arguments) }

    func fixture(_ name: String) -> String { Fixtures.url("sacrebleu/\(name)").path }

    func testScoresAgainstTheReferencesOfATSVTestSet() throws {
        let outcome = try nmt(["evaluate", "--hypotheses", fixture("tatoeba-dev-sample.hyp"), fixture("tatoeba-dev-sample.tsv")])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(outcome.standardOutput, """
            BLEU|nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0-compatible = 79.3 95.6/86.6/80.2/77.6 (BP = 0.936 ratio = 0.938 hyp_len = 408 ref_len = 435)
            chrF2|nrefs:var|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0-compatible = 87.4

            """)
    }

    func testJSONWithAReferenceFileLowercasedAndUntokenized() throws {
        let outcome = try nmt(["evaluate", "--hypotheses", fixture("tatoeba-dev-sample.hyp"),
                               "--reference", fixture("tatoeba-dev-sample.ref"),
                               "--lowercase", "--tokenize", "none", "--format", "json"])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(outcome.standardOutput.split(separator: "\n").count, 1, "one object on one line")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(object["bleu"] as? Double), 80.43307169361557, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(object["chrf"] as? Double), 88.04575392779608, accuracy: 1e-9)
        XCTAssertEqual(object["signature"] as? [String: String], [
            "bleu": "nrefs:1|case:lc|eff:no|tok:none|smooth:exp|version:2.6.0-compatible",
            "chrf": "nrefs:1|case:lc|eff:yes|nc:6|nw:0|space:no|version:2.6.0-compatible",
        ])
    }

    func testSeveralReferenceFiles() throws {
        // The hypotheses as their own second reference: every n-gram matches, at the same length.
        let outcome = try nmt(["evaluate", "--hypotheses", fixture("tatoeba-dev-sample.hyp"),
                               "--reference", fixture("tatoeba-dev-sample.ref"),
                               "--reference", fixture("tatoeba-dev-sample.hyp")])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(outcome.standardOutput, """
            BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0-compatible = 100.0 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 408 ref_len = 408)
            chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0-compatible = 100.0

            """)
    }

    func testErrorsAreOneLineNamingFileAndLine() throws {
        let directory = try Fixtures.temporaryDirectory()
        let short = directory.appendingPathComponent("short.hyp")
        try "Excuse-moi.\nC'est perdu.\n".write(to: short, atomically: true, encoding: .utf8)
        let mismatch = try nmt(["evaluate", "--hypotheses", short.path, fixture("tatoeba-dev-sample.tsv")])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertEqual(mismatch.standardOutput, "")
        XCTAssertEqual(mismatch.standardError, "Error: \(fixture("tatoeba-dev-sample.tsv")):3: no counterpart in the "
                       + "other file (\(short.path) has 2 lines, \(fixture("tatoeba-dev-sample.tsv")) has 51)\n")

        let invalid = directory.appendingPathComponent("invalid.hyp")
        try Data([0x6F, 0x6B, 0x0A, 0xFF, 0x0A]).write(to: invalid)
        let encoding = try nmt(["evaluate", "--hypotheses", invalid.path, "--reference", fixture("edge.ref")])
        XCTAssertNotEqual(encoding.status, 0)
        XCTAssertEqual(encoding.standardError, "Error: \(invalid.path):2: not valid UTF-8\n")

        let badTSV = directory.appendingPathComponent("bad.tsv")
        try "Hello.\tBonjour.\nNo tab here\n".write(to: badTSV, atomically: true, encoding: .utf8)
        let column = try nmt(["evaluate", "--hypotheses", short.path, badTSV.path])
        XCTAssertNotEqual(column.status, 0)
        XCTAssertEqual(column.standardError,
                       "Error: \(badTSV.path):2: expected at least 2 tab-separated columns (source, target), found 1\n")

        let both = try nmt(["evaluate", "--hypotheses", short.path, badTSV.path, "--reference", short.path])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.standardError.hasPrefix("Error: Give the references either as a TSV test set or as --reference files, not both."))
    }
}
