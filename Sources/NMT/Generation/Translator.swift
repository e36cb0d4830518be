import Foundation
import Tensor
import Tokenizers

/// One translation of a sentence.
public struct Translation: Sendable, Equatable {
    public var text: String
    /// Σ log p / length^lengthPenalty of the generated ids.
    public var score: Float
    /// The pieces of `ids`.
    public var tokens: [String]
    /// Generated ids without the start token, EOS included when the search reached it.
    public var ids: [Int]
}

/// Text to text: tokenize, encode, search, detokenize — in batches of similar length, with the
/// results returned in input order.
public final class Translator {
    public let model: Transformer
    public let tokenizer: Tokenizer

    /// Pairs a model with its tokenizer; they must agree on the vocabulary and the special ids.
    public init(model: Transformer, tokenizer: Tokenizer) throws {
        try model.config.checkAgreement(with: tokenizer)
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Loads config.json, model.safetensors and tokenizer.json from a model directory.
    public convenience init(directory: URL) throws {
        let model = try ModelDirectory.loadModel(from: directory)
        let tokenizerURL = directory.appendingPathComponent(ModelDirectory.tokenizerFile)
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw ModelError("\(tokenizerURL.path): missing from the model directory")
        }
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(contentsOf: tokenizerURL) } catch let error as TokenizerError {
            throw ModelError(error.description)
        }
        try self.init(model: model, tokenizer: tokenizer)
    }

    /// The source ids of `text`: its pieces and EOS, cut to the model's positions when longer
    /// (then `truncated` is true).
    public func sourceIds(_ text: String) -> (ids: [Int], truncated: Bool) {
        model.config.fitted(tokenizer.encode(text) + [model.config.eosId])
    }

    /// Translates every sentence; `nBest` translations each, best first. An empty (or all-space)
    /// sentence gets one empty translation without running the model. Sentences longer than the
    /// model's positions are cut, and `warn` is told their index.
    public func translate(_ sentences: [String], options: SearchOptions, batchSize: Int = 32,
                          warn: (Int, String) -> Void = { _, _ in }) -> [[Translation]] {
        precondition(batchSize >= 1, "batch size must be positive")
        var results = [[Translation]](repeating: [], count: sentences.count)
        var sources: [(index: Int, ids: [Int])] = []
        for (index, sentence) in sentences.enumerated() {
            if sentence.allSatisfy(\.isWhitespace) {
                results[index] = [Translation(text: "", score: 0, tokens: [], ids: [])]
                continue
            }
            let (ids, truncated) = sourceIds(sentence)
            if truncated {
                warn(index, "longer than the model's \(model.config.maxPositions) positions; translating its first \(ids.count - 1) pieces")
            }
            sources.append((index, ids))
        }
        // Similar lengths together keep padding (and wasted work) low.
        sources.sort { $0.ids.count > $1.ids.count }
        let generator = Generator(model: model)
        for start in stride(from: 0, to: sources.count, by: batchSize) {
            let batch = sources[start..<min(start + batchSize, sources.count)]
            let hypotheses = generator.generate(sources: batch.map(\.ids), options: options)
            for (item, nBest) in zip(batch, hypotheses) {
                results[item.index] = nBest.map(translation)
            }
        }
        return results
    }

    private func translation(_ hypothesis: Hypothesis) -> Translation {
        Translation(text: tokenizer.decode(hypothesis.ids), score: hypothesis.score,
                    tokens: hypothesis.ids.map { tokenizer.piece(for: $0) ?? "<\($0)>" }, ids: hypothesis.ids)
    }
}
