import TextIO

/// What the trainer reports as it goes: to the progress display, and one JSON object a line to
/// the training log (for plots).
public enum TrainingEvent: Sendable {
    /// Training figures over the updates since the last report.
    case progress(TrainingProgress)
    case validation(step: Int, epoch: Int, result: ValidationSummary, isBest: Bool)
    case checkpoint(step: Int, path: String)
    case message(String)

    /// The log line of this event (keys in sorted order; a non-finite figure is null), or nil for
    /// messages (which go to the terminal only).
    public var jsonLine: String? {
        let members: [(key: String, value: JSON)]
        switch self {
        case .progress(let p):
            members = [("event", .string("train")), ("step", .number(p.step)), ("epoch", .number(p.epoch + 1)),
                       ("loss", JSON.figure(p.loss)), ("learning_rate", JSON.figure(p.learningRate)), ("gradient_norm", JSON.figure(p.gradientNorm)),
                       ("target_tokens", .number(p.targetTokens)), ("tokens_per_second", JSON.figure(p.tokensPerSecond)),
                       ("elapsed_seconds", JSON.figure(p.elapsedSeconds))]
        case .validation(let step, let epoch, let r, let isBest):
            members = [("event", .string("validation")), ("step", .number(step)), ("epoch", .number(epoch + 1)),
                       ("loss", JSON.figure(r.loss)), ("bleu", JSON.figure(r.bleu)), ("chrf", JSON.figure(r.chrf)), ("best", .bool(isBest))]
        case .checkpoint(let step, let path):
            members = [("event", .string("checkpoint")), ("step", .number(step)), ("path", .string(path))]
        case .message:
            return nil
        }
        return JSON.object(members).sortingKeys().compact
    }
}

public struct TrainingProgress: Sendable {
    public var step: Int
    /// The epoch in progress, from 0.
    public var epoch: Int
    /// Token-weighted mean loss of the updates since the last report.
    public var loss: Double
    public var learningRate: Double
    public var gradientNorm: Double
    public var targetTokens: Int
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    /// The updates the run will make (from --max-steps, or the epochs × this epoch's batches).
    public var plannedSteps: Int
    /// Seconds left at the current speed.
    public var secondsLeft: Double
}

/// The figures of a validation, for reports.
public struct ValidationSummary: Sendable {
    public var loss: Double
    public var bleu: Double
    public var chrf: Double
}
