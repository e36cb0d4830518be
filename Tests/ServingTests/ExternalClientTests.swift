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
    static func run(_ program: String, _ arguments: [String], timeout: TimeInterval) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
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

    func testSchemathesisFindsNoServerErrors() throws {
        guard let python = Self.python(with: "schemathesis") else { throw XCTSkip("schemathesis is absent: pip install schemathesis (see .ci/run)") }
        let server = try ServerProcess()
        defer { XCTAssertEqual(server.stop(), 0) }
        let examples = ProcessInfo.processInfo.environment["NMT_SCHEMATHESIS_EXAMPLES"] ?? "25"
        let outcome = try Self.run(python, ["-m", "schemathesis.cli", "run", server.base.absoluteString + "/openapi.json",
                                            "--checks", "not_a_server_error", "--max-examples", examples,
                                            "--request-timeout", "120", "--no-color", "--seed", "1"],
                                   timeout: 1200)
        XCTAssertEqual(outcome.status, 0, outcome.output)
        XCTAssertEqual(try server.get("/health").status, 200, "the server is up after the run")
    }
}
