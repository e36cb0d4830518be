import Foundation
import Tensor
import TextIO
import Tokenizers

/// A training run, declared: everything that shapes it, as one value. `nmt train` builds it from its
/// option groups, writes it as it is to the run folder (`training-arguments.json`), reads it back
/// for `--resume`, and `Trainer` takes it whole — so an option cannot be forgotten on the way.
///
/// Every field is named after the `nmt train` option that sets it (`schedule.learningRate` is
/// `--learning-rate`) and holds that option's default. Adding an option: a field here, with its
/// default and (in `validate`) its range, and the option in its group
/// (Sources/NMTCommand/Train/TrainingRunOptions.swift). Not part of a run: where it is written
/// (`--output`, `--resume`) and the machine's `--threads`.
public struct TrainingRun: Codable, Sendable, Equatable {
    public var data = Corpora()
    public var model = ModelShape()
    public var optimization = Optimization()
    public var schedule = Schedule()
    public var validation = ValidationPolicy()
    public var checkpoints = CheckpointPolicy()
    public var reporting = Reporting()

    public init() {}

    /// The corpora and how they are read. Paths are absolute, so a run resumes from anywhere.
    public struct Corpora: Codable, Sendable, Equatable {
        /// Training pairs as TSV (source<TAB>target)…
        public var train: String?
        /// …or two aligned files of sentences.
        public var source: String?
        public var target: String?
        /// Validation pairs as TSV (more columns: more references).
        public var valid: String?
        /// The tokenizer.json of a new model (a resumed run takes its checkpoint's).
        public var tokenizer: String?
        /// Stop at the first bad corpus line instead of skipping and counting it.
        public var strict = false
        /// Leave out pairs with a side longer than this many pieces (EOS included).
        public var maxLength = 128
        /// Leave out pairs whose longer side has more than this many times the characters of the shorter.
        public var maxLengthRatio: Double?
    }

    /// The model of a new run: a preset, and any of its fields overridden. A resumed run's model
    /// is its checkpoint's.
    public struct ModelShape: Codable, Sendable, Equatable {
        /// A pretrained model directory to fine-tune (nmt's own or an OPUS-MT folder): its
        /// config, weights and tokenizer replace the preset and the fields below but dropout.
        public var from: String?
        public var preset = ModelPreset.small
        public var dModel: Int?
        public var heads: Int?
        public var ffn: Int?
        public var encoderLayers: Int?
        public var decoderLayers: Int?
        public var activation: Activation?
        public var dropout: Float?
        public var attentionDropout: Float?
        public var activationDropout: Float?
        /// Longest sequence the model accepts.
        public var maxPositions = 512
    }

    /// Data order, batches and the update.
    public struct Optimization: Codable, Sendable, Equatable {
        /// Passes over the training data; nil: 10 (`defaultEpochs`), or, when `maxSteps` is
        /// given, as many as it takes — a user asking for 300 updates should get 300.
        public var epochs: Int?
        /// …or this many updates in all (counting those before a resume), whichever comes first.
        public var maxSteps: Int?
        /// Seeds the initial parameters, the data order and dropout.
        public var seed: UInt64 = 1
        /// Most padded tokens a batch holds per process (B × longest pair); see `Batcher`.
        public var batchTokens = 4096
        /// Most pairs a batch holds per process.
        public var maxSentences = 256
        /// Gradient-norm clipping threshold; 0 turns clipping off.
        public var clipNorm = 1.0
        public var labelSmoothing: Float = 0.1

        public static let defaultEpochs = 10

        /// The epochs the run may take: `epochs`, or 10 without `maxSteps`, or as many as
        /// `maxSteps` needs.
        public var epochLimit: Int { epochs ?? (maxSteps == nil ? Self.defaultEpochs : .max) }
    }

    /// The learning rate over the run (`LearningRateSchedule`).
    public struct Schedule: Codable, Sendable, Equatable {
        /// Peak learning rate, reached after warm-up, then ∝ 1/√step; nil: the preset's
        /// (`ModelPreset.learningRate`).
        public var learningRate: Double?
        /// Warm-up updates; nil: a tenth of the planned updates, at most 4000
        /// (`TrainingRun.automaticWarmup`).
        public var warmup: Int?
        /// Ramp the rate linearly to zero over the last this many updates of the run; nil: no cool-down.
        public var coolDown: Int?
    }

    /// When to validate, which figure picks the best model, and when to stop for lack of progress.
    public struct ValidationPolicy: Codable, Sendable, Equatable {
        /// Validate every this many updates instead of at epoch ends (and at the run's end); nil: at epoch ends.
        public var validateEvery: Int?
        /// Stop after this many validations in a row without improvement; nil: never.
        public var patience: Int?
        public var bestBy = ValidationMetric.loss
        /// BLEU and chrF on lowercased text.
        public var lowercase = false
        /// Longest greedy translation during validation, in tokens.
        public var maxTranslationLength = 128
    }

    /// When checkpoints are written and how many are kept.
    public struct CheckpointPolicy: Codable, Sendable, Equatable {
        /// Save a checkpoint every this many updates too; nil: at epoch ends only.
        public var checkpointEvery: Int?
        /// Checkpoints kept on disk, the newest; more than one leaves something to average.
        public var keepCheckpoints = 1
    }

    /// What is reported as the run goes.
    public struct Reporting: Codable, Sendable, Equatable {
        /// Report (and log) every this many updates.
        public var logEvery = 100
    }
}

extension ModelPreset: Codable {}

