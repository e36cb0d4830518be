import Foundation
import NMT

/// Shows training events: on a terminal, one line rewritten in place (epoch, step, loss, tokens/s,
/// learning rate, ETA) with validations and messages on lines of their own; otherwise plain lines.
final class TrainingProgressDisplay {
    let live: Bool
    private var lineShown = false
    /// On a terminal, checkpoints go on the live line rather than a line each.
    private var lastCheckpoint = ""

    init(live: Bool) { self.live = live }

    func show(_ event: TrainingEvent) {
        switch event {
        case .progress(let p):
            let text = String(format: "epoch %d  step %d/%d  loss %.4f  %.0f tok/s  lr %.3g  ETA %@",
                              p.epoch + 1, p.step, p.plannedSteps, p.loss, p.tokensPerSecond, p.learningRate,
                              Self.duration(p.secondsLeft))
            if live {
                print("\r\u{1B}[K" + text + lastCheckpoint, terminator: "")
                fflush(stdout)
                lineShown = true
            } else {
                // A log file is block-buffered; flush so `tail -f` sees each line as it happens.
                print(text)
                fflush(stdout)
            }
        case .validation(let step, let epoch, let r, let isBest):
            line(String(format: "validation at step %d (epoch %d): loss %.4f  BLEU %.2f  chrF %.2f%@",
                        step, epoch + 1, r.loss, r.bleu, r.chrf, isBest ? "  (best so far)" : ""))
        case .checkpoint(let step, let path):
            if live {
                lastCheckpoint = "  (saved step \(step))"
            } else {
                line("checkpoint at step \(step): \(path)")
            }
        case .message(let text):
            line(text)
        }
    }

    /// Ends the live line so what follows starts on a line of its own.
    func finish() {
        if lineShown { print("") }
        lineShown = false
    }

    private func line(_ text: String) {
        finish()
        print(text)
        fflush(stdout)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
