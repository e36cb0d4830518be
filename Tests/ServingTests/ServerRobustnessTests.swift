import Foundation
import TestSupport
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The bad-request matrix of docs/ROBUSTNESS.md (`nmt serve`), one test a row: each request is
/// refused with its 4xx (or 503) and a JSON `{"error": …}`, and the server goes on answering.
final class ServerRobustnessTests: SharedServerTestCase {
    override class var serverArguments: [String] { ["--max-characters", "2000", "--max-sentences", "20", "--max-body", "16384"] }

    /// The reply has `status`, a JSON error mentioning `mentioning`, and the server still answers.
    func assertRefused(_ reply: ServerProcess.Reply, _ status: Int, mentioning: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(reply.status, status, reply.text, file: file, line: line)
        XCTAssertEqual(reply.headers["content-type"], "application/json; charset=utf-8", file: file, line: line)
        let error = try XCTUnwrap(reply.error, "a JSON {\"error\": …} body: \(reply.text)", file: file, line: line)
        XCTAssertTrue(error.contains(mentioning), "\(error.debugDescription) mentions \(mentioning.debugDescription)", file: file, line: line)
        XCTAssertEqual(try server.get("/health").status, 200, "the server goes on", file: file, line: line)
    }

    let valid: [String: Any] = ["q": "Hello.", "source": "en", "target": "fr"]

    func with(_ changes: [String: Any?]) -> [String: Any] {
        var body = valid
        for (key, value) in changes { body[key] = value }
        return body
    }

