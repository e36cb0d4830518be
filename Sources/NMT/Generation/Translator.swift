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
    /// The search cut it where it went into a loop (`RepetitionGuard`).
    public var repetitionCut = false
}

/// Text to text: tokenize, encode, search, detokenize — in batches of similar length, with the
/// results returned in input order.
public final class Translator {
    public let model: Transformer
    public let tokenizer: any TranslationTokenizer

    /// Pairs a model with its tokenizer; they must agree on the vocabularies and the special ids.
    public init(model: Transformer, tokenizer: any TranslationTokenizer) throws {
        try model.config.checkAgreement(with: tokenizer)
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Loads config.json, the weights and the tokenizer from a model directory: nmt's own
    /// (tokenizer.json) or an OPUS-MT folder (SentencePiece files, maybe pytorch_model.bin only),
    /// its weights as stored or converted to `computeType` (`ModelDirectory.loadModel`). With
    /// `packingWeights`, a float32 model's are packed for the inference product
    /// (`Transformer.packedForInference`): that pays for itself over a file of sentences, while a
    /// single one is translated sooner without it (packing touches 30 MB of fresh memory).
    public convenience init(directory: URL, computeType: WeightType? = nil, packingWeights: Bool = true) throws {
        let loaded = try ModelDirectory.loadModel(from: directory, computeType: computeType)
        let model = packingWeights ? loaded.packedForInference() : loaded
        try self.init(model: model, tokenizer: try ModelDirectory.loadTokenizer(from: directory))
    }

    /// The source ids of `text`: its pieces and EOS, cut to the model's positions when longer
    /// (then `truncated` is true). An OPUS-MT model with several target languages reads the
    /// language token (`>>fra<<`) at the start of the text.
    public func sourceIds(_ text: String) -> (ids: [Int], truncated: Bool) {
        model.config.fitted(tokenizer.encodeSource(text))
    }

    /// Translates every sentence; `nBest` translations each, best first. An empty (or all-space)
    /// sentence gets one empty translation without running the model. `warn` is told the index of
    /// a sentence longer than the model's positions (it is cut), one made mostly of pieces the
    /// vocabulary lacks (another language or script: the model will guess), and one whose best
    /// translation went into a loop (cut by the repetition guard).
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
            if isMostlyUnknown(ids.dropLast()) {
                warn(index, "most of it is characters the model's vocabulary does not hold; the model likely does not know this language or script")
            }
            sources.append((index, ids))
        }
        // Similar lengths together keep padding (and wasted work) low.
        sources.sort { $0.ids.count > $1.ids.count }
        let batches = stride(from: 0, to: sources.count, by: batchSize).map { sources[$0..<min($0 + batchSize, sources.count)] }
        let translated = Generator(model: model).generate(batches: batches.map { $0.map(\.ids) }, options: options) { $0.map(translation) }
        for (batch, translations) in zip(batches, translated) {
            for (item, nBest) in zip(batch, translations) {
                results[item.index] = nBest
                if let best = results[item.index].first, best.repetitionCut {
                    warn(item.index, "the translation went into a loop, cut after its first round: \"\(best.text)\"")
                }
            }
        }
        return results
    }

    /// A hypothesis as text and pieces (the server decodes through its own queue, then here).
    public func translation(_ hypothesis: Hypothesis) -> Translation {
        Translation(text: tokenizer.decodeTarget(hypothesis.ids, skipSpecialTokens: true), score: hypothesis.score,
                    tokens: hypothesis.ids.map { tokenizer.targetPiece(for: $0) ?? "<\($0)>" }, ids: hypothesis.ids,
                    repetitionCut: hypothesis.repetitionCut)
    }

    /// Whether more than half of the source pieces are byte pieces (`<0xE7>`, the byte fallback for a
    /// character the vocabulary lacks) or `<unk>`.
    private func isMostlyUnknown(_ ids: ArraySlice<Int>) -> Bool {
        let unknown = ids.filter { id in id == tokenizer.unkId || (tokenizer.sourcePiece(for: id)?.hasPrefix("<0x") ?? false) }.count
        return ids.count > 0 && 2 * unknown > ids.count
    }
}
