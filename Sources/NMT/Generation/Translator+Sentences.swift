import Foundation
import Tokenizers

extension Translator {
    /// Translates each text sentence by sentence: `splitter` cuts it, every sentence of every text
    /// is translated (batched together), and each text's translations are put back with its own
    /// spacing. A model trained on single sentences drops some of a line that holds several ("My
    /// name is Anna. I live in Paris. … They are black." lost its last sentence); one at a time,
    /// none is lost. A text of one sentence is translated exactly as `translate` would.
    ///
    /// With `options.nBest` > 1, the i-th translation of a text joins the i-th of each sentence
    /// (the last one a sentence has, when it has fewer): the first is the best, the others are
    /// alternatives, not the exact n-best of the whole. Scores are Σ log p / length^α over the
    /// whole text, ids and tokens the sentences' one after the other (each ending with its EOS).
    /// `warn` gets the text's index; a message about one of its sentences says which, and a text
    /// with more than two warnings gets its first and a count of the rest.
    public func translate(_ texts: [String], splittingWith splitter: SentenceSplitter, options: SearchOptions, batchSize: Int = 32,
                          warn: (Int, String) -> Void = { _, _ in }) -> [[Translation]] {
        let splits = texts.map { splitter.split($0) }
        // The sentences of every text in one list, and which text each belongs to.
        var sentences: [String] = [], owners: [(text: Int, sentence: Int, of: Int)] = []
        for (index, (text, split)) in zip(texts, splits).enumerated() {
            let parts = split.sentences.count > 1 ? split.sentencesOnOneLine : [text]
            sentences += parts
            owners += parts.indices.map { (index, $0, parts.count) }
        }
        // A text's warnings, told once it is translated: the first two as they are, then a count —
        // a megabyte line of 65,536 sentences would otherwise warn 65,536 times.
        var messages = [[String]](repeating: [], count: texts.count)
        let translated = translate(sentences, options: options, batchSize: batchSize) { index, message in
            let owner = owners[index]
            messages[owner.text].append(owner.of > 1 ? "sentence \(owner.sentence + 1) of \(owner.of): \(message)" : message)
        }
        for (text, said) in messages.enumerated() {
            for message in said.prefix(said.count > 2 ? 1 : 2) { warn(text, message) }
            if said.count > 2 { warn(text, "\(said.count - 1) more warnings about its other sentences; the last: \(said.last!)") }
        }
        var results: [[Translation]] = [], next = 0
        for split in splits {
            let count = split.sentences.count > 1 ? split.sentences.count : 1
            let parts = Array(translated[next..<next + count])
            next += count
            results.append(count == 1 ? parts[0] : Self.joined(parts, in: split, lengthPenalty: options.lengthPenalty))
        }
        return results
    }

    /// The translations of a text's sentences (each its n-best) as the text's n-best.
    static func joined(_ parts: [[Translation]], in split: SplitText, lengthPenalty: Float) -> [Translation] {
        let count = parts.map(\.count).max() ?? 0
        return (0..<count).map { rank in
            let chosen = parts.map { $0.isEmpty ? Translation(text: "", score: 0, tokens: [], ids: []) : $0[min(rank, $0.count - 1)] }
            // Back from each score to its sum of log-probabilities, then the whole text's score.
            let sum = chosen.reduce(Float(0)) { $0 + $1.score * powf(Float(max($1.ids.count, 1)), lengthPenalty) }
            let length = chosen.reduce(0) { $0 + $1.ids.count }
            return Translation(text: split.joined(chosen.map(\.text)), score: sum / powf(Float(max(length, 1)), lengthPenalty),
                               tokens: chosen.flatMap(\.tokens), ids: chosen.flatMap(\.ids),
                               repetitionCut: chosen.contains(where: \.repetitionCut))
        }
    }
}
