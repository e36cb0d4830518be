import Foundation
import Tensor
import TextIO
import Tokenizers

/// Trains a Transformer on a tokenized parallel corpus: batches by token budget shuffled per epoch,
/// Adam with warm-up, validation with early stopping, the best model kept in `output`, and
/// checkpoints under `output/checkpoints` that `resume(from:)` continues exactly.
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

    public let model: Transformer
    public let tokenizer: Tokenizer
    public let tokenizerJSON: Data
    public let options: TrainingOptions
    public let updater: ParameterUpdater
    /// Where the best model goes (a model directory), with `checkpoints/` and `training-log.jsonl` inside.
    public let output: URL
    public private(set) var state: TrainingState
    /// The checkpoint this trainer continues, if it was resumed.
    public private(set) var resumedFrom: URL?
    /// Which validation figure picks the best model and drives early stopping.
    public var bestBy: ValidationMetric = .loss
    /// BLEU and chrF on lowercased text.
    public var lowercaseMetrics = false
    /// Called between updates; true stops training after saving a checkpoint.
    public var shouldStop: () -> Bool = { false }
    /// Receives every event (the log file gets them too); on rank 0 only.
    public var onEvent: (TrainingEvent) -> Void = { _ in }
    /// The processes training this model together. Each batch is cut for all of them — its token
    /// budget and sentence cap are `options`' per-rank ones × `group.size` — and each rank
    /// trains on its share; rank 0 alone logs, validates and writes the model and checkpoints.
    public var group: TrainingGroup = SingleProcess()

    public var checkpointDirectory: URL { output.appendingPathComponent(Checkpoint.folderName) }
    public var logURL: URL { output.appendingPathComponent("training-log.jsonl") }

    /// A new model from `config`, initialised from `options.seed`.
    public convenience init(config: ModelConfig, tokenizer: Tokenizer, options: TrainingOptions, output: URL) throws {
        let model = Transformer(config: config)
        var generator = SeededGenerator(seed: options.seed)
        model.initializeForTraining(generator: &generator)
        // Dropout draws from a stream of its own, so changing the model's size does not shift it.
        let dropout = SeededGenerator(seed: options.seed ^ 0x5EED_D80F_0000_0001)
        try self.init(model: model, tokenizer: tokenizer, options: options, output: output,
                      state: TrainingState(seed: options.seed, dropoutGenerator: dropout))
    }

    /// Continues from a checkpoint directory (or the newest complete checkpoint under a training
    /// output directory). The data order, dropout and the step count go on from where they were;
    /// the seed is the checkpoint's, whatever `options.seed` says.
    public static func resume(from location: URL, options: TrainingOptions, output: URL) throws -> Trainer {
        guard let directory = try Checkpoint.latest(in: location) ?? Checkpoint.latest(in: location.appendingPathComponent(Checkpoint.folderName)) else {
            throw ModelError("\(location.path): no complete checkpoint (a directory with \(Checkpoint.stateFile))")
        }
        let loaded = try Checkpoint.load(directory)
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(jsonData: loaded.tokenizerJSON, source: directory.appendingPathComponent(ModelDirectory.tokenizerFile).path) } catch let error as TokenizerError {
            throw ModelError(error.description)
        }
        var options = options
        options.seed = loaded.state.seed
        let trainer = try Trainer(model: loaded.model, tokenizer: tokenizer, options: options, output: output, state: loaded.state)
        trainer.updater.adam.restore(step: loaded.adamStep, firstMoment: loaded.firstMoment, secondMoment: loaded.secondMoment)
        trainer.resumedFrom = directory
        return trainer
    }

    init(model: Transformer, tokenizer: Tokenizer, options: TrainingOptions, output: URL, state: TrainingState) throws {
        try model.config.checkAgreement(with: tokenizer)
        self.model = model
        self.tokenizer = tokenizer
        tokenizerJSON = try tokenizer.jsonData()
        self.options = options
        self.output = output
        self.state = state
        // The cool-down's end is known once the data is batched (`train`); until then, no cool-down.
        updater = ParameterUpdater(model: model, schedule: LearningRateSchedule(peak: options.learningRate, warmup: options.warmupSteps),
                                   clipNorm: options.clipNorm > 0 ? options.clipNorm : nil,
                                   labelSmoothing: options.labelSmoothing)
    }

    /// Trains until the epochs or `maxSteps` are done, validation stops improving, `shouldStop`
    /// says so, or the loss diverges.
    public func train(on data: TrainingData, validation: TrainingData?) throws -> Outcome {
        let group = self.group
        var log: LogFile? = nil
        if group.isFirst {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            if let resumedFrom { try startBranchLog(resumedFrom: resumedFrom) }
            log = try LogFile(url: logURL)
        }
        let report = { (event: TrainingEvent) in
            guard group.isFirst else { return }
            if let line = event.jsonLine { log?.append(line) }
            self.onEvent(event)
        }
        let config = model.config
        let batchTokens = Self.scaled(options.tokenBudget, by: group.size)
        let batchSentences = Self.scaled(options.maxSentences, by: group.size)
        func makeBatcher(tokens: Int, sentences: Int) -> Batcher {
            Batcher(sources: data.sources, targets: data.targets, tokenBudget: tokens, maxSentences: sentences)
        }
        let batcher = makeBatcher(tokens: batchTokens, sentences: batchSentences)
        if !batcher.oversizedPairs.isEmpty {
            report(.message("\(batcher.oversizedPairs.count) pairs do not fit the token budget of \(batchTokens) and are left out"))
        }
        // Every rank must start from the same parameters (a resumed checkpoint read on each node).
        try checkRanksAgree(when: "at the start")
        let lastStep = plannedSteps(batcher)
        updater.schedule = options.schedule(lastStep: lastStep)
        if let coolDown = updater.schedule.coolDown {
            report(.message("the learning rate cools down linearly to zero over updates \(max(1, lastStep - coolDown.updates + 1))–\(lastStep)"))
        }
        var meter = ProgressMeter(plannedSteps: lastStep, startStep: state.step)
        let validating = (validation?.count ?? 0) > 0
        var savedStep: Int? = nil, validatedStep: Int? = nil
        func checkpoint() throws {
            guard savedStep != state.step else { return }
            if group.isFirst {
                let url = try Checkpoint.save(model: model, adam: updater.adam, state: state, tokenizerJSON: tokenizerJSON,
                                              in: checkpointDirectory, keep: options.keepCheckpoints)
                // Until a validation says otherwise, the newest model is the best known.
                if !validating || state.bestStep == nil { try saveBest() }
                report(.checkpoint(step: state.step, path: url.path))
            }
            savedStep = state.step
            // What rank 0 saved is what every rank holds.
            try checkRanksAgree(when: "at step \(state.step)")
        }
        /// Rank 0's part of `validate`: translates, scores, keeps the best model.
        func validateOnFirstRank(epoch: Int) throws -> Bool {
            guard let validation else { return false }
            let result = try Validation.run(model: model, tokenizer: tokenizer, data: validation, options: options,
                                            lowercase: lowercaseMetrics)
            let score = result.score(bestBy)
            let isBest = state.bestScore.map { score < $0 } ?? true
            if isBest {
                state.bestScore = score
                state.bestStep = state.step
                state.validationsWithoutImprovement = 0
                try saveBest()
            } else {
                state.validationsWithoutImprovement += 1
            }
            report(.validation(step: state.step, epoch: epoch, result: ValidationSummary(loss: result.loss, bleu: result.bleu, chrf: result.chrf),
                               isBest: isBest))
            if let patience = options.patience, state.validationsWithoutImprovement >= patience {
                report(.message("no improvement of validation \(bestBy.rawValue) in \(patience) validations; the best was at step \(state.bestStep ?? 0)"))
                return true
            }
            return false
        }
        /// Validates during `epoch` (or at its end); true when training should stop early.
        func validate(epoch: Int) throws -> Bool {
            guard validating else { return false }
            validatedStep = state.step
            // The other ranks wait for rank 0's verdict on early stopping.
            return try group.firstRanks(group.isFirst ? validateOnFirstRank(epoch: epoch) : false)
        }

        while state.epoch < options.epochs {
            var epochBatcher = batcher
            if state.batchInEpoch == 0 {
                (state.epochBatchTokens, state.epochBatchSentences) = (batchTokens, batchSentences)
            } else if let tokens = state.epochBatchTokens, let sentences = state.epochBatchSentences,
                      (tokens, sentences) != (batchTokens, batchSentences) {
                // Resumed with another number of ranks: the rest of this epoch keeps the batches it
                // was cut into, so no pair is seen twice or skipped; the next epoch uses the new size.
                epochBatcher = makeBatcher(tokens: tokens, sentences: sentences)
                report(.message("finishing epoch \(state.epoch + 1) with its batches of \(tokens) tokens, \(group.size) rank\(group.size == 1 ? "" : "s") sharing each; later epochs cut batches of \(batchTokens)"))
            }
            for indices in epochBatcher.batches(epoch: state.epoch, seed: state.seed, startingAt: state.batchInEpoch) {
                if let maxSteps = options.maxSteps, state.step >= maxSteps {
                    if meter.hasUnreported { report(.progress(meter.report(step: state.step, epoch: state.epoch))) }
                    // The last updates count for the best model too.
                    let stopEarly = validatedStep != state.step ? try validate(epoch: state.epoch) : false
                    try checkpoint()
                    return stopEarly ? .earlyStopped : .finished
                }
                let share = Batcher.share(of: indices, rank: group.rank, ranks: group.size)
                let batch = share.isEmpty ? nil : data.batch(share, padId: config.padId, decoderStartId: config.decoderStartId)
                let batchTargetTokens = indices.reduce(0) { $0 + data.targets[$1].count }
                var shared = SeededGenerator(state: state.dropoutGenerator)
                var generator = shared
                if group.isDistributed {
                    // Each rank drops out from a stream of its own, derived from one shared draw a
                    // step, so the shared state (what a checkpoint saves) stays the same on every rank.
                    generator = SeededGenerator(seed: shared.next() ^ (UInt64(group.rank) &* 0x9E37_79B9_7F4A_7C15))
                }
                let result = updater.train(share: batch, batchTargetTokens: batchTargetTokens, group: group, generator: &generator)
                guard result.loss.isFinite && result.gradientNorm.isFinite else {
                    report(.message("step \(state.step + 1): the \(result.loss.isFinite ? "gradient norm" : "loss") is \(result.loss.isFinite ? result.gradientNorm : Double(result.loss)); stopping. The last good checkpoint is in \(checkpointDirectory.path)"))
                    return .diverged(step: state.step + 1)
                }
                state.dropoutGenerator = group.isDistributed ? shared.stateWords : generator.stateWords
                state.step += 1
                state.batchInEpoch += 1
                meter.add(result)
                if state.step % max(1, options.logEvery) == 0 {
                    report(.progress(meter.report(step: state.step, epoch: state.epoch)))
                }
                var stopEarly = false
                if let every = options.validateEvery, state.step % every == 0 { stopEarly = try validate(epoch: state.epoch) }
                if let every = options.checkpointEvery, state.step % every == 0 { try checkpoint() }
                if stopEarly {
                    try checkpoint()
                    return .earlyStopped
                }
                if group.any(shouldStop()) {
                    try checkpoint()
                    return .interrupted
                }
            }
            state.epoch += 1
            state.batchInEpoch = 0
            if meter.hasUnreported { report(.progress(meter.report(step: state.step, epoch: state.epoch - 1))) }
            let stopEarly = try validate(epoch: state.epoch - 1)
            try checkpoint()
            if stopEarly { return .earlyStopped }
            if group.any(shouldStop()) { return .interrupted }
        }
        try checkpoint()
        return .finished
    }

    /// Ends the job when the ranks hold different parameters: they would train different models
    /// from here on, and rank 0's checkpoints would not be what the others compute.
    private func checkRanksAgree(when moment: String) throws {
        guard group.isDistributed else { return }
        let parameters = model.parameters
        if !group.allAgree(on: parameterFingerprint(parameters.values, count: parameters.count)) {
            group.abort("rank \(group.rank): the \(group.size) ranks hold different parameters \(moment); every rank must read the same checkpoint, corpus and options")
        }
    }

    /// A per-rank amount × the number of ranks, saturating instead of overflowing (a cap of .max).
    static func scaled(_ amount: Int, by ranks: Int) -> Int {
        let (product, overflow) = amount.multipliedReportingOverflow(by: ranks)
        return overflow ? .max : product
    }

    /// A run resumed into a new output directory (a branch, such as a cool-down tried beside the
    /// original) starts its log with the lines of the run it branched from, up to the checkpoint's
    /// step, so its log tells the whole history of its model (for `nmt plot`). An existing log is
    /// left as it is.
    func startBranchLog(resumedFrom checkpoint: URL) throws {
        guard let run = Checkpoint.run(containing: checkpoint), !FileManager.default.fileExists(atPath: logURL.path) else { return }
        let sourceLog = run.appendingPathComponent(logURL.lastPathComponent)
        guard sourceLog.standardizedFileURL != logURL.standardizedFileURL,
              let text = try? String(contentsOf: sourceLog, encoding: .utf8) else { return }
        let history = text.split(separator: "\n").filter { line in
            (try? JSON.parse(Array(line.utf8)))?["step"]?.integer.map { $0 <= state.step } ?? false
        }
        guard !history.isEmpty else { return }
        do { try Data((history.joined(separator: "\n") + "\n").utf8).write(to: logURL, options: .atomic) } catch {
            throw ModelError("\(logURL.path): cannot write the training log (\(FileError.reason(for: error)))")
        }
    }

    /// Writes the current model to `output` as a model directory.
    func saveBest() throws {
        try ModelDirectory.save(model, to: output, tokenizerJSON: tokenizerJSON)
    }

    private func plannedSteps(_ batcher: Batcher) -> Int {
        let perEpoch = batcher.batches(epoch: 0, seed: state.seed).count
        let byEpochs = perEpoch * options.epochs
        return options.maxSteps.map { min($0, byEpochs) } ?? byEpochs
    }
}

