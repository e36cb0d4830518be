import Evaluation
import Tensor
import Tokenizers

/// Which validation figure decides the best model and early stopping.
public enum ValidationMetric: String, CaseIterable, Sendable, Codable {
    case loss, bleu, chrf
}

/// One validation pass: the loss under teacher forcing (no dropout), and BLEU and chrF of greedy
/// translations against every reference.
public struct ValidationResult: Sendable, Equatable {
    /// Mean label-smoothed cross-entropy per target token (the training loss, without dropout).
    public var loss: Double
    public var bleu: Double
    public var chrf: Double
    /// The greedy translations, in corpus order.
    public var hypotheses: [String]

    /// Lower is better: the loss, or the negated BLEU or chrF.
    public func score(_ metric: ValidationMetric) -> Double {
        switch metric {
        case .loss: return loss
        case .bleu: return -bleu
        case .chrf: return -chrf
        }
    }
}

public enum Validation {
    /// Validates `model` on `data`. The loss goes through batches of at most `tokenBudget`
    /// tokens; translations are greedy, at most `options.maxTranslationLength` tokens each.
    public static func run(model: Transformer, tokenizer: Tokenizer, data: TrainingData, options: TrainingOptions,
                           lowercase: Bool = false) throws -> ValidationResult {
        let config = model.config
        let batcher = Batcher(sources: data.sources, targets: data.targets, tokenBudget: options.tokenBudget,
                              maxSentences: options.maxSentences)
        var totalLoss = 0.0, totalTokens = 0
        for indices in batcher.batches(epoch: 0, seed: 0) {
            let batch = data.batch(indices, padId: config.padId, decoderStartId: config.decoderStartId)
            totalLoss += Double(model.loss(batch, smoothing: options.labelSmoothing, tape: .inference).scalar) * Double(batch.targetTokens)
            totalTokens += batch.targetTokens
        }
        let translator = try Translator(model: model, tokenizer: tokenizer)
        let search = SearchOptions(beamSize: 1, maxNewTokens: options.maxTranslationLength)
        let hypotheses = translator.translate(data.pairs.map(\.source), options: search,
                                              batchSize: options.validationBatchSize).map { $0.first?.text ?? "" }
        let references = data.pairs.map(\.references)
        return ValidationResult(
            loss: totalTokens > 0 ? totalLoss / Double(totalTokens) : .nan,
            bleu: BLEU(lowercase: lowercase).corpusScore(hypotheses: hypotheses, references: references).score,
            chrf: CHRF(lowercase: lowercase).corpusScore(hypotheses: hypotheses, references: references).score,
            hypotheses: hypotheses)
    }
}
