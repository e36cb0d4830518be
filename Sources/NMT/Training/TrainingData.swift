import Tokenizers

/// A parallel corpus tokenized for the model: every source and target as ids ending with EOS.
public struct TrainingData: Sendable {
    /// Source ids of each kept pair, EOS last.
    public let sources: [[Int]]
    /// Target ids of each kept pair (the first translation), EOS last.
    public let targets: [[Int]]
    /// The kept pairs' text, for validation's translations and references.
    public let pairs: [SentencePair]
    /// Pairs left out because the source or target (with EOS) is longer than `maxLength`: line numbers.
    public let tooLongLines: [Int]

    public init(corpus: ParallelCorpus, tokenizer: any TranslationTokenizer, maxLength: Int) {
        var sources: [[Int]] = [], targets: [[Int]] = [], pairs: [SentencePair] = [], tooLong: [Int] = []
        for pair in corpus.pairs {
            let source = tokenizer.encodeSource(pair.source)
            let target = tokenizer.encodeTarget(pair.target)
            guard source.count <= maxLength && target.count <= maxLength else {
                tooLong.append(pair.line)
                continue
            }
            sources.append(source)
            targets.append(target)
            pairs.append(pair)
        }
        self.sources = sources
        self.targets = targets
        self.pairs = pairs
        tooLongLines = tooLong
    }

    public var count: Int { pairs.count }

    /// Target tokens (EOS included) over all pairs.
    public var targetTokenCount: Int { targets.reduce(0) { $0 + $1.count } }

    /// The batch of the pairs `indices` under teacher forcing.
    public func batch(_ indices: [Int], padId: Int, decoderStartId: Int) -> TeacherForcedBatch {
        TeacherForcedBatch(sources: indices.map { sources[$0] }, targets: indices.map { targets[$0] },
                           padId: padId, decoderStartId: decoderStartId)
    }
}
