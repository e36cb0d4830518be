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
    public let tokenizer: Tokenizer
    public let tokenizerJSON: Data
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
        try self.init(run: run, model: model, tokenizer: tokenizer, output: output, state: TrainingState(seed: seed, dropoutGenerator: dropout),
                      group: group, onEvent: onEvent, shouldStop: shouldStop)
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
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(jsonData: loaded.tokenizerJSON, source: directory.appendingPathComponent(ModelDirectory.tokenizerFile).path) } catch let error as TokenizerError {
            throw ModelError(error.description)
        }
        var run = run
        run.optimization.seed = loaded.state.seed
        let trainer = try Trainer(run: run, model: loaded.model, tokenizer: tokenizer, output: output, state: loaded.state,
                                  group: group, onEvent: onEvent, shouldStop: shouldStop)
        trainer.updater.adam.restore(step: loaded.adamStep, firstMoment: loaded.firstMoment, secondMoment: loaded.secondMoment)
        trainer.resumedFrom = directory
        return trainer
    }

    init(run: TrainingRun, model: Transformer, tokenizer: Tokenizer, output: URL, state: TrainingState,
         group: TrainingGroup, onEvent: @escaping (TrainingEvent) -> Void, shouldStop: @escaping () -> Bool) throws {
        try model.config.checkAgreement(with: tokenizer)
        self.run = run
        self.model = model
        self.tokenizer = tokenizer
        tokenizerJSON = try tokenizer.jsonData()
        self.output = output
        self.state = state
        self.group = group
        self.onEvent = onEvent
        self.shouldStop = shouldStop
        // The cool-down's end is known once the data is batched (`train`); until then, none.
        let optimization = run.optimization
        updater = ParameterUpdater(model: model, schedule: LearningRateSchedule(peak: run.schedule.learningRate, warmup: run.schedule.warmup),
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
        let checkpointer = Checkpointer(model: model, adam: updater.adam, tokenizerJSON: tokenizerJSON, output: output,
                                        checkpointDirectory: checkpointDirectory, policy: run.checkpoints, group: group,
                                        reporter: reporter, validating: (validation?.count ?? 0) > 0)
        let validator = Validator(data: validation, run: run, model: model, tokenizer: tokenizer, group: group,
                                  checkpointer: checkpointer, reporter: reporter)
        // Every rank must start from the same parameters (a resumed checkpoint read on each node).
        try checkpointer.checkRanksAgree(when: "at the start")
        let lastStep = plan.plannedSteps(seed: state.seed, optimization: run.optimization)
        updater.schedule = run.learningRateSchedule(lastStep: lastStep)
        if let coolDown = updater.schedule.coolDown {
            reporter.report(.message("the learning rate cools down linearly to zero over updates \(max(1, lastStep - coolDown.updates + 1))–\(lastStep)"))
        }
        var meter = ProgressMeter(plannedSteps: lastStep, startStep: state.step)
        func reportProgress(epoch: Int) {
            if meter.hasUnreported { reporter.report(.progress(meter.report(step: state.step, epoch: epoch))) }
        }

        while state.epoch < run.optimization.epochs {
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
            let stopEarly = try validator.validate(&state, epoch: state.epoch - 1)
            try checkpointer.save(state)
            if stopEarly { return .earlyStopped }
            if group.any(shouldStop()) { return .interrupted }
        }
        try checkpointer.save(state)
        return .finished
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
