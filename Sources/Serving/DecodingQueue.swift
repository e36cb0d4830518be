import Foundation
import NMT

/// Why a request's sentences were not decoded.
public enum QueueRefusal: Error, Equatable, Sendable {
    /// The queue holds its maximum; try again after the given seconds.
    case full(retryAfterSeconds: Int)
    /// The request's deadline passed before its sentences were decoded.
    case deadlineExceeded
    /// The server is shutting down and takes no new work.
    case stopping
}

/// How the queue forms batches.
public struct BatchingPolicy: Sendable, Equatable {
    /// Most sentences decoded together (`nmt translate --batch-size`'s default).
    public var maxSentences: Int = 32
    /// Most source tokens in a batch, counted with padding (sentences × the longest).
    public var maxTokens: Int = 4096
    /// How long a batch waits for more sentences to join it, counted from the later of its oldest
    /// sentence's arrival and the previous batch's end. 10 ms: on a calm machine it fills the
    /// batches of 16 lock-step clients as 20 ms does, for half the cost to a client alone
    /// (docs/DESIGN.md).
    public var maxWait: Duration = .milliseconds(10)

    public init(maxSentences: Int = 32, maxTokens: Int = 4096, maxWait: Duration = .milliseconds(10)) {
        self.maxSentences = maxSentences
        self.maxTokens = maxTokens
        self.maxWait = maxWait
    }
}

/// One thread in front of one model: sentences from concurrent requests wait here and are decoded
/// together, a batch at a time, so a batch of many short requests costs about what one batch of
/// `nmt translate` costs. Work that needs the model alone (attention recordings, walkthroughs)
/// runs on the same thread between batches, so the model is never used by two threads at once.
///
/// A sentence's translation does not depend on its batch: `Generator` decodes every row as if
/// alone (padding is masked). Its scores may, in the last bits: OpenBLAS sums a row of a product
/// in an order that depends on the product's row count, so log-probabilities move by ~1e-6 with
/// the batch — as they do between `nmt translate --batch-size 1` and its default. The ids are the
/// same (`DecodingQueueTests`; and over Tatoeba's test set, docs/BENCHMARKS.md).
public final class DecodingQueue: @unchecked Sendable {
    public let generator: Generator
    public let policy: BatchingPolicy
    /// Sentences that may wait at once.
    public let capacity: Int
    private let metrics: ServerMetrics?

    /// A request's sentences; done when every one has its hypotheses, or when it gave up.
    private final class Job {
        var results: [[Hypothesis]?]
        var remaining: Int
        var continuation: CheckedContinuation<[[Hypothesis]], Error>?
        init(count: Int) {
            results = Array(repeating: nil, count: count)
            remaining = count
        }
    }

    /// A sentence waiting for the decoder.
    private struct Pending {
        let job: Job
        let index: Int
        let ids: [Int]
        /// What the search runs with: the request's options with n-best raised to the beam, so
        /// requests that differ only in n-best share a batch (n-best only cuts the sorted list).
        let search: SearchOptions
        let nBest: Int
        let arrived: Date
    }

    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var exclusive: [() -> Void] = []
    private var stopping = false
    private var thread: Thread?
    private var finished = false
    /// When the last batch was handed back: its requesters answer, and their next sentences
    /// arrive a few milliseconds later.
    private var lastBatchEnd = Date.distantPast

