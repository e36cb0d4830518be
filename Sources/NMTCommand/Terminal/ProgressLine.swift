import Foundation

/// A progress bar redrawn in place on a terminal; on a pipe or file, a plain line every 10 %.
final class ProgressLine {
    let label: String
    let quiet: Bool
    let isTerminal = isatty(STDERR_FILENO) == 1
    private var shown = -1

    init(label: String, quiet: Bool) {
        self.label = label
        self.quiet = quiet
    }

    func update(_ done: Int, of total: Int) {
        guard !quiet, total > 0 else { return }
        let percent = min(100, done * 100 / total)
        if isTerminal {
            guard percent != shown else { return }
            let filled = percent * 30 / 100
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 30 - filled)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)% \(done)/\(total)".utf8))
        } else {
            guard percent / 10 != shown / 10 || shown < 0 else { return }
            printError("\(label): \(percent)% (\(done)/\(total))")
        }
        shown = percent
    }

    func finish() {
        if !quiet, isTerminal, shown >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
