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
    /// Sentences translated together during validation.
    public static let batchSize = 64

    /// Validates `model` on `data` as `run` says: the loss through batches of the run's size
    /// (label smoothing included), greedy translations of at most `maxTranslationLength` tokens,
    /// BLEU and chrF lowercased with `lowercase`.
    public static func run(model: Transformer, tokenizer: any TranslationTokenizer, data: TrainingData, run: TrainingRun) throws -> ValidationResult {
        let config = model.config
        let batcher = Batcher(sources: data.sources, targets: data.targets, tokenBudget: run.optimization.batchTokens,
                              maxSentences: run.optimization.maxSentences)
        var totalLoss = 0.0, totalTokens = 0
        for indices in batcher.batches(epoch: 0, seed: 0) {
            let batch = data.batch(indices, padId: config.padId, decoderStartId: config.decoderStartId)
            let loss = model.loss(batch, smoothing: run.optimization.labelSmoothing, tape: .inference)
            totalLoss += Double(loss.scalar) * Double(batch.targetTokens)
            totalTokens += batch.targetTokens
        }
        let translator = try Translator(model: model, tokenizer: tokenizer)
        let search = SearchOptions(beamSize: 1, maxNewTokens: run.validation.maxTranslationLength)
        let hypotheses = translator.translate(data.pairs.map(\.source), options: search, batchSize: batchSize)
            .map { $0.first?.text ?? "" }
        let references = data.pairs.map(\.references)
        let lowercase = run.validation.lowercase
        return ValidationResult(
            loss: totalTokens > 0 ? totalLoss / Double(totalTokens) : .nan,
            bleu: BLEU(lowercase: lowercase).corpusScore(hypotheses: hypotheses, references: references).score,
            chrf: CHRF(lowercase: lowercase).corpusScore(hypotheses: hypotheses, references: references).score,
            hypotheses: hypotheses)
    }
}

/// The trainer's validations: when they are due, the best model kept, early stopping. Rank 0
/// validates; the other ranks wait for its verdict.
final class Validator {
    private let data: TrainingData?
    private let run: TrainingRun
    private let model: Transformer
    private let tokenizer: any TranslationTokenizer
    private let group: TrainingGroup
    private let checkpointer: Checkpointer
    private let reporter: TrainingReporter
    /// The step of the last validation.
    private var validatedStep: Int?

    init(data: TrainingData?, run: TrainingRun, model: Transformer, tokenizer: any TranslationTokenizer, group: TrainingGroup,
         checkpointer: Checkpointer, reporter: TrainingReporter) {
        self.data = (data?.count ?? 0) > 0 ? data : nil
        self.run = run
        self.model = model
        self.tokenizer = tokenizer
        self.group = group
        self.checkpointer = checkpointer
        self.reporter = reporter
    }

    /// Whether there is validation data at all.
    var isActive: Bool { data != nil }

    /// Validates if `--validate-every` says this step is due; true when training should stop early.
    func validateIfDue(_ state: inout TrainingState) throws -> Bool {
        guard let every = run.validation.validateEvery, state.step % every == 0 else { return false }
        return try validate(&state)
    }

    /// Validates unless this step already was (the last updates count for the best model too).
    func validateUnlessDone(_ state: inout TrainingState, epoch: Int? = nil) throws -> Bool {
        validatedStep == state.step ? false : try validate(&state, epoch: epoch)
    }

    /// At the end of `epoch`: validates, unless --validate-every sets the pace — then only the
    /// run's last epoch ends with a validation, so its last updates count for the best model too.
    func validateAtEndOf(epoch: Int, isLast: Bool, _ state: inout TrainingState) throws -> Bool {
        guard run.validation.validateEvery == nil else {
            return isLast ? try validateUnlessDone(&state, epoch: epoch) : false
        }
        return try validate(&state, epoch: epoch)
    }

    /// Validates during `state.epoch` (or at its end, `epoch` being the one that ended); true
    /// when training should stop early.
    func validate(_ state: inout TrainingState, epoch: Int? = nil) throws -> Bool {
        guard isActive else { return false }
        validatedStep = state.step
        let stop = group.isFirst ? try validateOnFirstRank(&state, epoch: epoch ?? state.epoch) : false
        return group.firstRanks(stop)
    }

    /// Rank 0's part: translates, scores, keeps the best model.
    private func validateOnFirstRank(_ state: inout TrainingState, epoch: Int) throws -> Bool {
        guard let data else { return false }
        let result = try Validation.run(model: model, tokenizer: tokenizer, data: data, run: run)
        let bestBy = run.validation.bestBy
        let isBest = state.recordValidation(score: result.score(bestBy))
        if isBest { try checkpointer.saveBest() }
        reporter.report(.validation(step: state.step, epoch: epoch,
                                    result: ValidationSummary(loss: result.loss, bleu: result.bleu, chrf: result.chrf), isBest: isBest))
        if let patience = run.validation.patience, state.validationsWithoutImprovement >= patience {
            reporter.report(.message("no improvement of validation \(bestBy.rawValue) in \(patience) validations; the best was at step \(state.bestStep ?? 0)"))
            return true
        }
        return false
    }
}

extension TrainingState {
    /// Counts a validation `score` (lower is better); true when it is the best so far.
    mutating func recordValidation(score: Double) -> Bool {
        let isBest = bestScore.map { score < $0 } ?? true
        if isBest {
            bestScore = score
            bestStep = step
            validationsWithoutImprovement = 0
        } else {
            validationsWithoutImprovement += 1
        }
        return isBest
    }
}
