import Foundation

/// The bounds a server puts on what one request may ask and on how much work it holds at once.
/// Each bound turns an oversized or abusive request into a 4xx (or, for the queue, a 503) instead
/// of unbounded memory or time.
public struct ServerLimits: Sendable, Equatable {
    /// The largest request body read, in bytes (413 beyond).
    public var maxBodyBytes: Int = 1 << 20
    /// Characters of text per request, all `q` entries together.
    public var maxCharacters: Int = 20_000
    /// Sentences per request after splitting, all `q` entries together.
    public var maxSentences: Int = 200
    /// Entries of a `q` list.
    public var maxTexts: Int = 100
    /// LibreTranslate's `alternatives`, and nmt's n-best, at most this many (and at most the beam).
    public var maxAlternatives: Int = 8
    /// The widest beam a request may ask for.
    public var maxBeam: Int = 16
    /// The longest output a request may ask for, in tokens.
    public var maxLength: Int = 512
    /// Characters of the sentence `/v1/attention` explains (its answer grows with the square).
    public var maxAttentionCharacters: Int = 1_000
    /// Sentences waiting for the decoder; a request that would pass it gets 503 with Retry-After.
    public var maxQueuedSentences: Int = 1_024
    /// A request not answered by then gets 503 (its sentences still waiting are dropped).
    public var deadline: Duration = .seconds(60)
    /// A connection that sends nothing for this long while a request is being read (a body that
    /// stalls half-way, headers never finished) or between requests is closed: without it one
    /// stalled client holds its connection for ever and keeps SIGTERM from ever finishing.
    public var idleTimeout: Duration = .seconds(10)

    public init() {}
}