    public init(generator: Generator, policy: BatchingPolicy = BatchingPolicy(), capacity: Int = 1024, metrics: ServerMetrics? = nil) {
        precondition(policy.maxSentences >= 1 && policy.maxTokens >= 1 && capacity >= 1, "DecodingQueue: empty limits")
        self.generator = generator
        self.policy = policy
        self.capacity = capacity
        self.metrics = metrics
        let thread = Thread { [unowned self] in self.work() }
        thread.name = "nmt-decoder"
        // The decoder is the server's only heavy work; a bigger stack than a secondary thread's
        // default leaves room for the search's recursion-free but wide frames.
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Sentences waiting now.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    /// The best `options.nBest` hypotheses of each source (ids ending with EOS), decoded with
    /// whatever else is waiting. Throws `QueueRefusal.full` at once when the sentences do not fit,
    /// and `.deadlineExceeded` when they are not done by `deadline`.
    public func translate(_ sources: [[Int]], options: SearchOptions, deadline: ContinuousClock.Instant) async throws -> [[Hypothesis]] {
        guard !sources.isEmpty else { return [] }
        let job = Job(count: sources.count)
        var search = options
        search.nBest = options.beamSize
        let timer = Task { [weak self] in
            try await Task.sleep(until: deadline, clock: .continuous)
            self?.abandon(job, because: .deadlineExceeded)
        }
        defer { timer.cancel() }
        let arrived = Date()
        return try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            if stopping { return continuation.resume(throwing: QueueRefusal.stopping) }
            guard pending.count + sources.count <= capacity else {
                return continuation.resume(throwing: QueueRefusal.full(retryAfterSeconds: retryAfterSeconds))
            }
            job.continuation = continuation
            for (index, ids) in sources.enumerated() {
                pending.append(Pending(job: job, index: index, ids: ids, search: search, nBest: options.nBest, arrived: arrived))
            }
            metrics?.queueDepth.set(Double(pending.count))
            condition.signal()
        }
    }

    /// A piece of exclusive work's answer, given once: by the decoder thread or by the deadline.
    private final class Answer<T>: @unchecked Sendable {
        var continuation: CheckedContinuation<T, Error>?
    }

    /// Runs `work` on the decoder thread between batches (it has the model to itself there).
    public func exclusively<T: Sendable>(deadline: ContinuousClock.Instant, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let answer = Answer<T>()
        let timer = Task { [weak self] in
            try await Task.sleep(until: deadline, clock: .continuous)
            self?.answer(answer, with: .failure(QueueRefusal.deadlineExceeded))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            condition.lock()
            defer { condition.unlock() }
            if stopping { return continuation.resume(throwing: QueueRefusal.stopping) }
            guard exclusive.count < capacity else { return continuation.resume(throwing: QueueRefusal.full(retryAfterSeconds: retryAfterSeconds)) }
            answer.continuation = continuation
            exclusive.append { [unowned self] in
                self.condition.lock()
                let wanted = answer.continuation != nil
                self.condition.unlock()
                guard wanted else { return }   // its deadline passed while it waited
                self.answer(answer, with: Result { try work() })
            }
            condition.signal()
        }
    }

    private func answer<T>(_ answer: Answer<T>, with result: Result<T, Error>) {
        condition.lock()
        let continuation = answer.continuation
        answer.continuation = nil
        condition.unlock()
        continuation?.resume(with: result)
    }

    /// Finishes everything already queued, then stops the thread; later requests are refused.
    public func drain() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// A guess of when there will be room: a second for every batch's worth of waiting sentences.
    private var retryAfterSeconds: Int { max(1, pending.count / max(policy.maxSentences, 1)) }

    /// Drops the job's sentences still waiting and answers it with `reason`; sentences already in
    /// a batch finish, and their results are dropped.
    private func abandon(_ job: Job, because reason: QueueRefusal) {
        condition.lock()
        defer { condition.unlock() }
        guard let continuation = job.continuation else { return }
        job.continuation = nil
        pending.removeAll { $0.job === job }
        metrics?.queueDepth.set(Double(pending.count))
        continuation.resume(throwing: reason)
    }

    // MARK: the decoder thread

