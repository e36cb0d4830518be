import Foundation
import NMT
import TestSupport
import XCTest

/// `nmt train` run as the built binary and hit by faults: SIGINT and SIGTERM during a step and
/// during a checkpoint write, SIGKILL and a second signal during a checkpoint write, a file-size
/// limit and a full disk while saving; a resumed run continues after each.
///
/// A signal lands inside a checkpoint write through the test hook `NMT_TEST_CHECKPOINT_PAUSE`
/// (see `Checkpoint`): each save stops halfway for that many seconds and says so on stderr.
final class TrainingFaultTests: XCTestCase {
    static let corpus = Fixtures.packageRoot.appendingPathComponent("corpora/walkthrough.tsv").path
    static let tokenizer = Fixtures.packageRoot.appendingPathComponent("vocab/walkthrough.json").path

    var output: URL!
    var checkpoints: URL { output.appendingPathComponent("checkpoints") }

    override func setUpWithError() throws {
        output = try Fixtures.temporaryDirectory("nmt-training-faults")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: output)
    }

    /// The tiny walkthrough model; the same settings when resuming, so the batches go on as they were.
    /// (A resumed run keeps the saved --max-steps of `trainFirst` unless given another.)
    func trainArguments(_ extra: [String] = [], resume: Bool = false) -> [String] {
        ["train", "--train", Self.corpus, "--output", output.path, "--preset", "tiny", "--epochs", "1000",
         "--warmup", "100", "--learning-rate", "3e-3", "--batch-tokens", "256", "--log-every", "1", "--seed", "1",
         "--threads", "1"]
            + (resume ? ["--resume", output.path] : ["--tokenizer", Self.tokenizer]) + extra
    }

    // MARK: Signals during a step

    func testSigintDuringAStepFinishesTheStepSavesExits130AndResumes() throws {
        try signalDuringSteps(SIGINT, name: "SIGINT", status: 130)
    }

    func testSigtermDuringAStepFinishesTheStepSavesExits143AndResumes() throws {
        try signalDuringSteps(SIGTERM, name: "SIGTERM", status: 143)
    }

    /// Sends the signal once 20 steps are logged; checkpoints come only at epoch ends then, so it
    /// almost always lands inside an update (and must behave the same if not).
    func signalDuringSteps(_ signalNumber: Int32, name: String, status: Int32) throws {
        let run = try RunningTraining(arguments: trainArguments())
        XCTAssertTrue(run.waitForOutput(timeout: 60) { $0.components(separatedBy: "\n").filter { $0.hasPrefix("epoch ") }.count >= 20 },
                      "20 steps logged; got: \(run.standardOutput) \(run.standardError)")
        kill(run.process.processIdentifier, signalNumber)
        try run.waitForExit(timeout: 30)
        XCTAssertEqual(run.process.terminationStatus, status, run.standardError + run.standardOutput)
        let step = try XCTUnwrap(Self.interruptedStep(run.standardOutput, signal: name), run.standardOutput)
        XCTAssertGreaterThanOrEqual(step, 20)
        try checkNoTemporaryFiles()
        XCTAssertEqual(try Checkpoint.load(XCTUnwrap(Checkpoint.latest(in: checkpoints))).state.step, step)
        try resume(from: step, steps: 3)
    }

    // MARK: Signals during a checkpoint write

    func testSigintDuringACheckpointWriteFinishesTheSaveExits130AndResumes() throws {
        try signalDuringCheckpointWrite(SIGINT, name: "SIGINT", status: 130)
    }

    func testSigtermDuringACheckpointWriteFinishesTheSaveExits143AndResumes() throws {
        try signalDuringCheckpointWrite(SIGTERM, name: "SIGTERM", status: 143)
    }

    /// The signal arrives while the first checkpoint is half written: the save completes, then
    /// training stops at that step.
    func signalDuringCheckpointWrite(_ signalNumber: Int32, name: String, status: Int32) throws {
        let run = try RunningTraining(arguments: trainArguments(["--checkpoint-every", "5"]),
                                      environment: ["NMT_TEST_CHECKPOINT_PAUSE": "2"])
        let temporary = try XCTUnwrap(run.waitForPausedCheckpoint(), run.standardError)
        kill(run.process.processIdentifier, signalNumber)
        try run.waitForExit(timeout: 30)
        XCTAssertEqual(run.process.terminationStatus, status, run.standardError + run.standardOutput)
        let step = try XCTUnwrap(Self.step(ofTemporary: temporary))
        XCTAssertEqual(Self.interruptedStep(run.standardOutput, signal: name), step, run.standardOutput)
        let latest = try XCTUnwrap(try Checkpoint.latest(in: checkpoints))
        XCTAssertEqual(latest.lastPathComponent, String(format: "step-%08d", step))
        XCTAssertEqual(try Checkpoint.load(latest).state.step, step)
        try checkNoTemporaryFiles()
        try resume(from: step, steps: 3)
    }

    // MARK: Kills during a checkpoint write

    func testSigkillDuringACheckpointWriteKeepsThePreviousCheckpoint() throws {
        let previous = try trainFirst(steps: 6)
        let run = try RunningTraining(arguments: trainArguments(["--checkpoint-every", "1", "--max-steps", "1000"], resume: true),
                                      environment: ["NMT_TEST_CHECKPOINT_PAUSE": "60"])
        let temporary = try XCTUnwrap(run.waitForPausedCheckpoint(), run.standardError)
        kill(run.process.processIdentifier, SIGKILL)
        try run.waitForExit(timeout: 30)
        XCTAssertEqual(run.process.terminationReason, .uncaughtSignal)
        try checkKilledSaveLeftThePreviousCheckpoint(previous: previous, temporary: temporary)
    }

    /// A second Ctrl-C ends the process at once, even inside a checkpoint write.
    func testSecondSigintDuringACheckpointWriteExitsAtOnceKeepingThePreviousCheckpoint() throws {
        let previous = try trainFirst(steps: 6)
        let run = try RunningTraining(arguments: trainArguments(["--checkpoint-every", "1", "--max-steps", "1000"], resume: true),
                                      environment: ["NMT_TEST_CHECKPOINT_PAUSE": "60"])
        let temporary = try XCTUnwrap(run.waitForPausedCheckpoint(), run.standardError)
        let start = Date()
        kill(run.process.processIdentifier, SIGINT)
        usleep(200_000)
        kill(run.process.processIdentifier, SIGINT)
        try run.waitForExit(timeout: 30)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "the second SIGINT must not wait for the paused save")
        XCTAssertEqual(run.process.terminationStatus, 130, run.standardError)
        try checkKilledSaveLeftThePreviousCheckpoint(previous: previous, temporary: temporary)
    }

    /// The half-written temporary directory is there but never read; the previous checkpoint
    /// loads, a resumed run starts from it and clears the leftover at its first save.
    func checkKilledSaveLeftThePreviousCheckpoint(previous: Int, temporary: URL) throws {
        let manager = FileManager.default
        XCTAssertTrue(manager.fileExists(atPath: temporary.appendingPathComponent(ModelDirectory.weightsFile).path))
        XCTAssertFalse(manager.fileExists(atPath: temporary.appendingPathComponent(Checkpoint.stateFile).path))
        let latest = try XCTUnwrap(try Checkpoint.latest(in: checkpoints))
        XCTAssertEqual(try Checkpoint.load(latest).state.step, previous)
        let resumed = try resume(from: previous, steps: 3)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from \(latest.path) at step \(previous)"), resumed.standardOutput)
        XCTAssertFalse(manager.fileExists(atPath: temporary.path), "the leftover of the killed save is removed")
    }

    // MARK: Writes that fail

    /// `prlimit --fsize`: past the limit write(2) fails with EFBIG (nmt train ignores SIGXFSZ). The
    /// limit lets the weights through and stops the optimizer moments, twice their size.
    func testFileSizeLimitWhileSavingKeepsThePreviousCheckpoint() throws {
        let prlimit = "/usr/bin/prlimit"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: prlimit), "no \(prlimit)")
        let previous = try trainFirst(steps: 6)
        let weights = try fileSize(checkpoints.appendingPathComponent(String(format: "step-%08d", previous)).appendingPathComponent(ModelDirectory.weightsFile))
        let limited = try NMTProcess.run(trainArguments(["--checkpoint-every", "1", "--max-steps", "1000"], resume: true), timeout: 60,
                                         wrapper: [prlimit, "--fsize=\(weights * 3 / 2)"])
        try checkFailedSave(limited, previous: previous, reason: "File too large")
        try resume(from: previous, steps: 3)
    }

    /// A real full disk: the output on a tmpfs (in a mount namespace of its own) with room for
    /// the weights of one more checkpoint but not its optimizer moments. Needs `unshare --mount`
    /// (root or CAP_SYS_ADMIN); skipped without.
    func testFullDiskWhileSavingKeepsThePreviousCheckpoint() throws {
        let unshare = "/usr/bin/unshare"
        let canMount = FileManager.default.isExecutableFile(atPath: unshare)
            && (try? NMTProcess.run(["--help"], timeout: 30,
                                     wrapper: [unshare, "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$1\" && exec \"$2\" \"$3\"", "sh", output.path]).status) == 0
        try XCTSkipUnless(canMount, "cannot mount a tmpfs in a mount namespace here")
        let previous = try trainFirst(steps: 6)
        let weights = try fileSize(checkpoints.appendingPathComponent(String(format: "step-%08d", previous)).appendingPathComponent(ModelDirectory.weightsFile))
        // The tmpfs is mounted over `disk`, filled with a copy of the output, and copied back to
        // `output` after the run: the mount vanishes with the namespace.
        let disk = try Fixtures.temporaryDirectory("nmt-full-disk")
        defer { try? FileManager.default.removeItem(at: disk) }
        let kilobytes = (try usedBytes(output) + weights * 3 / 2) / 1024
        let script = """
            disk=$1 saved=$2 kilobytes=$3; shift 3
            mount -t tmpfs -o size=${kilobytes}k tmpfs "$disk" && cp -a "$saved/." "$disk/" || exit 99
            "$@"; status=$?
            rm -rf "$saved" && mkdir "$saved" && cp -a "$disk/." "$saved/" || exit 98
            exit $status
            """
        var arguments = trainArguments(["--checkpoint-every", "1", "--max-steps", "1000"], resume: true)
        for index in arguments.indices where arguments[index] == output.path { arguments[index] = disk.path }
        let full = try NMTProcess.run(arguments, timeout: 60,
                                      wrapper: [unshare, "--mount", "sh", "-c", script, "sh", disk.path, output.path, String(kilobytes)])
        try checkFailedSave(full, previous: previous, reason: "No space left on device", root: disk)
        try resume(from: previous, steps: 3)
    }

    /// One line on stderr naming the checkpoint, the file that failed and why; exit 1; the
    /// previous checkpoint whole and newest; no temporary file anywhere in the output.
    func checkFailedSave(_ outcome: NMTProcess.Outcome, previous: Int, reason: String, root: URL? = nil) throws {
        XCTAssertFalse(outcome.timedOut)
        XCTAssertEqual(outcome.status, 1, outcome.standardError + outcome.standardOutput)
        let lines = outcome.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, outcome.standardError)
        let message = String(lines.first ?? "")
        let checkpointsAsRun = (root ?? output).appendingPathComponent("checkpoints").path
        XCTAssertTrue(message.hasPrefix("Error: \(checkpointsAsRun)/step-"), message)
        XCTAssertTrue(message.contains(String(format: "step-%08d is kept", previous)), message)
        XCTAssertTrue(message.contains("/\(Checkpoint.optimizerFile): cannot write the file: \(reason)"), message)
        try checkNoTemporaryFiles()
        let latest = try XCTUnwrap(try Checkpoint.latest(in: checkpoints))
        XCTAssertEqual(latest.lastPathComponent, String(format: "step-%08d", previous))
        XCTAssertEqual(try Checkpoint.load(latest).state.step, previous)
    }

    // MARK: Helpers

    /// Trains `steps` updates from scratch (a checkpoint at the end); returns the step.
    @discardableResult
    func trainFirst(steps: Int) throws -> Int {
        let first = try NMTProcess.run(trainArguments(["--max-steps", String(steps)]), timeout: 60)
        XCTAssertEqual(first.status, 0, first.standardError)
        return try Checkpoint.load(XCTUnwrap(Checkpoint.latest(in: checkpoints))).state.step
    }

    /// Resumes for `steps` more updates and checks that they are done and saved.
    @discardableResult
    func resume(from step: Int, steps: Int) throws -> NMTProcess.Outcome {
        let resumed = try NMTProcess.run(trainArguments(["--max-steps", String(step + steps)], resume: true), timeout: 60)
        XCTAssertEqual(resumed.status, 0, resumed.standardError + resumed.standardOutput)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from"), resumed.standardOutput)
        XCTAssertTrue(resumed.standardOutput.contains("at step \(step)\n"), resumed.standardOutput)
        let newest = try XCTUnwrap(try Checkpoint.latest(in: checkpoints))
        XCTAssertEqual(try Checkpoint.load(newest).state.step, step + steps)
        try checkNoTemporaryFiles()
        return resumed
    }

    /// No `.NAME.tmp…` file or directory anywhere under the output.
    func checkNoTemporaryFiles(file: StaticString = #filePath, line: UInt = #line) throws {
        let enumerator = FileManager.default.enumerator(atPath: output.path)
        var leftovers: [String] = []
        while let path = enumerator?.nextObject() as? String {
            if (path as NSString).lastPathComponent.hasPrefix(".") { leftovers.append(path) }
        }
        XCTAssertEqual(leftovers, [], "temporary files left in \(output.path)", file: file, line: line)
    }

    func fileSize(_ url: URL) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
    }

    /// Bytes a directory takes on a tmpfs: every file rounded up to whole 4 KiB pages.
    func usedBytes(_ directory: URL) throws -> Int {
        var total = 0
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey])
        while let url = enumerator?.nextObject() as? URL {
            let size = try url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
            total += (size + 4095) / 4096 * 4096 + 4096
        }
        return total
    }

    /// N in "interrupted at step N (SIGNAL)".
    static func interruptedStep(_ output: String, signal: String) -> Int? {
        let marker = "interrupted at step "
        guard let range = output.range(of: marker) else { return nil }
        let digits = output[range.upperBound...].prefix { $0.isNumber }
        guard output[range.upperBound...].dropFirst(digits.count).hasPrefix(" (\(signal))") else { return nil }
        return Int(digits)
    }

    /// N in ".step-0000000N.tmp".
    static func step(ofTemporary url: URL) -> Int? {
        let name = url.lastPathComponent
        guard name.hasPrefix(".step-"), name.hasSuffix(".tmp") else { return nil }
        return Int(name.dropFirst(".step-".count).dropLast(".tmp".count))
    }
}