/// Accumulates the updates between two progress reports.
struct ProgressMeter {
    let plannedSteps: Int
    let start = DispatchTime.now().uptimeNanoseconds
    let startStep: Int
    var intervalStart = DispatchTime.now().uptimeNanoseconds
    var lossSum = 0.0, tokens = 0, last: StepResult?

    init(plannedSteps: Int, startStep: Int) {
        self.plannedSteps = plannedSteps
        self.startStep = startStep
    }

    var hasUnreported: Bool { tokens > 0 }

    mutating func add(_ result: StepResult) {
        lossSum += Double(result.loss) * Double(result.targetTokens)
        tokens += result.targetTokens
        last = result
    }

    mutating func report(step: Int, epoch: Int) -> TrainingProgress {
        let now = DispatchTime.now().uptimeNanoseconds
        let interval = Double(now - intervalStart) / 1e9, elapsed = Double(now - start) / 1e9
        let secondsPerStep = elapsed / Double(max(1, step - startStep))
        let progress = TrainingProgress(
            step: step, epoch: epoch, loss: tokens > 0 ? lossSum / Double(tokens) : .nan,
            learningRate: last?.learningRate ?? 0, gradientNorm: last?.gradientNorm ?? 0, targetTokens: tokens,
            tokensPerSecond: interval > 0 ? Double(tokens) / interval : 0, elapsedSeconds: elapsed,
            plannedSteps: plannedSteps, secondsLeft: Double(max(0, plannedSteps - step)) * secondsPerStep)
        lossSum = 0
        tokens = 0
        intervalStart = now
        return progress
    }
}

/// An append-only text file, one line per call, flushed each time so a kill loses nothing written.
final class LogFile {
    private let handle: FileHandle

    init(url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ModelError("\(url.path): cannot create the training log")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    func append(_ line: String) {
        // On a full disk a lost log line is better than the crash of FileHandle.write(_:); the
        // checkpoint that follows reports the disk in one line.
        try? handle.write(contentsOf: Data((line + "\n").utf8))
    }
}
