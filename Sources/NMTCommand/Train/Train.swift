import ArgumentParser
import Foundation
import NMT
import Tensor
import Tokenizers

/// `nmt train`: trains a Transformer from scratch (or resumes one) on a parallel corpus.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a translation model on a parallel corpus.",
        discussion: """
            The best model (by validation --best-by, or the newest without --valid) is written to \
            --output as a model directory; checkpoints go to OUTPUT/checkpoints and a JSON-lines \
            log of every logged step and validation to OUTPUT/training-log.jsonl. Ctrl-C (SIGINT) \
            or SIGTERM finishes the step, saves a checkpoint and exits with status 130 or 143; \
            nmt train --resume OUTPUT continues from it with the run's saved options \
            (OUTPUT/training-arguments.json), any given with it overriding them. \
            --keep-checkpoints N keeps the N newest checkpoints, for nmt average --last N.

              nmt train --train corpora/walkthrough.tsv --tokenizer vocab/walkthrough.json \\
                        --output runs/walkthrough --preset tiny --epochs 60
            """
    )

    // MARK: Data
    @Option(help: ArgumentHelp("Training pairs as TSV: source<TAB>target.", valueName: "file"))
    var train: String?
    @Option(help: ArgumentHelp("Training sources, one a line (with --target).", valueName: "file"))
    var source: String?
    @Option(help: ArgumentHelp("Training targets, aligned with --source.", valueName: "file"))
    var target: String?
    @Option(help: ArgumentHelp("Validation pairs as TSV (more columns: more references).", valueName: "file"))
    var valid: String?
    @Option(help: ArgumentHelp("The tokenizer.json to train with (not needed with --resume).", valueName: "file"))
    var tokenizer: String?
    @Flag(help: "Stop at the first bad corpus line instead of skipping and counting it.")
    var strict = false
    @Option(help: "Leave out pairs with a side longer than this many pieces (EOS included).")
    var maxLength = 128
    @Option(help: "Leave out pairs whose longer side has more than this many times the characters of the shorter.")
    var maxLengthRatio: Double?

    // MARK: Output
    @Option(help: ArgumentHelp("The model directory to write (the best model; checkpoints and the log inside). With --resume, the run resumed, unless given.", valueName: "dir"))
    var output: String?
    @Option(help: ArgumentHelp("Continue from this checkpoint, or from the newest one in this training output.", valueName: "dir"))
    var resume: String?

    // MARK: Model
    @Option(help: "Model size: tiny (D 64), small (D 256, the benchmark shape) or base (D 512).")
    var preset: Preset = .small
    @Option(help: "Model width D.") var dModel: Int?
    @Option(help: "Attention heads H.") var heads: Int?
    @Option(help: "Feed-forward width F.") var ffn: Int?
    @Option(help: "Encoder layers.") var encoderLayers: Int?
    @Option(help: "Decoder layers.") var decoderLayers: Int?
    @Option(help: "relu, gelu or swish.") var activation: String?
    @Option(help: "Dropout on sublayer outputs and embeddings.") var dropout: Float?
    @Option(help: "Dropout on attention probabilities.") var attentionDropout: Float?
    @Option(help: "Dropout after the feed-forward activation.") var activationDropout: Float?
    @Option(help: "Longest sequence the model accepts.") var maxPositions = 512

    // MARK: Optimization
    @Option(help: "Passes over the training data.") var epochs = 10
    @Option(help: "Stop after this many updates in all (counting those before --resume).") var maxSteps: Int?
    @Option(help: "Seed of the initial parameters, the data order and dropout.") var seed: UInt64 = 1
    @OptionGroup var computation: ThreadOptions
    var threads: Int { computation.threads }
    @Option(help: "Padded tokens a batch (B × longest pair).") var batchTokens = 4096
    @Option(help: "Sentence pairs a batch at most.") var maxSentences = 256
    @Option(help: "Peak learning rate, reached after warm-up, then ∝ 1/√step.") var learningRate = 5e-4
    @Option(help: "Warm-up updates.") var warmup = 4000
    @Option(help: "Ramp the learning rate linearly to zero over the last N updates of the run (then average the checkpoints).")
    var coolDown: Int?
    @Option(help: "Clip the gradient norm to this (0: off).") var clipNorm = 1.0
    @Option(help: "Label smoothing ε.") var labelSmoothing: Float = 0.1

    // MARK: Validation, checkpoints, progress
    @Option(help: "Validate every N updates too (always at each epoch end).") var validateEvery: Int?
    @Option(help: "Save a checkpoint every N updates too (always at each epoch end).") var checkpointEvery: Int?
    @Option(help: "Keep the N newest checkpoints (for nmt average --last N); older ones are deleted.") var keepCheckpoints = 1
    @Option(help: "Stop after N validations without improvement.") var patience: Int?
    @Option(help: "The validation figure that picks the best model: loss, bleu or chrf.") var bestBy: ValidationMetric = .loss
    @Flag(help: "BLEU and chrF on lowercased text.") var lowercase = false
    @Option(help: "Report (and log) every N updates.") var logEvery = 100
    @Option(help: "Longest validation translation, in tokens.") var maxTranslationLength = 128

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case tiny, small, base
        var model: ModelPreset { ModelPreset(rawValue: rawValue)! }
    }

    func validate() throws {
        if resume == nil && tokenizer == nil { throw ValidationError("--tokenizer is required (except with --resume)") }
        if resume == nil && output == nil { throw ValidationError("--output is required (except with --resume)") }
        switch (train, source, target) {
        case (.some, nil, nil), (nil, .some, .some): break
        case (nil, nil, nil) where resume != nil: break  // the data comes from the run's saved arguments
        default: throw ValidationError("give the training data as --train FILE.tsv or as --source FILE --target FILE")
        }
        for (name, value) in [("--epochs", epochs), ("--batch-tokens", batchTokens),
                              ("--max-sentences", maxSentences), ("--warmup", warmup), ("--log-every", logEvery),
                              ("--max-length", maxLength), ("--max-positions", maxPositions),
                              ("--keep-checkpoints", keepCheckpoints)] where value < 1 {
            throw CommandError("\(name) must be at least 1, got \(value)")
        }
        for (name, value) in [("--max-steps", maxSteps), ("--validate-every", validateEvery), ("--d-model", dModel), ("--heads", heads),
                              ("--ffn", ffn), ("--encoder-layers", encoderLayers), ("--decoder-layers", decoderLayers),
                              ("--checkpoint-every", checkpointEvery), ("--patience", patience),
                              ("--cool-down", coolDown)] {
            if let value, value < 1 { throw CommandError("\(name) must be at least 1, got \(value)") }
        }
        guard learningRate > 0, learningRate.isFinite else { throw CommandError("--learning-rate must be positive") }
        guard clipNorm >= 0 else { throw CommandError("--clip-norm must be 0 (off) or positive") }
        guard labelSmoothing >= 0 && labelSmoothing < 1 else { throw CommandError("--label-smoothing must be in [0, 1)") }
        if let activation, Activation(configName: activation) == nil {
            throw CommandError("--activation must be relu, gelu or swish, got \(activation)")
        }
    }

    func run() throws {
        // Under mpirun, each rank trains on its share of every batch (docs/distributed.md).
        let group = try DistributedTraining.join()
        try DistributedTraining.run(in: group) { try run(in: group) }
    }

    func run(in group: TrainingGroup) throws {
        if let resume, train == nil, source == nil {
            return try Self.completedFromSavedRun(resume: resume, given: Self.givenArguments).run(in: group)
        }
        computation.configure()
        let output = self.output ?? Self.runDirectory(resuming: resume!).path
        let outputURL = URL(fileURLWithPath: output)
        let trainer: Trainer
        if let resume {
            trainer = try Trainer.resume(from: URL(fileURLWithPath: resume), options: trainingOptions, output: outputURL)
            print("resuming from \(trainer.resumedFrom!.path) at step \(trainer.state.step)")
        } else {
            let tokenizer = try Tokenizer(contentsOf: URL(fileURLWithPath: self.tokenizer!))
            trainer = try Trainer(config: try modelConfig(tokenizer: tokenizer), tokenizer: tokenizer,
                                  options: trainingOptions, output: outputURL)
        }
        trainer.group = group
        trainer.bestBy = bestBy
        trainer.lowercaseMetrics = lowercase
        // mpirun hands each rank a pseudo-terminal whatever its own output is: plain lines then.
        let display = TrainingProgressDisplay(live: isatty(STDOUT_FILENO) != 0 && !group.isDistributed)
        trainer.onEvent = display.show

        let corpusOptions = NMT.CorpusOptions(maxLengthRatio: maxLengthRatio, strict: strict)
        let trainCorpus = try train.map { try ParallelCorpus(tsv: URL(fileURLWithPath: $0), options: corpusOptions) }
            ?? ParallelCorpus(source: URL(fileURLWithPath: source!), target: URL(fileURLWithPath: target!), options: corpusOptions)
        report(trainCorpus)
        let data = TrainingData(corpus: trainCorpus, tokenizer: trainer.tokenizer, maxLength: maxLength)
        reportTooLong(data, name: trainCorpus.name)
        guard data.count > 0 else { throw CommandError("\(trainCorpus.name): no training pairs left") }
        var validation: TrainingData?
        if let valid {
            let corpus = try ParallelCorpus(tsv: URL(fileURLWithPath: valid), options: NMT.CorpusOptions(strict: strict))
            report(corpus)
            validation = TrainingData(corpus: corpus, tokenizer: trainer.tokenizer, maxLength: maxPositions)
        }
        let config = trainer.model.config
        print("model: D \(config.modelWidth), H \(config.encoderHeads), F \(config.encoderFeedForwardWidth), \(config.encoderLayers)+\(config.decoderLayers) layers, V \(config.vocabularySize), \(trainer.model.parameters.count) parameters; \(data.count) training pairs, \(threads) threads")
        if group.isDistributed {
            print("\(group.size) ranks × \(threads) threads; a batch is \(group.size) × \(batchTokens) tokens, at most \(group.size) × \(maxSentences) pairs, shared among the ranks")
        }
        fflush(stdout)

        // Only once the data has loaded: a run that cannot start leaves no output behind.
        if group.isFirst {
            try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
            try saveArguments(in: outputURL)
        }
        Interrupt.install()
        trainer.shouldStop = { Interrupt.requested }
        let outcome = try trainer.train(on: data, validation: validation)
        display.finish()
        try DistributedTraining.writeRankParameters(of: trainer.model, group: group)
        switch outcome {
        case .finished, .earlyStopped:
            print("done at step \(trainer.state.step); the model is in \(output)")
        case .interrupted:
            print("interrupted at step \(trainer.state.step) (\(Interrupt.signalName)); checkpoint saved. Continue with: nmt train --resume \(output)")
            throw ExitCode(Interrupt.exitCode)
        case .diverged(let step):
            throw CommandError("training diverged at step \(step); the last good checkpoint is in \(trainer.checkpointDirectory.path)")
        }
    }

    var trainingOptions: TrainingOptions {
        var options = TrainingOptions()
        options.seed = seed
        options.epochs = epochs
        options.maxSteps = maxSteps
        options.tokenBudget = batchTokens
        options.maxSentences = maxSentences
        options.learningRate = learningRate
        options.warmupSteps = warmup
        options.coolDownSteps = coolDown
        options.clipNorm = clipNorm
        options.labelSmoothing = labelSmoothing
        options.logEvery = logEvery
        options.validateEvery = validateEvery
        options.checkpointEvery = checkpointEvery
        options.keepCheckpoints = keepCheckpoints
        options.patience = patience
        options.maxTranslationLength = maxTranslationLength
        return options
    }

    /// The preset's config with every override applied, for this tokenizer's vocabulary.
    func modelConfig(tokenizer: Tokenizer) throws -> ModelConfig {
        var config = preset.model.config(vocabularySize: tokenizer.vocabularySize, maxPositions: maxPositions)
        config.padId = tokenizer.padId
        config.decoderStartId = tokenizer.padId
        config.eosId = tokenizer.eosId
        if let dModel { config.modelWidth = dModel }
        if let heads { config.encoderHeads = heads; config.decoderHeads = heads }
        if let ffn { config.encoderFeedForwardWidth = ffn; config.decoderFeedForwardWidth = ffn }
        if let encoderLayers { config.encoderLayers = encoderLayers }
        if let decoderLayers { config.decoderLayers = decoderLayers }
        if let activation { config.activation = Activation(configName: activation)! }
        if let dropout { config.dropout = dropout }
        if let attentionDropout { config.attentionDropout = attentionDropout }
        if let activationDropout { config.activationDropout = activationDropout }
        do { try config.validate(source: "options") } catch let error as ModelError { throw CommandError(error.description) }
        return config
    }

    func report(_ corpus: ParallelCorpus) {
        print(corpus.summary)
        for problem in corpus.problems.prefix(10) { print("  \(problem)") }
        if corpus.problems.count > 10 { print("  … and \(corpus.problems.count - 10) more") }
    }

    func reportTooLong(_ data: TrainingData, name: String) {
        guard !data.tooLongLines.isEmpty else { return }
        let lines = data.tooLongLines.prefix(10).map(String.init).joined(separator: ", ")
        print("\(name): left out \(data.tooLongLines.count) pairs longer than \(maxLength) pieces (lines \(lines)\(data.tooLongLines.count > 10 ? ", …" : ""))")
    }
}

extension ValidationMetric: ExpressibleByArgument {}
