import Foundation
import TestSupport
import XCTest

/// SIGTERM and SIGINT: the server stops accepting, answers the requests in flight, exits 0.
final class ServerShutdownTests: XCTestCase {
    func assertDrains(on signal: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let server: ServerProcess
        do { server = try ServerProcess() } catch { throw XCTSkip("nmt serve did not start: \(error)") }
        // Work that takes a while: forty sentences in one request, and three more requests.
        let text = (1...40).map { "This is sentence number \($0), which the server must still answer." }.joined(separator: " ")
        let replies = Replies()
        let clients = Thread {
            ServerProcess.onThreads(4) { index in
                let reply = try? server.post("/translate", json: ["q": index == 0 ? text : "Request \(index).", "source": "en", "target": "fr"])
                replies.append(reply?.status ?? -1)
            }
            replies.finish()
        }
        clients.start()
        // Until every request has reached the server (the health request itself is the fifth).
        let started = Date()
        var seen: [Int] = []
        while Date().timeIntervalSince(started) < 30 {
            let inFlight = try server.get("/health").object["requests_in_flight"] as? Int ?? -1
            seen.append(inFlight)
            if inFlight >= 5 { break }
            usleep(5_000)
        }
        XCTAssertEqual(seen.last, 5, "all four requests in flight; seen \(seen.suffix(20))", file: file, line: line)
        let status = server.stop(signal: signal)
        XCTAssertEqual(replies.finished.wait(timeout: .now() + 120), .success, file: file, line: line)
        XCTAssertEqual(status, 0, "exit status after \(signal == SIGTERM ? "SIGTERM" : "SIGINT"); stderr: \(server.standardErrorText)", file: file, line: line)
        XCTAssertEqual(replies.values, [200, 200, 200, 200], "every request in flight answered", file: file, line: line)
        XCTAssertTrue(server.standardErrorText.contains("stopped after answering every request in flight"), server.standardErrorText, file: file, line: line)
        XCTAssertThrowsError(try server.get("/health"), "no longer accepting", file: file, line: line)
    }

    func testSIGTERMDrainsAndExitsZero() throws { try assertDrains(on: SIGTERM) }

    func testSIGINTDrainsAndExitsZero() throws { try assertDrains(on: SIGINT) }

    /// A client stalled half-way through its request does not keep SIGTERM from ending the
    /// server: its connection is closed after the idle timeout and the server exits 0.
    func testSIGTERMWithAStalledClientExitsZero() throws {
        let server: ServerProcess
        do { server = try ServerProcess(["--idle-timeout", "2"]) } catch { throw XCTSkip("nmt serve did not start: \(error)") }
        let stalled = try server.openStalledRequest(readTimeout: 60)
        defer { close(stalled) }
        usleep(200_000)
        let started = Date()
        XCTAssertEqual(server.stop(timeout: 30), 0, "exit status after SIGTERM; stderr: \(server.standardErrorText)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
        XCTAssertFalse(server.standardErrorText.contains("error"), "the cut-off client is no server error: \(server.standardErrorText)")
    }

    final class Replies: @unchecked Sendable {
        private let lock = NSLock()
        private var statuses: [Int] = []
        var values: [Int] { lock.lock(); defer { lock.unlock() }; return statuses }
        func append(_ status: Int) { lock.lock(); statuses.append(status); lock.unlock() }
        let finished = DispatchSemaphore(value: 0)
        func finish() { finished.signal() }
    }
}