/// `nmt train` running in the background, its output collected as it comes.
final class RunningTraining {
    let process = Process()
    private let lock = NSLock()
    private var outputText = "", errorText = ""
    private let readers = DispatchGroup()

    var standardOutput: String { lock.withLock { outputText } }
    var standardError: String { lock.withLock { errorText } }

    init(arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = try NMTProcess.binary()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        collect(output.fileHandleForReading) { self.outputText += $0 }
        collect(error.fileHandleForReading) { self.errorText += $0 }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    private func collect(_ handle: FileHandle, into append: @escaping (String) -> Void) {
        DispatchQueue.global().async(group: readers) {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                self.lock.withLock { append(String(decoding: data, as: UTF8.self)) }
            }
        }
    }

    /// Waits until `condition` holds for standard output; false on timeout or exit.
    func waitForOutput(timeout: TimeInterval, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(standardOutput) { return true }
            if !process.isRunning { return condition(standardOutput) }
            usleep(20_000)
        }
        return false
    }

    /// The temporary directory of the checkpoint the test hook paused in, once it says so.
    func waitForPausedCheckpoint(timeout: TimeInterval = 60) -> URL? {
        let marker = "test hook: checkpoint write paused in "
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            let text = standardError
            if let range = text.range(of: marker), let end = text[range.upperBound...].firstIndex(of: "\n") {
                return URL(fileURLWithPath: String(text[range.upperBound..<end]))
            }
            usleep(20_000)
        }
        return nil
    }

    /// Waits for the process to end and its output to be read; kills it and fails on timeout.
    func waitForExit(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTFail("nmt train did not exit within \(timeout) s")
        }
        process.waitUntilExit()
        readers.wait()
    }
}
