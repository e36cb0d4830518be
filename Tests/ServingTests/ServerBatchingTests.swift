import Foundation
import TestSupport
import XCTest

/// Sixteen clients sending one Tatoeba sentence per request get exactly what `nmt translate`
/// prints for the same lines, and the server decodes their sentences together.
final class ServerBatchingTests: XCTestCase {
    static let clients = 16

    func testSixteenClientsGetWhatTranslatePrints() throws {
        guard let corpus = Fixtures.sharedCorpus("tatoeba-eng-fra/test.tsv") else { throw XCTSkip("../shared/corpora/tatoeba-eng-fra is absent") }
        let count = Int(ProcessInfo.processInfo.environment["NMT_SERVE_SENTENCES"] ?? "") ?? 300
        let lines = try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n").prefix(count)
            .map { String($0.split(separator: "\t")[0]) }
        let server: ServerProcess
        do { server = try ServerProcess() } catch { throw XCTSkip("nmt serve did not start: \(error)") }
        defer { XCTAssertEqual(server.stop(), 0) }

        let commandStart = Date()
        let command = try NMTProcess.run(["translate"], input: lines.joined(separator: "\n") + "\n", timeout: 600)
        let commandSeconds = Date().timeIntervalSince(commandStart)
        XCTAssertEqual(command.status, 0, command.standardError)
        let expected = command.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        XCTAssertEqual(expected.count, lines.count)

        let results = Results(count: lines.count)
        let next = Counter()
        let started = Date()
        ServerProcess.onThreads(Self.clients) { _ in
            while let index = next.take(below: lines.count) {
                // One line, unsplit, as `nmt translate` reads it.
                let reply = try? server.post("/v1/translate", json: ["q": lines[index], "split": false])
                let text = ((reply?.object["translations"] as? [[String: Any]])?.first?["text"] as? String)
                results.set(index, text ?? "<status \(reply?.status ?? -1): \(reply?.text ?? "no reply")>")
            }
        }
        let serverSeconds = Date().timeIntervalSince(started)
        let mismatches = zip(expected, results.values).enumerated().filter { $0.element.0 != $0.element.1 }
        XCTAssertEqual(mismatches.count, 0, "first: \(mismatches.prefix(3).map { "line \($0.offset + 1): \($0.element.0) ≠ \($0.element.1 ?? "nil")" })")

        let metrics = try server.get("/metrics").text
        let sum = Self.value("nmt_batch_sentences_sum", in: metrics), batches = Self.value("nmt_batch_sentences_count", in: metrics)
        let mean = sum / max(batches, 1)
        XCTAssertEqual(sum, Double(lines.count), "every sentence decoded once")
        XCTAssertGreaterThan(mean, 4, "concurrent requests share batches")
        let ratio = serverSeconds / commandSeconds
        print("nmt serve, \(Self.clients) clients × \(lines.count) sentences: \(String(format: "%.2f", serverSeconds)) s; "
              + "nmt translate: \(String(format: "%.2f", commandSeconds)) s; ratio \(String(format: "%.2f", ratio)); "
              + "mean batch \(String(format: "%.1f", mean)) sentences over \(Int(batches)) batches")
    }

    /// The value of an unlabelled metric in Prometheus text.
    static func value(_ name: String, in text: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ")[1]) ?? .nan
        }
        return .nan
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [String?]
        init(count: Int) { storage = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: String) { lock.lock(); storage[index] = value; lock.unlock() }
        var values: [String?] { lock.lock(); defer { lock.unlock() }; return storage }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take(below limit: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }
}