    private func work() {
        while let batch = nextBatch() {
            switch batch {
            case .exclusive(let work):
                work()
            case .decode(let items):
                decode(items)
            }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private enum Work {
        case exclusive(() -> Void)
        case decode([Pending])
    }

    /// Waits for work; for sentences, up to `policy.maxWait` after the oldest arrived or the last
    /// batch ended (the later), unless a full batch is already waiting. Nil once stopping with nothing left.
    private func nextBatch() -> Work? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while pending.isEmpty && exclusive.isEmpty {
                if stopping { return nil }
                condition.wait()
            }
            if !exclusive.isEmpty { return .exclusive(exclusive.removeFirst()) }
            // Wait from the later of the oldest arrival and the last batch's end: clients answered
            // by that batch send again within milliseconds, and waiting for them merges the two
            // halves that would otherwise alternate (one decoding while the other queues).
            let waitUntil = max(pending[0].arrived, lastBatchEnd).addingTimeInterval(policy.maxWait.seconds)
            while !stopping, exclusive.isEmpty, !pending.isEmpty, !isFull(pending), Date() < waitUntil {
                _ = condition.wait(until: waitUntil)
            }
            if !exclusive.isEmpty { return .exclusive(exclusive.removeFirst()) }
            // Every waiting sentence may have been abandoned meanwhile.
            guard !pending.isEmpty else { continue }
            let batch = takeBatch()
            metrics?.queueDepth.set(Double(pending.count))
            return .decode(batch)
        }
    }

    /// Whether the sentences that would join the oldest one's batch already fill it.
    private func isFull(_ queue: [Pending]) -> Bool {
        let compatible = queue.filter { $0.search == queue[0].search }
        return batchEnd(from: compatible) < compatible.count
            || compatible.count >= policy.maxSentences
    }

    /// How many of `items`, from the first, fit one batch: at most `maxSentences`, and at most
    /// `maxTokens` counted as sentences × the longest (always at least one).
    private func batchEnd(from items: [Pending]) -> Int {
        var longest = 0
        for (count, item) in items.enumerated() {
            if count == policy.maxSentences { return count }
            longest = max(longest, item.ids.count)
            if count > 0 && (count + 1) * longest > policy.maxTokens { return count }
        }
        return items.count
    }

    /// Removes and returns the oldest sentence and those with the same search options after it,
    /// in arrival order, as many as fit a batch.
    private func takeBatch() -> [Pending] {
        let search = pending[0].search
        var chosen: [Int] = []
        var longest = 0
        for (position, item) in pending.enumerated() where item.search == search {
            let newLongest = max(longest, item.ids.count)
            if !chosen.isEmpty && (chosen.count >= policy.maxSentences || (chosen.count + 1) * newLongest > policy.maxTokens) { break }
            chosen.append(position)
            longest = newLongest
        }
        let batch = chosen.map { pending[$0] }
        let taken = Set(chosen)
        pending = pending.enumerated().filter { !taken.contains($0.offset) }.map(\.element)
        return batch
    }

    /// Decodes one batch and hands each sentence's hypotheses to its job.
    private func decode(_ batch: [Pending]) {
        let started = ContinuousClock.now
        // Longest first, as `Translator` orders a batch; the order does not change any result.
        let order = batch.indices.sorted { batch[$0].ids.count > batch[$1].ids.count }
        let hypotheses = generator.generate(sources: order.map { batch[$0].ids }, options: batch[0].search)
        metrics?.recordBatch(sentences: batch.count, tokens: batch.map(\.ids.count).reduce(0, +), duration: ContinuousClock.now - started)
        condition.lock()
        var done: [(CheckedContinuation<[[Hypothesis]], Error>, [[Hypothesis]])] = []
        for (slot, index) in order.enumerated() {
            let item = batch[index]
            guard item.job.continuation != nil, item.job.results[item.index] == nil else { continue }
            item.job.results[item.index] = Array(hypotheses[slot].prefix(item.nBest))
            item.job.remaining -= 1
            if item.job.remaining == 0, let continuation = item.job.continuation {
                item.job.continuation = nil
                done.append((continuation, item.job.results.map { $0! }))
            }
        }
        lastBatchEnd = Date()
        condition.unlock()
        for (continuation, results) in done { continuation.resume(returning: results) }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