    func testMalformedJSON() throws {
        try assertRefused(try server.post("/translate", raw: #"{"q": "Hello.", "source": "en""#), 400, mentioning: "not valid JSON")
    }

    func testBodyThatIsNotAnObject() throws {
        try assertRefused(try server.post("/translate", raw: "[1, 2]"), 400, mentioning: "JSON object")
        try assertRefused(try server.post("/v1/translate", raw: "\"text\""), 400, mentioning: "JSON object")
    }

    func testEmptyBody() throws {
        try assertRefused(try server.post("/translate", raw: ""), 400, mentioning: "empty")
    }

    func testInvalidUTF8() throws {
        var body = Data(#"{"q": ""#.utf8)
        body.append(contentsOf: [0xFF, 0xFE, 0x80])
        body.append(contentsOf: Data(#"", "source": "en", "target": "fr"}"#.utf8))
        try assertRefused(try server.request("POST", "/translate", body: body), 400, mentioning: "JSON")
    }

    func testDeeplyNestedJSON() throws {
        let nested = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        try assertRefused(try server.post("/translate", raw: #"{"q": "#  + nested + "}"), 400, mentioning: "JSON")
    }

    func testBrokenForms() throws {
        // Characters a URL may not hold once crashed Foundation's URLComponents here.
        try assertRefused(try server.post("/translate", raw: "{bad", contentType: "application/x-www-form-urlencoded"), 400, mentioning: "missing q")
        try assertRefused(try server.post("/translate", raw: "q=%zz&source=en&target=fr", contentType: "application/x-www-form-urlencoded"),
                          400, mentioning: "percent-encoding")
    }

    func testWrongContentType() throws {
        try assertRefused(try server.post("/translate", raw: "q=Hello", contentType: "text/plain"), 415, mentioning: "application/json")
    }

    func testWrongTypes() throws {
        try assertRefused(try server.post("/translate", json: with(["q": 5])), 400, mentioning: "\"q\" must be a string or a list of strings")
        try assertRefused(try server.post("/translate", json: with(["q": ["Hello.", 7]])), 400, mentioning: "\"q\"")
        try assertRefused(try server.post("/translate", json: with(["source": ["en"]])), 400, mentioning: "\"source\" must be a string")
        try assertRefused(try server.post("/translate", json: with(["alternatives": "many"])), 400, mentioning: "\"alternatives\" must be an integer")
        try assertRefused(try server.post("/translate", json: with(["alternatives": true])), 400, mentioning: "\"alternatives\" must be an integer")
        try assertRefused(try server.post("/translate", json: with(["alternatives": 1.5])), 400, mentioning: "\"alternatives\" must be an integer")
        try assertRefused(try server.post("/v1/translate", json: ["q": "Hello.", "split": "yes"]), 400, mentioning: "\"split\" must be true or false")
    }

    func testMissingFields() throws {
        try assertRefused(try server.post("/translate", json: with(["q": nil])), 400, mentioning: "missing q")
        try assertRefused(try server.post("/translate", json: with(["q": ""])), 400, mentioning: "missing q")
        try assertRefused(try server.post("/translate", json: with(["source": nil])), 400, mentioning: "missing source")
        try assertRefused(try server.post("/translate", json: with(["target": nil])), 400, mentioning: "missing target")
        try assertRefused(try server.post("/v1/translate", json: [:] as [String: Any]), 400, mentioning: "missing \"q\"")
        try assertRefused(try server.post("/v1/attention", json: ["q": "  "]), 400, mentioning: "empty")
    }

    func testUnknownLanguagePair() throws {
        try assertRefused(try server.post("/translate", json: with(["target": "de"])), 400, mentioning: "no model translates en to de")
        try assertRefused(try server.post("/translate", json: with(["source": "fr", "target": "en"])), 400, mentioning: "no model translates fr to en")
        try assertRefused(try server.post("/v1/translate", json: ["q": "Hello.", "source": "xx"]), 400, mentioning: "no model translates from xx")
    }

    func testFormats() throws {
        try assertRefused(try server.post("/translate", json: with(["format": "html"])), 400, mentioning: "html format is not supported")
        try assertRefused(try server.post("/translate", json: with(["format": "markdown"])), 400, mentioning: "markdown format is not supported")
    }

    func testAlternativesAreBounded() throws {
        // LibreTranslate once crashed on an unbounded `alternatives`.
        try assertRefused(try server.post("/translate", json: with(["alternatives": 1_000_000_000])), 400, mentioning: "between 0 and 8")
        try assertRefused(try server.post("/translate", json: with(["alternatives": -1])), 400, mentioning: "between 0 and 8")
        try assertRefused(try server.post("/translate", json: with(["alternatives": 1e300])), 400, mentioning: "\"alternatives\"")
    }

    func testSearchOptionsOutOfRange() throws {
        try assertRefused(try server.post("/v1/translate", json: ["q": "Hello.", "beam": 0]), 400, mentioning: "\"beam\" must be between 1 and 16")
        try assertRefused(try server.post("/v1/translate", json: ["q": "Hello.", "beam": 2, "n_best": 3]), 400, mentioning: "must not exceed \"beam\"")
        try assertRefused(try server.post("/v1/translate", json: ["q": "Hello.", "length_penalty": -5]), 400, mentioning: "\"length_penalty\"")
        try assertRefused(try server.post("/v1/translate", json: ["q": "Hello.", "max_length": 100_000]), 400, mentioning: "\"max_length\"")
        try assertRefused(try server.post("/v1/attention", json: ["q": "Hello.", "translation": "Salut.", "beam": 2]), 400, mentioning: "\"beam\"")
    }

    func testUnknownFieldsOfNMTsOwnAPI() throws {
        try assertRefused(try server.post("/v1/translate", json: ["q": "Hello.", "beam_size": 5]), 400, mentioning: "unknown field \"beam_size\"")
    }

    func testBodyTooLarge() throws {
        let big = String(repeating: "a", count: 20_000)
        try assertRefused(try server.post("/translate", json: with(["q": big])), 413, mentioning: "16384 bytes")
    }

    func testTooManyCharacters() throws {
        let text = String(repeating: "Hello there. ", count: 200)   // 2,600 characters, 200 sentences
        try assertRefused(try server.post("/translate", json: with(["q": text])), 413, mentioning: "characters in one request; the limit is 2000")
    }

    func testTooManySentences() throws {
        let text = String(repeating: "Hi. ", count: 30)
        try assertRefused(try server.post("/translate", json: with(["q": text])), 413, mentioning: "30 sentences in one request; the limit is 20")
    }

    func testTooManyTexts() throws {
        try assertRefused(try server.post("/translate", json: with(["q": Array(repeating: "Hi.", count: 101)])), 400, mentioning: "101 texts")
    }

    func testSentenceLongerThanTheModelReads() throws {
        let text = String(repeating: "a ", count: 900)
        try assertRefused(try server.post("/translate", json: with(["q": text])), 413, mentioning: "longer than the model's 512 positions")
    }

    func testAttentionTextTooLong() throws {
        try assertRefused(try server.post("/v1/attention", json: ["q": String(repeating: "word ", count: 250)]), 413, mentioning: "at most 1000")
    }

    func testUnknownRouteAndMethod() throws {
        try assertRefused(try server.get("/nosuch"), 404, mentioning: "no such route")
        let wrongMethod = try server.get("/translate")
        try assertRefused(wrongMethod, 405, mentioning: "/translate takes POST, not GET")
        XCTAssertEqual(wrongMethod.headers["allow"], "POST")
    }

    func testQueueFullGives503WithRetryAfterAndRecovers() throws {
        let small = try ServerProcess(["--queue-size", "2"])
        defer { XCTAssertEqual(small.stop(), 0) }
        let reply = try small.post("/translate", json: ["q": "One. Two. Three.", "source": "en", "target": "fr"])
        XCTAssertEqual(reply.status, 503, reply.text)
        XCTAssertEqual(reply.headers["retry-after"].flatMap(Int.init).map { $0 >= 1 }, true, "Retry-After in seconds")
        XCTAssertTrue(reply.error?.contains("queue is full") == true, reply.text)
        // A burst from many clients: each answered 200 or 503, none lost, then service as usual.
        let statuses = ConcurrentStatuses()
        ServerProcess.onThreads(24) { index in
            let status = (try? small.post("/translate", json: ["q": "Sentence number \(index).", "source": "en", "target": "fr"]).status) ?? -1
            statuses.append(status)
        }
        XCTAssertEqual(statuses.values.count, 24)
        XCTAssertTrue(statuses.values.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses.values)")
        XCTAssertGreaterThan(statuses.values.filter { $0 == 503 }.count, 0, "an overload is refused, not queued without bound")
        XCTAssertGreaterThan(statuses.values.filter { $0 == 200 }.count, 0, "and what fits is served")
        XCTAssertEqual(try small.post("/translate", json: ["q": "I am a student.", "source": "en", "target": "fr"]).status, 200, "recovers")
    }

    func testDeadlineGives503() throws {
        let hurried = try ServerProcess(["--deadline", "1"])
        defer { XCTAssertEqual(hurried.stop(), 0) }
        let text = (1...120).map { "This is sentence number \($0) of a long text that takes a while." }.joined(separator: " ")
        let reply = try hurried.post("/translate", json: ["q": text, "source": "en", "target": "fr"])
        XCTAssertEqual(reply.status, 503, reply.text)
        XCTAssertTrue(reply.error?.contains("deadline") == true, reply.text)
        XCTAssertNotNil(reply.headers["retry-after"])
        // The batch already decoding when the deadline passed runs to its end (a search cannot be
        // stopped midway); once it has, requests are answered again.
        var statuses: [Int] = []
        let started = Date()
        while statuses.last != 200 && Date().timeIntervalSince(started) < 60 {
            statuses.append(try hurried.post("/translate", json: ["q": "Hello.", "source": "en", "target": "fr"]).status)
        }
        XCTAssertEqual(statuses.last, 200, "recovers; statuses \(statuses)")
        XCTAssertTrue(statuses.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
    }

    /// A client that sends half a body and then nothing is cut off after `--idle-timeout`, and
    /// the others are served meanwhile (without the timeout it held its connection for ever).
    func testStalledRequestIsClosedAfterTheIdleTimeout() throws {
        let strict = try ServerProcess(["--idle-timeout", "1"])
        defer { XCTAssertEqual(strict.stop(), 0) }
        let stalled = try strict.openStalledRequest(readTimeout: 30)
        defer { close(stalled) }
        let started = Date()
        XCTAssertEqual(try strict.post("/translate", json: valid).status, 200, "served beside the stalled client")
        XCTAssertTrue(ServerProcess.waitsForClose(stalled), "the server closes the stalled connection")
        let waited = Date().timeIntervalSince(started)
        XCTAssertLessThan(waited, 15, "closed after about the 1 s idle timeout, not the read's 30 s")
        XCTAssertEqual(try strict.get("/health").status, 200)
        var metrics = try strict.get("/metrics").text
        for _ in 0..<50 where !metrics.contains(#"status="400""#) {  // the handler ends just after the close
            usleep(100_000)
            metrics = try strict.get("/metrics").text
        }
        XCTAssertTrue(metrics.contains(#"nmt_http_requests_total{route="/translate",status="400"} 1"#), "counted as the client's error: \(metrics)")
        XCTAssertFalse(metrics.contains(#"status="500""#), metrics)
        XCTAssertFalse(strict.standardErrorText.contains("error"), "nothing logged as the server's error: \(strict.standardErrorText)")
    }

    /// A client that hangs up while its request is being translated: its answer is dropped,
    /// nothing is logged as the server's error, and the next request is answered.
    func testClientThatHangsUpMidRequest() throws {
        let server = try ServerProcess()
        defer { XCTAssertEqual(server.stop(), 0) }
        let text = (1...190).map { "This is sentence number \($0), and nobody waits for it." }.joined(separator: " ")
        var request = URLRequest(url: server.base.appendingPathComponent("translate"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["q": text, "source": "en", "target": "fr"])
        request.timeoutInterval = 1  // gives up (closes the connection) long before the answer (~3 s)
        let done = DispatchSemaphore(value: 0)
        let sent = Date()
        let outcome = HangUp()
        ServerProcess.session.dataTask(with: request) { _, response, error in
            outcome.answered = response != nil
            outcome.failed = error != nil
            outcome.error = error.map { "\($0)" } ?? ""
            done.signal()
        }.resume()
        done.wait()
        XCTAssertTrue(outcome.failed && !outcome.answered, "the client gave up before the answer")
        XCTAssertGreaterThan(Date().timeIntervalSince(sent), 0.9, "after its request reached the server (\(outcome.error))")
        XCTAssertEqual(try server.post("/translate", json: valid).status, 200, "the next request is answered")
        XCTAssertFalse(server.standardErrorText.contains("error"), server.standardErrorText)
    }

    final class HangUp: @unchecked Sendable { var answered = false, failed = false, error = "" }

    /// Bad options of `nmt serve` itself fail as every command's do: one line, exit 1.
    func testBadOptionsAreOneLine() throws {
        let inUse = try server.port
        let cases: [([String], String)] = [
            (["--port", "\(inUse)"], "cannot serve on 127.0.0.1:\(inUse)"),
            (["--port", "70000"], "--port must be between 0 and 65535"),
            (["--batch-size", "0"], "--batch-size must be at least 1"),
            (["--idle-timeout", "0"], "--idle-timeout must be at least 1 second"),
            (["--model", "/tmp"], "cannot tell its language pair"),
            (["--model", "en-fr=/nonexistent-model"], "/nonexistent-model"),
            (["--model", "en-fr=models/en-fr", "--model", "en-fr=models/en-fr"], "two models for en-fr"),
        ]
        for (arguments, mention) in cases {
            let outcome = try NMTProcess.run(["serve"] + arguments, currentDirectory: Fixtures.packageRoot, timeout: 60)
            XCTAssertEqual(outcome.status, 1, "\(arguments): \(outcome.standardError)")
            XCTAssertEqual(outcome.standardError.split(separator: "\n").count, 1, "one line: \(outcome.standardError)")
            XCTAssertTrue(outcome.standardError.hasPrefix("Error: ") && outcome.standardError.contains(mention), "\(arguments): \(outcome.standardError)")
        }
    }

    final class ConcurrentStatuses: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var values: [Int] = []
        func append(_ value: Int) { lock.lock(); values.append(value); lock.unlock() }
    }
}
