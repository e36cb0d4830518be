import Foundation
import Prometheus

/// What `GET /metrics` reports, in Prometheus's text format: requests and errors by route and
/// status, request latency, the decoder's batches (sentences, tokens, time) and the queue's depth.
public final class ServerMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Sentences waiting for the decoder, over every model.
    let queueDepth: Gauge
    private let batchSentences: ValueHistogram
    private let batchTokens: ValueHistogram
    private let batchDuration: DurationHistogram
    private let batchSentencesMean: Gauge
    private let sentences: Counter
    private let inFlightGauge: Gauge
    private var inFlight = 0
    private let lock = NSLock()
    private var batches = 0
    private var batchedSentences = 0

    /// The routes a request is counted under; anything else is "other", so a scan of random
    /// paths cannot grow the label set.
    public static let routes: Set<String> = ["/", "/translate", "/languages", "/v1/translate", "/v1/attention", "/v1/walkthrough",
                                              "/health", "/metrics", "/openapi.json"]

    static let latencyBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                             .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                             .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]

    public init() {
        queueDepth = registry.makeGauge(descriptor: Self.name("queue", "sentences", "Sentences waiting for the decoder."))
        batchSentences = registry.makeValueHistogram(descriptor: Self.name("batch", "sentences", "Sentences per decoder batch."),
                                                     labels: [], buckets: [1, 2, 4, 8, 12, 16, 24, 32, 64])
        batchTokens = registry.makeValueHistogram(descriptor: Self.name("batch", "tokens", "Source tokens per decoder batch (without padding)."),
                                                  labels: [], buckets: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096])
        batchDuration = registry.makeDurationHistogram(descriptor: Self.name("batch_duration", "seconds", "Time to decode one batch."),
                                                       labels: [], buckets: Self.latencyBuckets)
        batchSentencesMean = registry.makeGauge(descriptor: Self.name("batch_sentences", "mean", "Mean sentences per decoder batch since the start."))
        sentences = registry.makeCounter(descriptor: Self.name("translated_sentences", "total", "Sentences decoded."))
        inFlightGauge = registry.makeGauge(descriptor: Self.name("http_requests", "in_flight", "Requests received and not yet answered."))
    }

    /// Requests received and not yet answered.
    public var requestsInFlight: Int {
        lock.lock()
        defer { lock.unlock() }
        return inFlight
    }

    /// Counts a request in (+1) or out (-1) of flight.
    func requestInFlight(_ change: Int) {
        lock.lock()
        inFlight += change
        let value = inFlight
        lock.unlock()
        inFlightGauge.set(Double(value))
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "nmt", metricName: metric, unitName: unit, helpText: help)
    }

    /// Counts a finished request: by route and status, an error when the status is 4xx or 5xx,
    /// and its latency.
    public func recordRequest(route: String, status: Int, duration: Duration) {
        let route = Self.routes.contains(route) ? route : "other"
        registry.makeCounter(descriptor: Self.name("http_requests", "total", "HTTP requests answered, by route and status."),
                             labels: [("route", route), ("status", String(status))]).increment()
        if status >= 400 {
            registry.makeCounter(descriptor: Self.name("http_errors", "total", "HTTP requests answered with 4xx (client) or 5xx (server)."),
                                 labels: [("route", route), ("class", status >= 500 ? "server" : "client")]).increment()
        }
        registry.makeDurationHistogram(descriptor: Self.name("http_request_duration", "seconds", "Time from request to response, by route."),
                                       labels: [("route", route)], buckets: Self.latencyBuckets).record(duration)
    }

    /// Records one decoder batch.
    func recordBatch(sentences count: Int, tokens: Int, duration: Duration) {
        batchSentences.record(Double(count))
        batchTokens.record(Double(tokens))
        batchDuration.record(duration)
        sentences.increment(by: Int64(count))
        lock.lock()
        batches += 1
        batchedSentences += count
        let mean = Double(batchedSentences) / Double(batches)
        lock.unlock()
        batchSentencesMean.set(mean)
    }

    /// Mean sentences per batch so far (0 before the first batch).
    public var meanBatchSentences: Double {
        lock.lock()
        defer { lock.unlock() }
        return batches == 0 ? 0 : Double(batchedSentences) / Double(batches)
    }

    /// The text exposition of every metric.
    public func render() -> String { registry.emitToString() }
}
