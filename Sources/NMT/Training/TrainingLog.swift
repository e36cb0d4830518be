import Dispatch
import Foundation
import TextIO

/// Where the trainer's events go: on rank 0, a line each in the run's `training-log.jsonl` (for
/// `nmt plot`) and the caller's `onEvent` (the progress display); other ranks report nothing.
final class TrainingReporter {
    private let log: LogFile?
    private let onEvent: (TrainingEvent) -> Void

    /// Opens (or continues) the log of the run in `output`. A run resumed into another output
    /// from a checkpoint (a branch) starts its log with the history of that checkpoint.
    init(output: URL, logURL: URL, resumedFrom: URL?, step: Int, group: TrainingGroup, onEvent: @escaping (TrainingEvent) -> Void) throws {
        if group.isFirst {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            if let resumedFrom { try TrainingLog.startBranch(logURL, from: resumedFrom, upTo: step) }
            log = try LogFile(url: logURL)
            self.onEvent = onEvent
        } else {
            log = nil
            self.onEvent = { _ in }
        }
    }

    func report(_ event: TrainingEvent) {
        if let line = event.jsonLine { log?.append(line) }
        onEvent(event)
    }
}

/// A run's `training-log.jsonl`: one JSON object a line (`TrainingEvent.jsonLine`).
enum TrainingLog {
    static let fileName = "training-log.jsonl"

    /// The log's lines that are JSON objects, with their 1-based numbers; a line that is not is
    /// `onBadLine`'s to judge (TrainingCurves fails on it, a branch's copy leaves it out).
    static func records(in data: Data, onBadLine: (Int) throws -> Void) rethrows -> [(line: Int, text: String, object: JSON)] {
        var records: [(line: Int, text: String, object: JSON)] = []
        try TextLines.forEachLine(in: data, { text, number in
            guard !text.isEmpty else { return }
            guard let object = try? JSON.parse(Array(text.utf8)), object.members != nil else { return try onBadLine(number) }
            records.append((number, text, object))
        }, invalid: onBadLine)
        return records
    }

    /// A run resumed into a new output directory (a branch, such as a cool-down tried beside the
    /// original) starts its log with the lines of the run it branched from, up to the checkpoint's
    /// step, so its log tells the whole history of its model. An existing log is left as it is.
    static func startBranch(_ logURL: URL, from checkpoint: URL, upTo step: Int) throws {
        guard let run = Checkpoint.run(containing: checkpoint), !FileManager.default.fileExists(atPath: logURL.path) else { return }
        let sourceLog = run.appendingPathComponent(fileName)
        guard sourceLog.standardizedFileURL != logURL.standardizedFileURL, let data = try? TextLines.read(sourceLog) else { return }
        let history = records(in: data, onBadLine: { _ in }).filter { ($0.object["step"]?.integer).map { $0 <= step } ?? false }
        guard !history.isEmpty else { return }
        do { try Data((history.map(\.text).joined(separator: "\n") + "\n").utf8).write(to: logURL, options: .atomic) } catch {
            throw ModelError("\(logURL.path): cannot write the training log (\(FileError.reason(for: error)))")
        }
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