extension TrainingRun {
    /// The first rule the run breaks, as a message naming the option: `--epochs must be at least
    /// 1, got 0`; nil when it keeps them all.
    public var problem: String? {
        let atLeastOne: [(String, Int?)] = [
            ("--epochs", optimization.epochs), ("--batch-tokens", optimization.batchTokens),
            ("--max-sentences", optimization.maxSentences), ("--warmup", schedule.warmup), ("--log-every", reporting.logEvery),
            ("--max-length", data.maxLength), ("--max-positions", model.maxPositions),
            ("--keep-checkpoints", checkpoints.keepCheckpoints),
            ("--max-steps", optimization.maxSteps), ("--validate-every", validation.validateEvery), ("--d-model", model.dModel),
            ("--heads", model.heads), ("--ffn", model.ffn), ("--encoder-layers", model.encoderLayers),
            ("--decoder-layers", model.decoderLayers), ("--checkpoint-every", checkpoints.checkpointEvery),
            ("--patience", validation.patience), ("--cool-down", schedule.coolDown),
        ]
        for (name, value) in atLeastOne {
            if let value, value < 1 { return "\(name) must be at least 1, got \(value)" }
        }
        if let rate = schedule.learningRate, !(rate > 0 && rate.isFinite) { return "--learning-rate must be positive" }
        guard optimization.clipNorm >= 0 else { return "--clip-norm must be 0 (off) or positive" }
        guard optimization.labelSmoothing >= 0 && optimization.labelSmoothing < 1 else { return "--label-smoothing must be in [0, 1)" }
        return nil
    }

    /// The model of a new run for `tokenizer`'s vocabulary: the preset with every override applied.
    public func modelConfig(for tokenizer: Tokenizer) throws -> ModelConfig {
        var config = model.preset.config(vocabularySize: tokenizer.vocabularySize, maxPositions: model.maxPositions)
        config.padId = tokenizer.padId
        config.decoderStartId = tokenizer.padId
        config.eosId = tokenizer.eosId
        if let dModel = model.dModel { config.modelWidth = dModel }
        if let heads = model.heads { (config.encoderHeads, config.decoderHeads) = (heads, heads) }
        if let ffn = model.ffn { (config.encoderFeedForwardWidth, config.decoderFeedForwardWidth) = (ffn, ffn) }
        if let layers = model.encoderLayers { config.encoderLayers = layers }
        if let layers = model.decoderLayers { config.decoderLayers = layers }
        if let activation = model.activation { config.activation = activation }
        if let dropout = model.dropout { config.dropout = dropout }
        if let dropout = model.attentionDropout { config.attentionDropout = dropout }
        if let dropout = model.activationDropout { config.activationDropout = dropout }
        try config.validate(source: "options")
        return config
    }

    /// The learning-rate schedule of a run whose last update is `lastStep`, warming up over
    /// `warmup` updates (`warmup(plannedSteps:settled:)`).
    public func learningRateSchedule(lastStep: Int, warmup: Int) -> LearningRateSchedule {
        LearningRateSchedule(peak: peakLearningRate, warmup: warmup,
                             coolDown: schedule.coolDown.map { LearningRateSchedule.CoolDown(end: lastStep, updates: $0) })
    }

    /// `--learning-rate`, or the preset's.
    public var peakLearningRate: Double { schedule.learningRate ?? model.preset.learningRate }

    /// The warm-up of a run planned to end at update `plannedSteps`: `--warmup` when given;
    /// otherwise the one the run `settled` on when it started (a checkpoint keeps it, so a run
    /// resumed with more epochs keeps its curve), or, at the start, `automaticWarmup`.
    public func warmup(plannedSteps: Int, settled: Int?) -> Int {
        schedule.warmup ?? settled ?? Self.automaticWarmup(plannedSteps: plannedSteps)
    }

    /// The warm-up for a run of `plannedSteps` updates when none is given: a tenth of them, at
    /// most the 4000 of "Attention Is All You Need" (§5.3). A fixed 4000 left a 300-update run at
    /// a rate near 1e-6 that learned nothing (validation loss 7.2 on 3,000 Tatoeba pairs, an
    /// empty translation); long runs keep the paper's warm-up.
    public static func automaticWarmup(plannedSteps: Int) -> Int {
        max(1, min(maximumAutomaticWarmup, plannedSteps / 10))
    }

    public static let maximumAutomaticWarmup = 4000
}

extension TrainingRun {
    /// The sections of the run and the fields of each, by name, read off the value itself (so no
    /// list is kept by hand): what a saved run may hold, and what the tests walk.
    public static var layout: [(section: String, fields: [String])] {
        Mirror(reflecting: TrainingRun()).children.map { section in
            (section.label ?? "", Mirror(reflecting: section.value).children.map { $0.label ?? "" })
        }
    }
}

extension TrainingRun.Corpora {
    /// The training pairs: the TSV file or the two aligned files.
    public func loadTraining() throws -> ParallelCorpus {
        let options = CorpusOptions(maxLengthRatio: maxLengthRatio, strict: strict)
        if let train { return try ParallelCorpus(tsv: Self.url(train), options: options) }
        guard let source, let target else { throw ModelError("no training data: give --train FILE.tsv or --source FILE --target FILE") }
        return try ParallelCorpus(source: Self.url(source), target: Self.url(target), options: options)
    }

    /// The validation pairs, if the run has them (no length filters: every pair is scored).
    public func loadValidation() throws -> ParallelCorpus? {
        try valid.map { try ParallelCorpus(tsv: Self.url($0), options: CorpusOptions(strict: strict)) }
    }

    /// A path of the run (absolute) as a file URL relative to the working directory when it lies
    /// under it, so messages name a corpus as the user typed it.
    static func url(_ path: String) -> URL { DisplayPath.url(path) }
}
