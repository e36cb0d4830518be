import Foundation
import NMT
import TestSupport
import XCTest

/// `mpirun -np 2 nmt train` on loopback against one process on the same global batches
/// (docs/distributed.md). Needs a build with the MPI trait (`swift test -c release --traits MPI`,
/// what `.ci/run` runs) and Open MPI's `mpirun`; skipped in a build without the trait.
///
/// Dropout is 0 throughout: with dropout each rank draws its masks from a stream of its own,
/// which is as valid a draw as one process's but not the same one.
final class DistributedTrainingTests: XCTestCase {
    static let corpus = Fixtures.packageRoot.appendingPathComponent("corpora/walkthrough.tsv").path
    static let tokenizer = Fixtures.packageRoot.appendingPathComponent("vocab/walkthrough.json").path

    var directory: URL!

    override func setUpWithError() throws {
        #if !MPI
        throw XCTSkip("built without the MPI trait: swift test -c release --traits MPI runs these")
        #endif
        directory = try Fixtures.temporaryDirectory("nmt-distributed")
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    static var mpirun: String {
        get throws {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            for folder in path.split(separator: ":") + ["/usr/bin"] {
                let candidate = "\(folder)/mpirun"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
            throw MissingLauncher(description: "no mpirun on PATH; install Open MPI (apt install openmpi-bin)")
        }
    }

    struct MissingLauncher: Error, CustomStringConvertible {
        let description: String
    }

    /// `mpirun … -np ranks` as `NMTProcess.run`'s wrapper. --oversubscribe: two ranks on any
    /// machine; --allow-run-as-root: CI runs as root.
    static func launcher(ranks: Int) throws -> [String] {
        [try mpirun, "--allow-run-as-root", "--oversubscribe", "-np", String(ranks)]
    }

    /// The tiny model without dropout, one thread a rank, a loss line every step. `batchTokens`
    /// is per rank.
    func arguments(output: URL, batchTokens: Int, maxSteps: Int, extra: [String] = []) -> [String] {
        ["train", "--train", Self.corpus, "--tokenizer", Self.tokenizer, "--output", output.path, "--preset", "tiny",
         "--dropout", "0", "--attention-dropout", "0", "--activation-dropout", "0", "--warmup", "4", "--learning-rate", "3e-3",
         "--batch-tokens", String(batchTokens), "--max-steps", String(maxSteps), "--log-every", "1", "--threads", "1",
         "--seed", "7"] + extra
    }

    /// Runs `nmt train` with `ranks` processes (1: no mpirun) and returns the logged (step, loss, epoch).
    @discardableResult
    func train(ranks: Int, _ arguments: [String], environment: [String: String] = [:]) throws -> [(step: Int, loss: Double, epoch: Int)] {
        let launched = try NMTProcess.run(arguments, environment: environment, timeout: 120,
                                          wrapper: ranks > 1 ? try Self.launcher(ranks: ranks) : [])
        XCTAssertFalse(launched.timedOut)
        XCTAssertEqual(launched.status, 0, launched.standardError + launched.standardOutput)
        if ranks > 1 { XCTAssertTrue(launched.standardOutput.contains("\(ranks) ranks × "), launched.standardOutput) }
        let output = URL(fileURLWithPath: arguments[arguments.firstIndex(of: "--output")! + 1])
        return try Self.losses(in: output)
    }

    static func losses(in output: URL) throws -> [(step: Int, loss: Double, epoch: Int)] {
        let log = try String(contentsOf: output.appendingPathComponent("training-log.jsonl"), encoding: .utf8)
        return try log.split(separator: "\n").compactMap { line in
            let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            guard event["event"] as? String == "train" else { return nil }
            return (event["step"] as! Int, event["loss"] as! Double, event["epoch"] as! Int)
        }
    }

    /// The largest |a − b| / |b| over the steps both curves have, after checking they have the same steps.
    func largestRelativeDifference(_ a: [(step: Int, loss: Double, epoch: Int)], _ b: [(step: Int, loss: Double, epoch: Int)],
                                   steps: ClosedRange<Int>) -> Double {
        let pick = { (curve: [(step: Int, loss: Double, epoch: Int)]) in curve.filter { steps.contains($0.step) } }
        let (x, y) = (pick(a), pick(b))
        XCTAssertEqual(x.map(\.step), Array(steps))
        XCTAssertEqual(y.map(\.step), Array(steps))
        return zip(x, y).map { abs($0.loss - $1.loss) / abs($1.loss) }.max() ?? .infinity
    }

    func testTwoRanksFollowOneProcessOnTheSameGlobalBatchAndEndBitIdentical() throws {
        let steps = 10
        let single = directory.appendingPathComponent("single")
        let distributed = directory.appendingPathComponent("distributed")
        let rankParameters = directory.appendingPathComponent("ranks")
        try FileManager.default.createDirectory(at: rankParameters, withIntermediateDirectories: true)
        // One process with a budget of 2 × 64 tokens cuts the same batches as two ranks of 64 each.
        let alone = try train(ranks: 1, arguments(output: single, batchTokens: 128, maxSteps: steps))
        let together = try train(ranks: 2, arguments(output: distributed, batchTokens: 64, maxSteps: steps),
                                 environment: ["NMT_RANK_PARAMETERS_DIR": rankParameters.path])
        let difference = largestRelativeDifference(together, alone, steps: 1...steps)
        print("2 ranks against 1 process: largest relative loss difference over \(steps) steps \(difference)")
        XCTAssertLessThanOrEqual(difference, 1e-4)
        // The curve is a real one: the loss falls.
        XCTAssertLessThan(together.last!.loss, together.first!.loss - 0.5)

        let rank0 = try Data(contentsOf: rankParameters.appendingPathComponent("rank-0.f32"))
        let rank1 = try Data(contentsOf: rankParameters.appendingPathComponent("rank-1.f32"))
        XCTAssertGreaterThan(rank0.count, 1_000_000)
        XCTAssertTrue(rank0 == rank1, "the two ranks' parameters differ in their bits")
        // What rank 0 saved is what it held.
        let saved = try ModelDirectory.loadModel(from: distributed).parameters
        let held = rank0.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: saved.values, count: saved.count)), held)
    }

    /// A checkpoint of 2 ranks resumed by 1 process, and one of 1 process resumed by 2 ranks, go on
    /// as the uninterrupted run does for the rest of the epoch (its batches were cut for the
    /// first run's number of ranks); the next epoch is cut for the new number.
    func testResumeWithAnotherNumberOfRanks() throws {
        // Per rank 64 tokens: 2 ranks cut batches of 128, about 8 a walkthrough epoch.
        let straight = try train(ranks: 2, arguments(output: directory.appendingPathComponent("straight"), batchTokens: 64, maxSteps: 12))
        let epochEnd = try XCTUnwrap(straight.last { $0.epoch == 1 }).step
        XCTAssertGreaterThan(epochEnd, 4, "the test needs an epoch longer than the first leg")
        XCTAssertGreaterThan(straight.last!.step, epochEnd)

        // 2 ranks for 3 steps, then 1 process keeping 64 tokens per rank to the end of the epoch and beyond.
        let shrunk = directory.appendingPathComponent("shrunk")
        try train(ranks: 2, arguments(output: shrunk, batchTokens: 64, maxSteps: 3))
        let resumed = try NMTProcess.run(arguments(output: shrunk, batchTokens: 64, maxSteps: epochEnd + 2, extra: ["--resume", shrunk.path]))
        XCTAssertEqual(resumed.status, 0, resumed.standardError + resumed.standardOutput)
        XCTAssertTrue(resumed.standardOutput.contains("finishing epoch 1 with its batches of 128 tokens"), resumed.standardOutput)
        let afterShrinking = try Self.losses(in: shrunk)
        let shrinkDifference = largestRelativeDifference(afterShrinking, straight, steps: 4...epochEnd)
        XCTAssertLessThanOrEqual(shrinkDifference, 1e-4)
        // Epoch 1 ends at the same step: its remaining batches were those of the 2-rank run.
        let secondEpoch = try XCTUnwrap(afterShrinking.first { $0.epoch == 2 })
        XCTAssertEqual(secondEpoch.step, epochEnd + 1)

        // 1 process with 128 tokens for 3 steps, then 2 ranks of 64: the same batches throughout.
        let grown = directory.appendingPathComponent("grown")
        let single = try train(ranks: 1, arguments(output: directory.appendingPathComponent("single"), batchTokens: 128, maxSteps: 8))
        try train(ranks: 1, arguments(output: grown, batchTokens: 128, maxSteps: 3))
        try train(ranks: 2, arguments(output: grown, batchTokens: 64, maxSteps: 8, extra: ["--resume", grown.path]))
        let growDifference = largestRelativeDifference(try Self.losses(in: grown), single, steps: 4...8)
        XCTAssertLessThanOrEqual(growDifference, 1e-4)
        print("resumed with another number of ranks: largest relative loss difference \(shrinkDifference) (2 → 1), \(growDifference) (1 → 2)")
    }

    /// A rank that cannot go on ends the job with its message instead of leaving the others waiting.
    func testAFailingRankEndsTheJobWithItsMessage() throws {
        // Rank 0 alone writes the output; a file where its directory should be stops it while
        // rank 1 waits for it in the first collective.
        let blocker = directory.appendingPathComponent("file")
        try Data().write(to: blocker)
        let start = Date()
        let launched = try NMTProcess.run(arguments(output: blocker.appendingPathComponent("model"), batchTokens: 64, maxSteps: 3),
                                          timeout: 60, wrapper: try Self.launcher(ranks: 2))
        XCTAssertFalse(launched.timedOut)
        XCTAssertNotEqual(launched.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        XCTAssertTrue(launched.standardError.contains("Error: rank 0 of 2: "), launched.standardError)
    }

    /// A rank that stops answering (SIGSTOP) makes the others give up after NMT_COLLECTIVE_TIMEOUT
    /// seconds, with a message naming the wait; a rank killed outright brings mpirun down at once.
    func testAStuckOrKilledRankEndsTheJob() throws {
        for (signal, expected) in [(SIGSTOP, "waited"), (SIGKILL, "exited on signal 9")] {
            let output = directory.appendingPathComponent("run-\(signal)")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try Self.mpirun)
            process.arguments = try Self.launcher(ranks: 2).dropFirst() + [try NMTProcess.binary().path]
                + arguments(output: output, batchTokens: 64, maxSteps: 1_000_000, extra: ["--epochs", "100000"])
            process.environment = ProcessInfo.processInfo.environment.merging(["NMT_COLLECTIVE_TIMEOUT": "3"]) { $1 }
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // Wait until training runs, then find rank 1 among mpirun's children.
            let log = output.appendingPathComponent("training-log.jsonl")
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, ((try? String(contentsOf: log, encoding: .utf8))?.count ?? 0) < 200 { usleep(50_000) }
            let rank1 = try XCTUnwrap(Self.child(of: process.processIdentifier, withRank: 1), "no rank 1 under mpirun")
            kill(rank1, signal)
            let ended = Date()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertNotEqual(process.terminationStatus, 0)
            XCTAssertLessThan(Date().timeIntervalSince(ended), 30, "the job must end, not hang")
            XCTAssertTrue(text.contains(expected), text)
        }
    }

    /// The process under `parent` whose environment says it is MPI rank `rank`.
    static func child(of parent: Int32, withRank rank: Int) -> Int32? {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        for pid in processes {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let afterName = stat.range(of: ") ", options: .backwards) else { continue }
            let fields = stat[afterName.upperBound...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == parent,
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }
}
