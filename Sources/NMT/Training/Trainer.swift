import Foundation
import Tensor
import TextIO
import Tokenizers

/// Trains a Transformer as a `TrainingRun` declares: batches by token budget shuffled per epoch,
/// Adam with warm-up, validation with early stopping, the best model kept in `output`, and
/// checkpoints under `output/checkpoints` that `resume(from:)` continues exactly.
///
/// `train` is a loop over named parts: a `BatchPlan` (which batches an epoch holds), the
/// `ParameterUpdater` (one step), a `Validator` (when to validate, the best model, early
/// stopping), a `Checkpointer` (what is written when) and a `TrainingReporter` (the log and the
/// caller's display).
public final class Trainer {
    /// How a run ended.
    public enum Outcome: Equatable, Sendable {
        /// The epochs or the step limit were reached.
        case finished
        /// Validation did not improve for `patience` validations.
        case earlyStopped
        /// `shouldStop` asked to stop (Ctrl-C); the step in flight was finished and saved.
        case interrupted
        /// The loss or the gradient became NaN or infinite at `step`; nothing was saved after the
        /// last good checkpoint.
        case diverged(step: Int)
    }

    public let run: TrainingRun
    public let model: Transformer
    public let tokenizer: any TranslationTokenizer
    /// What the tokenizer was read from, saved with every model the run writes.
    public let tokenizerFiles: TokenizerFiles
    public let updater: ParameterUpdater
    /// Where the best model goes (a model directory), with `checkpoints/` and `training-log.jsonl` inside.
    public let output: URL
    public private(set) var state: TrainingState
    /// The checkpoint this trainer continues, if it was resumed.
    public private(set) var resumedFrom: URL?
    /// The processes training this model together. Each batch is cut for all of them — its token
    /// budget and sentence cap are the run's per-process ones × `group.size` — and each rank
    /// trains on its share; rank 0 alone logs, validates and writes the model and checkpoints.
    public let group: TrainingGroup
    /// Receives every event (the log file gets them too); on rank 0 only.
    let onEvent: (TrainingEvent) -> Void
    /// Asked between updates; true stops training after saving a checkpoint.
    let shouldStop: () -> Bool

    /// What a run writes into its output folder: the best model's files, the log and the
    /// checkpoints folder (the command adds the run's declaration).
    public static let outputEntries = [ModelDirectory.configFile, ModelDirectory.weightsFile, ModelDirectory.tokenizerFile,
                                       ModelDirectory.generationConfigFile, TrainingLog.fileName, Checkpoint.folderName]

    public var checkpointDirectory: URL { output.appendingPathComponent(Checkpoint.folderName) }
    public var logURL: URL { output.appendingPathComponent(TrainingLog.fileName) }

    /// A new run: the model `run` declares for `tokenizer`, initialised from the run's seed.
    public convenience init(run: TrainingRun, tokenizer: Tokenizer, output: URL, group: TrainingGroup = SingleProcess(),
                            onEvent: @escaping (TrainingEvent) -> Void = { _ in }, shouldStop: @escaping () -> Bool = { false }) throws {
        let model = Transformer(config: try run.modelConfig(for: tokenizer))
        let seed = run.optimization.seed
        var generator = SeededGenerator(seed: seed)
        model.initializeForTraining(generator: &generator)
        // Dropout draws from a stream of its own, so changing the model's size does not shift it.
        let dropout = SeededGenerator(seed: seed ^ 0x5EED_D80F_0000_0001)
        try self.init(run: run, model: model, tokenizer: tokenizer, tokenizerFiles: TokenizerFiles(tokenizerJSON: tokenizer.jsonData()),
                      output: output, state: TrainingState(seed: seed, dropoutGenerator: dropout),
                      group: group, onEvent: onEvent, shouldStop: shouldStop)
    }

    /// A new run that fine-tunes a pretrained model directory (nmt's own, or an OPUS-MT folder):
    /// its config, weights and tokenizer, with the run's dropout rates where it gives them. The
    /// models it saves are folders of the same kind, with the same tokenizer files.
    public convenience init(fineTuning directory: URL, run: TrainingRun, output: URL, group: TrainingGroup = SingleProcess(),
                            onEvent: @escaping (TrainingEvent) -> Void = { _ in }, shouldStop: @escaping () -> Bool = { false }) throws {
        let pretrained = try ModelDirectory.loadTrainableModel(from: directory, purpose: "fine-tuning (--from)")
        var config = pretrained.config
        if let rate = run.model.dropout { config.dropout = rate }
        if let rate = run.model.attentionDropout { config.attentionDropout = rate }
        if let rate = run.model.activationDropout { config.activationDropout = rate }
        try config.validate(source: "--dropout")
        // The layers read their dropout rates when built: a model of the new config, the same weights.
        let model = Transformer(config: config)
        model.parameters.values.update(from: pretrained.parameters.values, count: model.parameters.count)
        let seed = run.optimization.seed
        let dropout = SeededGenerator(seed: seed ^ 0x5EED_D80F_0000_0001)
        try self.init(run: run, model: model, tokenizer: try ModelDirectory.loadTokenizer(from: directory),
                      tokenizerFiles: try TokenizerFiles(directory: directory), output: output,
                      state: TrainingState(seed: seed, dropoutGenerator: dropout), group: group, onEvent: onEvent, shouldStop: shouldStop)
    }

