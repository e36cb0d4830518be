import TextIO

extension Translation {
    /// `{"ids", "score", "text", "tokens"}`: one translation as `nmt translate --format json` and
    /// `nmt serve`'s `/v1/translate` write it (a score that is not finite is null).
    public var json: JSON {
        ["ids": .array(ids.map { .number($0) }), "score": .figure(Double(score)), "text": .string(text), "tokens": .array(tokens.map(JSON.string))]
    }

    /// `{"source", "translations": [...]}`: a sentence and its n-best, as one line of
    /// `nmt translate --format json`.
    public static func json(source: String, nBest: [Translation]) -> JSON {
        ["source": .string(source), "translations": .array(nBest.map(\.json))]
    }
}
