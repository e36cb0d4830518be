import Foundation
import Tensor

/// The trainer's writes: checkpoints (`--checkpoint-every`, epoch ends, the end of the run) and the
/// best model in the run's output. Rank 0 writes; every rank then checks that it holds what was
/// saved.
final class Checkpointer {
    private let model: Transformer
    private let adam: Adam
    private let tokenizer: TokenizerFiles
    private let output: URL
    private let checkpointDirectory: URL
    private let policy: TrainingRun.CheckpointPolicy
    private let group: TrainingGroup
    private let reporter: TrainingReporter
    /// Whether validation picks the best model; without it the newest model is the best known.
    private let validating: Bool
    /// The step of the last checkpoint written.
    private var savedStep: Int?

    init(model: Transformer, adam: Adam, tokenizer: TokenizerFiles, output: URL, checkpointDirectory: URL,
         policy: TrainingRun.CheckpointPolicy, group: TrainingGroup, reporter: TrainingReporter, validating: Bool) {
        self.model = model
        self.adam = adam
        self.tokenizer = tokenizer
        self.output = output
        self.checkpointDirectory = checkpointDirectory
        self.policy = policy
        self.group = group
        self.reporter = reporter
        self.validating = validating
    }

    /// Saves a checkpoint if `--checkpoint-every` says this step is due.
    func saveIfDue(_ state: TrainingState) throws {
        if let every = policy.checkpointEvery, state.step % every == 0 { try save(state) }
    }

    /// Saves a checkpoint of `state` (once per step, however often asked).
    func save(_ state: TrainingState) throws {
        guard savedStep != state.step else { return }
        if group.isFirst {
            let url = try Checkpoint.save(model: model, adam: adam, state: state, tokenizer: tokenizer,
                                          in: checkpointDirectory, keep: policy.keepCheckpoints)
            // Until a validation says otherwise, the newest model is the best known.
            if !validating || state.bestStep == nil { try saveBest() }
            reporter.report(.checkpoint(step: state.step, path: url.path))
        }
        savedStep = state.step
        // What rank 0 saved is what every rank holds.
        try checkRanksAgree(when: "at step \(state.step)")
    }

    /// Writes the current model to the run's output as a model directory.
    func saveBest() throws {
        try ModelDirectory.save(model, to: output, tokenizerFiles: tokenizer)
    }

    /// Ends the job when the ranks hold different parameters: they would train different models
    /// from here on, and rank 0's checkpoints would not be what the others compute.
    func checkRanksAgree(when moment: String) throws {
        guard group.isDistributed else { return }
        let parameters = model.parameters
        if !group.allAgree(on: parameterFingerprint(parameters.values, count: parameters.count)) {
            group.abort("rank \(group.rank): the \(group.size) ranks hold different parameters \(moment); every rank must read the same checkpoint, corpus and options")
        }
    }
}

/// How the training data is cut into batches: a batch of the run's per-process size for every
/// rank (`--batch-tokens`, `--max-sentences` × ranks), shared among them.
struct BatchPlan {
    let data: TrainingData
    /// A whole batch's token budget and sentence cap, over all ranks.
    let batchTokens: Int
    let batchSentences: Int
    let batcher: Batcher
    let ranks: Int

    init(data: TrainingData, optimization: TrainingRun.Optimization, ranks: Int) {
        self.data = data
        self.ranks = ranks
        batchTokens = Self.scaled(optimization.batchTokens, by: ranks)
        batchSentences = Self.scaled(optimization.maxSentences, by: ranks)
        batcher = Batcher(sources: data.sources, targets: data.targets, tokenBudget: batchTokens, maxSentences: batchSentences)
    }

    /// The updates a run makes: from --max-steps, or the epochs × an epoch's batches.
    func plannedSteps(seed: UInt64, optimization: TrainingRun.Optimization) -> Int {
        let (product, overflow) = batchesPerEpoch(seed: seed).multipliedReportingOverflow(by: optimization.epochLimit)
        let byEpochs = overflow ? Int.max : product
        return optimization.maxSteps.map { min($0, byEpochs) } ?? byEpochs
    }

    /// The batches of an epoch at this batch size.
    func batchesPerEpoch(seed: UInt64) -> Int { batcher.batches(epoch: 0, seed: seed).count }

    /// The batches of `state.epoch` not yet trained on. An epoch keeps the batch size it started
    /// with: a run resumed with another number of ranks finishes it with its batches, so no pair
    /// is seen twice or skipped (`note` is told); the next epoch uses the new size.
    func remainingBatches(of state: inout TrainingState, note: (String) -> Void) -> [[Int]] {
        var epochBatcher = batcher
        if state.batchInEpoch == 0 {
            (state.epochBatchTokens, state.epochBatchSentences) = (batchTokens, batchSentences)
        } else if let tokens = state.epochBatchTokens, let sentences = state.epochBatchSentences,
                  (tokens, sentences) != (batchTokens, batchSentences) {
            epochBatcher = Batcher(sources: data.sources, targets: data.targets, tokenBudget: tokens, maxSentences: sentences)
            note("finishing epoch \(state.epoch + 1) with its batches of \(tokens) tokens, \(ranks) rank\(ranks == 1 ? "" : "s") sharing each; later epochs cut batches of \(batchTokens)")
        }
        return epochBatcher.batches(epoch: state.epoch, seed: state.seed, startingAt: state.batchInEpoch)
    }

    /// A per-rank amount × the number of ranks, saturating instead of overflowing (a cap of .max).
    static func scaled(_ amount: Int, by ranks: Int) -> Int {
        let (product, overflow) = amount.multipliedReportingOverflow(by: ranks)
        return overflow ? .max : product
    }
}