    /// Continues from a checkpoint directory (or the newest complete checkpoint under a training
    /// output directory) as `run` now says. The model, the data order, dropout and the step count
    /// go on from where they were: the model, tokenizer and seed are the checkpoint's, whatever
    /// `run` declares for a new model.
    public static func resume(from location: URL, run: TrainingRun, output: URL, group: TrainingGroup = SingleProcess(),
                              onEvent: @escaping (TrainingEvent) -> Void = { _ in }, shouldStop: @escaping () -> Bool = { false }) throws -> Trainer {
        guard let directory = try Checkpoint.latest(in: location) ?? Checkpoint.latest(in: location.appendingPathComponent(Checkpoint.folderName)) else {
            throw ModelError("\(location.path): no complete checkpoint (a directory with \(Checkpoint.stateFile))")
        }
        let loaded = try Checkpoint.load(directory)
        let tokenizer = try ModelDirectory.loadTokenizer(from: directory)
        var run = run
        run.optimization.seed = loaded.state.seed
        let trainer = try Trainer(run: run, model: loaded.model, tokenizer: tokenizer, tokenizerFiles: loaded.tokenizer, output: output, state: loaded.state,
                                  group: group, onEvent: onEvent, shouldStop: shouldStop)
        trainer.updater.adam.restore(step: loaded.adamStep, firstMoment: loaded.firstMoment, secondMoment: loaded.secondMoment)
        trainer.resumedFrom = directory
        return trainer
    }

    init(run: TrainingRun, model: Transformer, tokenizer: any TranslationTokenizer, tokenizerFiles: TokenizerFiles, output: URL, state: TrainingState,
         group: TrainingGroup, onEvent: @escaping (TrainingEvent) -> Void, shouldStop: @escaping () -> Bool) throws {
        try model.config.checkAgreement(with: tokenizer)
        self.run = run
        self.model = model
        self.tokenizer = tokenizer
        self.tokenizerFiles = tokenizerFiles
        self.output = output
        self.state = state
        self.group = group
        self.onEvent = onEvent
        self.shouldStop = shouldStop
        // The cool-down's end is known once the data is batched (`train`); until then, none.
        let optimization = run.optimization
        // The warm-up, like the cool-down, may depend on the planned updates: set in `train`.
        updater = ParameterUpdater(model: model, schedule: LearningRateSchedule(peak: run.peakLearningRate, warmup: run.schedule.warmup ?? 1),
                                   clipNorm: optimization.clipNorm > 0 ? optimization.clipNorm : nil,
                                   labelSmoothing: optimization.labelSmoothing)
    }

