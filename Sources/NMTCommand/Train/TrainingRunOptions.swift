import ArgumentParser
import Foundation
import NMT
import Tensor

/// The options of `nmt train` that declare the run: one group per section of `TrainingRun`, each
/// option named after its field. An option left out keeps the field's value — the default for a
/// new run, the saved value for `--resume` — which is why every option here is optional and its
/// default is stated once, in `TrainingRun`.
///
/// Adding an option: the field in `TrainingRun` (Sources/NMT/Training/TrainingRun.swift), and here
/// the `@Option` and its line in `apply`. Saving and resuming need nothing more: the run is written
/// whole (`SavedRun`), and TrainingRunTests checks every field by walking the declared value.
struct TrainingRunOptions: ParsableArguments {
    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model (of a new run; a resumed one keeps its checkpoint's)") var model: ModelShapeOptions
    @OptionGroup(title: "Optimization") var optimization: OptimizationOptions
    @OptionGroup(title: "Learning rate") var schedule: ScheduleOptions
    @OptionGroup(title: "Validation") var validation: ValidationOptions
    @OptionGroup(title: "Checkpoints") var checkpoints: CheckpointOptions
    @OptionGroup(title: "Progress") var reporting: ReportingOptions

    /// `run` with every option given on the command line set.
    func applied(to run: TrainingRun) -> TrainingRun {
        var run = run
        data.apply(to: &run.data)
        model.apply(to: &run.model)
        optimization.apply(to: &run.optimization)
        schedule.apply(to: &run.schedule)
        validation.apply(to: &run.validation)
        checkpoints.apply(to: &run.checkpoints)
        reporting.apply(to: &run.reporting)
        return run
    }
}

/// The defaults of a run, for the help texts.
private let defaults = TrainingRun()

/// `text` with the default a user gets when the option is left out.
private func help(_ text: String, default value: Any, valueName: String? = nil) -> ArgumentHelp {
    ArgumentHelp("\(text) (default: \(value))", valueName: valueName)
}

/// Sets `field` to `value` when the option was given.
private func set<Value>(_ field: inout Value, _ value: Value?) {
    if let value { field = value }
}

private func set<Value>(_ field: inout Value?, _ value: Value?) {
    if let value { field = value }
}

/// An absolute, standardized path: a saved run must resume from any working directory.
private func absolute(_ path: String?) -> String? {
    path.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
}

struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Training pairs as TSV: source<TAB>target.", valueName: "file")) var train: String?
    @Option(help: ArgumentHelp("Training sources, one a line (with --target).", valueName: "file")) var source: String?
    @Option(help: ArgumentHelp("Training targets, aligned with --source.", valueName: "file")) var target: String?
    @Option(help: ArgumentHelp("Validation pairs as TSV (more columns: more references).", valueName: "file")) var valid: String?
    @Option(help: ArgumentHelp("The tokenizer.json to train with (not needed with --resume).", valueName: "file")) var tokenizer: String?
    @Flag(help: "Stop at the first bad corpus line instead of skipping and counting it.") var strict = false
    @Option(help: help("Leave out pairs with a side longer than this many pieces (EOS included).", default: defaults.data.maxLength))
    var maxLength: Int?
    @Option(help: "Leave out pairs whose longer side has more than this many times the characters of the shorter.")
    var maxLengthRatio: Double?

    func apply(to data: inout TrainingRun.Corpora) {
        set(&data.train, absolute(train))
        set(&data.source, absolute(source))
        set(&data.target, absolute(target))
        set(&data.valid, absolute(valid))
        set(&data.tokenizer, absolute(tokenizer))
        if strict { data.strict = true }
        set(&data.maxLength, maxLength)
        set(&data.maxLengthRatio, maxLengthRatio)
    }
}

struct ModelShapeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Fine-tune this model directory (nmt's own or an OPUS-MT folder): its weights and tokenizer, instead of a new model and --tokenizer.", valueName: "dir"))
    var from: String?
    @Option(help: help("Model size: tiny (D 64), small (D 256, the benchmark shape) or base (D 512).", default: defaults.model.preset.rawValue))
    var preset: ModelPreset?
    @Option(help: "Model width D.") var dModel: Int?
    @Option(help: "Attention heads H.") var heads: Int?
    @Option(help: "Feed-forward width F.") var ffn: Int?
    @Option(help: "Encoder layers.") var encoderLayers: Int?
    @Option(help: "Decoder layers.") var decoderLayers: Int?
    @Option(help: "relu, gelu or swish.") var activation: String?
    @Option(help: "Dropout on sublayer outputs and embeddings.") var dropout: Float?
    @Option(help: "Dropout on attention probabilities.") var attentionDropout: Float?
    @Option(help: "Dropout after the feed-forward activation.") var activationDropout: Float?
    @Option(help: help("Longest sequence the model accepts.", default: defaults.model.maxPositions)) var maxPositions: Int?

    /// What this command line asks that fine-tuning (--from) cannot do, in one line; nil when
    /// there is no --from or it is given alone.
    func fineTuningConflict(tokenizer: String?, resume: String?) -> String? {
        guard from != nil else { return nil }
        if resume != nil { return "--from starts a new run from a pretrained model; --resume continues one (give one of them)" }
        if tokenizer != nil { return "--from brings its model's tokenizer; give --tokenizer only for a new model" }
        let shape: [(String, Any?)] = [("--preset", preset), ("--d-model", dModel), ("--heads", heads), ("--ffn", ffn),
                                       ("--encoder-layers", encoderLayers), ("--decoder-layers", decoderLayers),
                                       ("--activation", activation), ("--max-positions", maxPositions)]
        guard let given = shape.first(where: { $0.1 != nil }) else { return nil }
        return "\(given.0) shapes a new model; --from fine-tunes the pretrained one as it is (only the dropout rates may change)"
    }

    func validate() throws {
        if let activation, Activation(configName: activation) == nil {
            throw CommandError("--activation must be relu, gelu or swish, got \(activation)")
        }
    }

    func apply(to model: inout TrainingRun.ModelShape) {
        set(&model.from, absolute(from))
        set(&model.preset, preset)
        set(&model.dModel, dModel)
        set(&model.heads, heads)
        set(&model.ffn, ffn)
        set(&model.encoderLayers, encoderLayers)
        set(&model.decoderLayers, decoderLayers)
        set(&model.activation, activation.flatMap(Activation.init(configName:)))
        set(&model.dropout, dropout)
        set(&model.attentionDropout, attentionDropout)
        set(&model.activationDropout, activationDropout)
        set(&model.maxPositions, maxPositions)
    }
}

