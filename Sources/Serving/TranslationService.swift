import Foundation
import NMT
import Tokenizers

/// One text translated: its sentences, each with its n-best translations, and the whole text put
/// back together with its own paragraph breaks and spacing.
public struct TextTranslation: Sendable {
    public var source: String
    public var split: SplitText
    /// Per sentence of `split`, the n-best translations, best first.
    public var sentences: [[Translation]]

    /// The text with every sentence replaced by its best translation.
    public var text: String { alternative(0) }

    /// The text with every sentence replaced by its `rank`-th translation (or its last one, when
    /// the search found fewer).
    public func alternative(_ rank: Int) -> String {
        split.joined(sentences.map { nBest in nBest.isEmpty ? "" : nBest[min(rank, nBest.count - 1)].text })
    }

    /// How many distinct whole-text translations there are.
    public var alternativeCount: Int { sentences.map(\.count).max() ?? 1 }
}

/// Text to translations through a model's decoding queue: the request's limits checked, the
/// texts cut into sentences (or not), every sentence of every text queued as one job, the
/// results put back in place.
public struct TranslationService: Sendable {
    public let limits: ServerLimits

    public init(limits: ServerLimits) { self.limits = limits }

    public func translate(_ texts: [String], with model: ServedModel, options: SearchOptions, splitSentences: Bool,
                          deadline: ContinuousClock.Instant) async throws -> [TextTranslation] {
        guard texts.count <= limits.maxTexts else {
            throw APIError.badRequest("\(texts.count) texts in one request; the limit is \(limits.maxTexts)")
        }
        let characters = texts.reduce(0) { $0 + $1.count }
        guard characters <= limits.maxCharacters else {
            throw APIError(.contentTooLarge, "\(characters) characters in one request; the limit is \(limits.maxCharacters)")
        }
        let splitter = SentenceSplitter(languageCode: model.pair.source)
        let splits: [SplitText] = texts.map { text in
            guard splitSentences else {
                let blank = text.allSatisfy(\.isWhitespace)
                return SplitText(sentences: blank ? [] : [text], separators: blank ? [text] : ["", ""])
            }
            return splitter.split(text)
        }
        let sentences = splits.flatMap { splitSentences ? $0.sentencesOnOneLine : $0.sentences }
        guard sentences.count <= limits.maxSentences else {
            throw APIError(.contentTooLarge, "\(sentences.count) sentences in one request; the limit is \(limits.maxSentences)")
        }
        let translator = model.translator
        let maxPositions = translator.model.config.maxPositions
        let sources = try sentences.enumerated().map { index, sentence -> [Int] in
            let (ids, truncated) = translator.sourceIds(sentence)
            guard !truncated else {
                throw APIError(.contentTooLarge, "sentence \(index + 1) of the request is longer than the model's \(maxPositions) positions; split it")
            }
            return ids
        }
        let hypotheses: [[Hypothesis]]
        do { hypotheses = try await model.queue.translate(sources, options: options, deadline: deadline) } catch let refusal as QueueRefusal {
            throw APIError.from(refusal)
        }
        var next = 0
        return zip(texts, splits).map { text, split in
            let count = split.sentences.count
            let nBests = hypotheses[next..<next + count].map { $0.map(translator.translation) }
            next += count
            return TextTranslation(source: text, split: split, sentences: Array(nBests))
        }
    }

    /// The search options of a request (`nmt translate`'s, with its defaults), checked against
    /// the limits.
    func searchOptions(_ fields: RequestFields, nBestField: String = "n_best") throws -> SearchOptions {
        let beam = try fields.integer("beam", in: 1...limits.maxBeam) ?? 4
        let nBest = try fields.integer(nBestField, in: 1...limits.maxAlternatives + 1) ?? 1
        guard nBest <= beam else { throw APIError.badRequest("\"\(nBestField)\" (\(nBest)) must not exceed \"beam\" (\(beam))") }
        let lengthPenalty = try fields.number("length_penalty", in: 0...5) ?? 1
        let maxLength = try fields.integer("max_length", in: 1...limits.maxLength) ?? 256
        return SearchOptions(beamSize: beam, nBest: nBest, lengthPenalty: Float(lengthPenalty), maxNewTokens: maxLength)
    }
}
