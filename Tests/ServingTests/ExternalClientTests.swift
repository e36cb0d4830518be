import Foundation
import TestSupport
import XCTest

/// Clients from outside Swift against the real server: the page in headless Chromium through
/// WebDriver (selenium), and schemathesis generating requests from /openapi.json. Each skips,
/// saying what is missing, only when its tool is not installed (.ci/run installs them).
final class ExternalClientTests: XCTestCase {
    /// A Python with `module`: $NMT_TEST_PYTHON, the venv .ci/run makes, or python3.
    static func python(with module: String) -> String? {
        let candidates = [ProcessInfo.processInfo.environment["NMT_TEST_PYTHON"], "/opt/nmt-serve-tools/bin/python", "/usr/bin/python3",
                          "/usr/local/bin/python3", "/root/.pyenv/shims/python3"].compactMap { $0 }
        return candidates.first { path in
            guard FileManager.default.isExecutableFile(atPath: path) else { return false }
            return (try? run(path, ["-c", "import \(module)"], timeout: 60).status) == 0
        }
    }

    struct Outcome { var status: Int32; var output: String }

    /// Runs a program to its end (or kills it after `timeout` seconds), its output and errors together.
    static func run(_ program: String, _ arguments: [String], timeout: TimeInterval, in folder: URL? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = folder }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let watchdog = DispatchWorkItem { process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Outcome(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    func testThePageInHeadlessChromium() throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let driver = ["/usr/bin/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let chromium, let driver else { throw XCTSkip("Chromium is absent: apt-get install chromium chromium-driver") }
        guard let python = Self.python(with: "selenium") else { throw XCTSkip("selenium is absent: pip install selenium (see .ci/run)") }
        let server = try ServerProcess()
        defer { XCTAssertEqual(server.stop(), 0) }
        var arguments = [Fixtures.packageRoot.appendingPathComponent("scripts/serve/page_test.py").path, server.base.absoluteString,
                         "--chromium", chromium, "--chromedriver", driver]
        // NMT_SCREENSHOT=docs/serve-page.png keeps the picture of the page.
        if let screenshot = ProcessInfo.processInfo.environment["NMT_SCREENSHOT"] { arguments += ["--screenshot", screenshot] }
        let outcome = try Self.run(python, arguments, timeout: 300)
        XCTAssertEqual(outcome.status, 0, outcome.output)
        let report = outcome.output.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual((report?["failures"] as? [String])?.count, 0, outcome.output)
        let seen = report?["seen"] as? [String: Any]
        XCTAssertEqual(seen?["translation"] as? String, "Je suis étudiant.")
        XCTAssertEqual(seen?["strongest"] as? [String], ["▁am"], "suis looked at am")
    }

    /// A fixed count of requests from a second process (scripts/serve/load_test.py, the standard
    /// library only): no errors, and the server's memory flat from the first quarter of the run to
    /// the last (within 10 %), after a warm-up.
    func testLoadFromASecondProcessKeepsMemoryFlat() throws {
        guard let corpus = Fixtures.sharedCorpus("tatoeba-eng-fra/test.tsv") else { throw XCTSkip("../shared/corpora/tatoeba-eng-fra is absent") }
        guard let python = Self.python(with: "json") else { throw XCTSkip("no python3") }
        let folder = try Fixtures.temporaryDirectory("nmt-serve-load")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sentences = folder.appendingPathComponent("source.en")
        let lines = try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n").prefix(500).map { $0.split(separator: "\t")[0] }
        try (lines.joined(separator: "\n") + "\n").write(to: sentences, atomically: true, encoding: .utf8)
        let server = try ServerProcess()
        defer { XCTAssertEqual(server.stop(), 0) }
        let script = Fixtures.packageRoot.appendingPathComponent("scripts/serve/load_test.py").path
        let requests = ProcessInfo.processInfo.environment["NMT_SERVE_LOAD_REQUESTS"] ?? "800"
        let common = [script, "--url", server.base.absoluteString, "--sentences", sentences.path, "--clients", "16",
                      "--pid", String(server.process.processIdentifier)]
        let warmUp = try Self.run(python, common + ["--requests", "100"], timeout: 600)
        XCTAssertEqual(warmUp.status, 0, warmUp.output)
        let outcome = try Self.run(python, common + ["--requests", requests], timeout: 900)
        XCTAssertEqual(outcome.status, 0, outcome.output)
        let report = try XCTUnwrap(outcome.output.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] },
                                   outcome.output)
        XCTAssertEqual(report["errors"] as? Int, 0, outcome.output)
        XCTAssertEqual(report["answered"] as? Int, Int(requests), outcome.output)
        let growth = try XCTUnwrap(report["rss_growth_first_to_last_quarter"] as? Double, outcome.output)
        XCTAssertLessThanOrEqual(growth, 0.10, "RSS growth from the first quarter to the last: \(outcome.output)")
        print("load: \(outcome.output.split(separator: "\n").last ?? "")")
    }

    func testSchemathesisFindsNoServerErrors() throws {
        guard let python = Self.python(with: "schemathesis") else { throw XCTSkip("schemathesis is absent: pip install schemathesis (see .ci/run)") }
        let server = try ServerProcess()
        defer { XCTAssertEqual(server.stop(), 0) }
        let examples = ProcessInfo.processInfo.environment["NMT_SCHEMATHESIS_EXAMPLES"] ?? "25"
        // schemathesis keeps a cache in its working directory: a temporary one, not the checkout.
        let folder = try Fixtures.temporaryDirectory("nmt-schemathesis")
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try Self.run(python, ["-m", "schemathesis.cli", "run", server.base.absoluteString + "/openapi.json",
                                            "--checks", "not_a_server_error", "--max-examples", examples,
                                            "--request-timeout", "120", "--no-color", "--seed", "1"],
                                   timeout: 1200, in: folder)
        XCTAssertEqual(outcome.status, 0, outcome.output)
        XCTAssertEqual(try server.get("/health").status, 200, "the server is up after the run")
    }
}