struct OptimizationOptions: ParsableArguments {
    @Option(help: help("Passes over the training data.", default: "\(TrainingRun.Optimization.defaultEpochs), or as many as --max-steps needs"))
    var epochs: Int?
    @Option(help: "Stop after this many updates in all (counting those before --resume).") var maxSteps: Int?
    @Option(help: help("Seed of the initial parameters, the data order and dropout.", default: defaults.optimization.seed)) var seed: UInt64?
    @Option(help: help("Padded tokens a batch (B × longest pair).", default: defaults.optimization.batchTokens)) var batchTokens: Int?
    @Option(help: help("Sentence pairs a batch at most.", default: defaults.optimization.maxSentences)) var maxSentences: Int?
    @Option(help: help("Clip the gradient norm to this (0: off).", default: defaults.optimization.clipNorm)) var clipNorm: Double?
    @Option(help: help("Label smoothing ε.", default: defaults.optimization.labelSmoothing)) var labelSmoothing: Float?

    func apply(to optimization: inout TrainingRun.Optimization) {
        set(&optimization.epochs, epochs)
        set(&optimization.maxSteps, maxSteps)
        set(&optimization.seed, seed)
        set(&optimization.batchTokens, batchTokens)
        set(&optimization.maxSentences, maxSentences)
        set(&optimization.clipNorm, clipNorm)
        set(&optimization.labelSmoothing, labelSmoothing)
    }
}

struct ScheduleOptions: ParsableArguments {
    @Option(help: help("Peak learning rate, reached after warm-up, then ∝ 1/√step.",
                       default: ModelPreset.allCases.map { "\($0.learningRate) for \($0.rawValue)" }.joined(separator: ", ")))
    var learningRate: Double?
    @Option(help: help("Warm-up updates, the rate rising linearly to its peak.",
                       default: "a tenth of the planned updates, at most \(TrainingRun.maximumAutomaticWarmup)"))
    var warmup: Int?
    @Option(help: "Ramp the learning rate linearly to zero over the last N updates of the run (then average the checkpoints).")
    var coolDown: Int?

    func apply(to schedule: inout TrainingRun.Schedule) {
        set(&schedule.learningRate, learningRate)
        set(&schedule.warmup, warmup)
        set(&schedule.coolDown, coolDown)
    }
}

struct ValidationOptions: ParsableArguments {
    @Option(help: "Validate every N updates, and at the end, instead of at every epoch end.") var validateEvery: Int?
    @Option(help: "Stop after N validations without improvement.") var patience: Int?
    @Option(help: help("The validation figure that picks the best model: loss, bleu or chrf.", default: defaults.validation.bestBy.rawValue))
    var bestBy: ValidationMetric?
    @Flag(help: "BLEU and chrF on lowercased text.") var lowercase = false
    @Option(help: help("Longest validation translation, in tokens.", default: defaults.validation.maxTranslationLength))
    var maxTranslationLength: Int?

    func apply(to validation: inout TrainingRun.ValidationPolicy) {
        set(&validation.validateEvery, validateEvery)
        set(&validation.patience, patience)
        set(&validation.bestBy, bestBy)
        if lowercase { validation.lowercase = true }
        set(&validation.maxTranslationLength, maxTranslationLength)
    }
}

struct CheckpointOptions: ParsableArguments {
    @Option(help: "Save a checkpoint every N updates too (always at each epoch end).") var checkpointEvery: Int?
    @Option(help: help("Keep the N newest checkpoints (for nmt average --last N); older ones are deleted.", default: defaults.checkpoints.keepCheckpoints))
    var keepCheckpoints: Int?

    func apply(to checkpoints: inout TrainingRun.CheckpointPolicy) {
        set(&checkpoints.checkpointEvery, checkpointEvery)
        set(&checkpoints.keepCheckpoints, keepCheckpoints)
    }
}

struct ReportingOptions: ParsableArguments {
    @Option(help: help("Report (and log) every N updates.", default: defaults.reporting.logEvery)) var logEvery: Int?

    func apply(to reporting: inout TrainingRun.Reporting) {
        set(&reporting.logEvery, logEvery)
    }
}

extension ModelPreset: ExpressibleByArgument {}
extension ValidationMetric: ExpressibleByArgument {}
