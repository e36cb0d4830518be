import Foundation

/// What the trainer reports as it goes: to the progress display, and one JSON object a line to
/// the training log (for plots).
public enum TrainingEvent: Sendable {
    /// Training figures over the updates since the last report.
    case progress(TrainingProgress)
    case validation(step: Int, epoch: Int, result: ValidationSummary, isBest: Bool)
    case checkpoint(step: Int, path: String)
    case message(String)

    /// The log line of this event, or nil for messages (which go to the terminal only).
    public var jsonLine: String? {
        let object: [String: Any]
        switch self {
        case .progress(let p):
            object = ["event": "train", "step": p.step, "epoch": p.epoch + 1, "loss": p.loss, "learning_rate": p.learningRate,
                      "gradient_norm": p.gradientNorm, "target_tokens": p.targetTokens,
                      "tokens_per_second": p.tokensPerSecond, "elapsed_seconds": p.elapsedSeconds]
        case .validation(let step, let epoch, let r, let isBest):
            object = ["event": "validation", "step": step, "epoch": epoch + 1, "loss": r.loss, "bleu": r.bleu, "chrf": r.chrf,
                      "best": isBest]
        case .checkpoint(let step, let path):
            object = ["event": "checkpoint", "step": step, "path": path]
        case .message:
            return nil
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
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