    /// Trains until the epochs or `--max-steps` are done, validation stops improving,
    /// `shouldStop` says so, or the loss diverges.
    public func train(on data: TrainingData, validation: TrainingData?) throws -> Outcome {
        let reporter = try TrainingReporter(output: output, logURL: logURL, resumedFrom: resumedFrom, step: state.step,
                                            group: group, onEvent: onEvent)
        let plan = BatchPlan(data: data, optimization: run.optimization, ranks: group.size)
        if !plan.batcher.oversizedPairs.isEmpty {
            reporter.report(.message("\(plan.batcher.oversizedPairs.count) pairs do not fit the token budget of \(plan.batchTokens) and are left out"))
        }
        let checkpointer = Checkpointer(model: model, adam: updater.adam, tokenizer: tokenizerFiles, output: output,
                                        checkpointDirectory: checkpointDirectory, policy: run.checkpoints, group: group,
                                        reporter: reporter, validating: (validation?.count ?? 0) > 0)
        let validator = Validator(data: validation, run: run, model: model, tokenizer: tokenizer, group: group,
                                  checkpointer: checkpointer, reporter: reporter)
        // Every rank must start from the same parameters (a resumed checkpoint read on each node).
        try checkpointer.checkRanksAgree(when: "at the start")
        guard plan.batchesPerEpoch(seed: state.seed) > 0 else {
            throw ModelError("no training pair fits a batch of \(plan.batchTokens) tokens; raise --batch-tokens")
        }
        let lastStep = plan.plannedSteps(seed: state.seed, optimization: run.optimization)
        settleSchedule(lastStep: lastStep, reporter: reporter)
        var meter = ProgressMeter(plannedSteps: lastStep, startStep: state.step)
        func reportProgress(epoch: Int) {
            if meter.hasUnreported { reporter.report(.progress(meter.report(step: state.step, epoch: epoch))) }
        }

        let epochs = run.optimization.epochLimit
        while state.epoch < epochs {
            for indices in plan.remainingBatches(of: &state, note: { reporter.report(.message($0)) }) {
                if let maxSteps = run.optimization.maxSteps, state.step >= maxSteps {
                    reportProgress(epoch: state.epoch)
                    let stopEarly = try validator.validateUnlessDone(&state)
                    try checkpointer.save(state)
                    return stopEarly ? .earlyStopped : .finished
                }
                let result = update(on: indices, of: data)
                guard result.loss.isFinite && result.gradientNorm.isFinite else {
                    reporter.report(.message("step \(state.step + 1): the \(result.loss.isFinite ? "gradient norm" : "loss") is \(result.loss.isFinite ? result.gradientNorm : Double(result.loss)); stopping. The last good checkpoint is in \(checkpointDirectory.path)"))
                    return .diverged(step: state.step + 1)
                }
                meter.add(result)
                if state.step % max(1, run.reporting.logEvery) == 0 { reportProgress(epoch: state.epoch) }
                let stopEarly = try validator.validateIfDue(&state)
                try checkpointer.saveIfDue(state)
                if stopEarly || group.any(shouldStop()) {
                    try checkpointer.save(state)
                    return stopEarly ? .earlyStopped : .interrupted
                }
            }
            state.epoch += 1
            state.batchInEpoch = 0
            reportProgress(epoch: state.epoch - 1)
            let stopEarly = try validator.validateAtEndOf(epoch: state.epoch - 1, isLast: state.epoch == epochs, &state)
            try checkpointer.save(state)
            if stopEarly { return .earlyStopped }
            if group.any(shouldStop()) { return .interrupted }
        }
        try checkpointer.save(state)
        return .finished
    }

    /// Sets the learning-rate curve of a run ending at update `lastStep`, and says what a user
    /// would not guess: the warm-up nmt chose, a run that ends before its warm-up does, a cool-down.
    private func settleSchedule(lastStep: Int, reporter: TrainingReporter) {
        let warmup = run.warmup(plannedSteps: lastStep, settled: state.warmup)
        updater.schedule = run.learningRateSchedule(lastStep: lastStep, warmup: warmup)
        if run.schedule.warmup == nil && state.warmup == nil {
            reporter.report(.message("warm-up: \(warmup) updates, a quarter of the \(lastStep) planned (at most \(TrainingRun.maximumAutomaticWarmup); --warmup sets it)"))
        }
        // Kept with every checkpoint: resumed with more epochs, the run keeps its curve.
        state.warmup = warmup
        if lastStep < warmup {
            reporter.report(.message("warning: the run ends at update \(lastStep), before its warm-up of \(warmup) updates does: the learning rate never reaches its peak of \(run.peakLearningRate) (lower --warmup)"))
        }
        if let coolDown = updater.schedule.coolDown {
            reporter.report(.message("the learning rate cools down linearly to zero over updates \(max(1, lastStep - coolDown.updates + 1))–\(lastStep)"))
        }
    }

    /// One update on the batch `indices` of `data` (this rank's share of it); the state moves on
    /// unless the loss or the gradient is not finite.
    private func update(on indices: [Int], of data: TrainingData) -> StepResult {
        let config = model.config
        let share = Batcher.share(of: indices, rank: group.rank, ranks: group.size)
        let batch = share.isEmpty ? nil : data.batch(share, padId: config.padId, decoderStartId: config.decoderStartId)
        let batchTargetTokens = indices.reduce(0) { $0 + data.targets[$1].count }
        var shared = SeededGenerator(state: state.dropoutGenerator)
        var generator = shared
        if group.isDistributed {
            // Each rank drops out from a stream of its own, derived from one shared draw a step,
            // so the shared state (what a checkpoint saves) stays the same on every rank.
            generator = SeededGenerator(seed: shared.next() ^ (UInt64(group.rank) &* 0x9E37_79B9_7F4A_7C15))
        }
        let result = updater.train(share: batch, batchTargetTokens: batchTargetTokens, group: group, generator: &generator)
        guard result.loss.isFinite && result.gradientNorm.isFinite else { return result }
        state.dropoutGenerator = group.isDistributed ? shared.stateWords : generator.stateWords
        state.step += 1
        state.batchInEpoch += 1
        return result
    }
}
