import Foundation
import NMT
import Serving
import Tensor
import TestSupport
import XCTest

/// The batching queue in front of the shipped model: what it decodes together comes out as if
/// each sentence were decoded alone; it refuses work past its capacity or deadline, and drains.
final class DecodingQueueTests: XCTestCase {
    nonisolated(unsafe) static var translator: Translator?

    var translator: Translator {
        get throws {
            if let translator = Self.translator { return translator }
            let directory = Fixtures.packageRoot.appendingPathComponent("models/en-fr")
            guard FileManager.default.fileExists(atPath: directory.path) else { throw XCTSkip("models/en-fr is absent") }
            Parallel.configure(threads: 2)
            let translator = try Translator(directory: directory)
            Self.translator = translator
            return translator
        }
    }

    let sentences = ["I am a student.", "How are you?", "Go away!", "The cat sleeps on the warm windowsill every afternoon.",
                     "Tom doesn't know what Mary wants to do tomorrow.", "Yes.", "Where is the train station, please?",
                     "I have never seen such a beautiful sunset in my whole life.", "We'll see.", "Do you speak French?",
                     "She gave him a book for his birthday.", "It is raining."]

    /// The same hypotheses: the same ids, and log-probabilities within `tolerance`. Not bit for
    /// bit: OpenBLAS's sgemm sums a row in an order that depends on how many rows the product
    /// has, so the last bits of a score move with the batch (by up to ~2e-6 here) even in nmt
    /// translate's own batches.
    func assertSame(_ actual: [Hypothesis], _ expected: [Hypothesis], tolerance: Float = 1e-5, _ message: String,
                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.map(\.ids), expected.map(\.ids), message, file: file, line: line)
        for (a, e) in zip(actual, expected) {
            let largest = zip(a.tokenLogProbabilities, e.tokenLogProbabilities).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(largest, tolerance, "\(message): log-probabilities", file: file, line: line)
            XCTAssertEqual(a.score, e.score, accuracy: tolerance, "\(message): score", file: file, line: line)
        }
    }

    /// Sends every source as its own request, all at once, and returns each one's hypotheses.
    func concurrently(_ queue: DecodingQueue, _ sources: [[Int]], options: SearchOptions) async throws -> [[Hypothesis]] {
        try await withThrowingTaskGroup(of: (Int, [Hypothesis]).self) { group in
            for (index, source) in sources.enumerated() {
                group.addTask { (index, try await queue.translate([source], options: options, deadline: .now + .seconds(120))[0]) }
            }
            var results = [[Hypothesis]](repeating: [], count: sources.count)
            for try await (index, hypotheses) in group { results[index] = hypotheses }
            return results
        }
    }

    func testBatchedResultsAreThoseOfEachSentenceAlone() async throws {
        let translator = try self.translator
        let generator = Generator(model: translator.model)
        let sources = sentences.map { translator.sourceIds($0).ids }
        let metrics = ServerMetrics()
        let queue = DecodingQueue(generator: generator, policy: BatchingPolicy(maxSentences: 8, maxWait: .milliseconds(50)), metrics: metrics)
        defer { queue.drain() }
        for options in [SearchOptions(beamSize: 1), SearchOptions(beamSize: 4, nBest: 2)] {
            let batched = try await concurrently(queue, sources, options: options)
            for (index, source) in sources.enumerated() {
                let alone = generator.generate(sources: [source], options: options)[0]
                assertSame(batched[index], alone, "\(sentences[index]) with beam \(options.beamSize)")
            }
        }
        XCTAssertGreaterThan(metrics.meanBatchSentences, 1.5, "requests arriving together share batches")
        XCTAssertTrue(metrics.render().contains("nmt_batch_sentences_count"))
    }

    func testRequestsThatDifferOnlyInNBestShareABatch() async throws {
        let translator = try self.translator
        let generator = Generator(model: translator.model)
        let metrics = ServerMetrics()
        let queue = DecodingQueue(generator: generator, policy: BatchingPolicy(maxWait: .milliseconds(200)), metrics: metrics)
        defer { queue.drain() }
        let source = translator.sourceIds("How are you?").ids
        async let one = queue.translate([source], options: SearchOptions(beamSize: 4, nBest: 1), deadline: .now + .seconds(60))
        async let three = queue.translate([source], options: SearchOptions(beamSize: 4, nBest: 3), deadline: .now + .seconds(60))
        let (first, second) = try await (one, three)
        XCTAssertEqual(first[0].count, 1)
        XCTAssertEqual(second[0].count, 3)
        assertSame([first[0][0]], [second[0][0]], "the best of both")
        assertSame(second[0], generator.generate(sources: [source], options: SearchOptions(beamSize: 4, nBest: 3))[0], "n-best 3")
        XCTAssertEqual(metrics.meanBatchSentences, 2, "one batch of two")
    }

    func testAFullQueueRefusesAtOnce() async throws {
        let translator = try self.translator
        let queue = DecodingQueue(generator: Generator(model: translator.model), capacity: 3)
        defer { queue.drain() }
        let sources = sentences.prefix(4).map { translator.sourceIds($0).ids }
        do {
            _ = try await queue.translate(sources, options: SearchOptions(), deadline: .now + .seconds(60))
            XCTFail("four sentences do not fit a queue of three")
        } catch let refusal as QueueRefusal {
            guard case .full(let seconds) = refusal else { return XCTFail("\(refusal)") }
            XCTAssertGreaterThanOrEqual(seconds, 1)
        }
        let fitting = try await queue.translate(Array(sources.prefix(3)), options: SearchOptions(), deadline: .now + .seconds(60))
        XCTAssertEqual(fitting.count, 3)
    }

    func testADeadlinePassedWhileWaitingIsRefusedAndTheQueueGoesOn() async throws {
        let translator = try self.translator
        let queue = DecodingQueue(generator: Generator(model: translator.model))
        defer { queue.drain() }
        // Hold the decoder thread for a second, so the sentence waits past its deadline.
        async let blocker: Void = queue.exclusively(deadline: .now + .seconds(60)) { Thread.sleep(forTimeInterval: 1) }
        try await Task.sleep(for: .milliseconds(50))
        let source = translator.sourceIds("I am a student.").ids
        do {
            _ = try await queue.translate([source], options: SearchOptions(), deadline: .now + .milliseconds(200))
            XCTFail("the deadline passed while the decoder was busy")
        } catch let refusal as QueueRefusal {
            XCTAssertEqual(refusal, .deadlineExceeded)
        }
        try await blocker
        XCTAssertEqual(queue.depth, 0, "the abandoned sentence left the queue")
        let later = try await queue.translate([source], options: SearchOptions(), deadline: .now + .seconds(60))
        XCTAssertEqual(translator.tokenizer.decodeTarget(later[0][0].ids, skipSpecialTokens: true), "Je suis étudiant.")
    }

    func testDrainFinishesQueuedWorkThenRefuses() async throws {
        let translator = try self.translator
        let queue = DecodingQueue(generator: Generator(model: translator.model))
        let sources = sentences.map { translator.sourceIds($0).ids }
        // Hold the decoder thread while every sentence joins the queue, then drain.
        async let blocker: Void = queue.exclusively(deadline: .now + .seconds(60)) { Thread.sleep(forTimeInterval: 0.5) }
        try await Task.sleep(for: .milliseconds(50))
        async let all = concurrently(queue, sources, options: SearchOptions(beamSize: 2))
        while queue.depth < sources.count { try await Task.sleep(for: .milliseconds(5)) }
        await withCheckedContinuation { continuation in
            Thread {
                queue.drain()
                continuation.resume()
            }.start()
        }
        try await blocker
        let results = try await all
        XCTAssertTrue(results.allSatisfy { !$0.isEmpty }, "queued sentences are decoded before the queue stops")
        do {
            _ = try await queue.translate([sources[0]], options: SearchOptions(), deadline: .now + .seconds(5))
            XCTFail("a drained queue takes no work")
        } catch let refusal as QueueRefusal {
            XCTAssertEqual(refusal, .stopping)
        }
    }
}
