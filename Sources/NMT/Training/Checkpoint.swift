import Foundation
import Tensor
import TextIO

/// Where training stands, saved with each checkpoint as training_state.json: enough to continue
/// as if never stopped (with the parameters, the optimizer moments and the tokenizer beside it).
public struct TrainingState: Codable, Sendable, Equatable {
    /// Updates done.
    public var step: Int = 0
    /// The epoch in progress (from 0).
    public var epoch: Int = 0
    /// Batches of `epoch` done; the data order of an epoch follows from (seed, epoch) alone.
    public var batchInEpoch: Int = 0
    /// The seed of the data order, the initial parameters and dropout.
    public var seed: UInt64
    /// The dropout generator's state.
    public var dropoutGenerator: [UInt64]
    /// The best validation score so far (lower is better: loss, or −BLEU, −chrF) and its step.
    public var bestScore: Double?
    public var bestStep: Int?
    /// Validations since the best one.
    public var validationsWithoutImprovement: Int = 0
    /// The token budget and sentence cap of a whole batch (over all ranks) that the batches of
    /// `epoch` are cut with; nil in checkpoints written before data-parallel training. A run
    /// resumed with another number of ranks finishes the epoch with these.
    public var epochBatchTokens: Int?
    public var epochBatchSentences: Int?
    /// The warm-up the run settled on at its start (`TrainingRun.warmup(plannedSteps:settled:)`);
    /// nil in checkpoints written before warm-up could be chosen for the run.
    public var warmup: Int?

    public init(seed: UInt64, dropoutGenerator: SeededGenerator) {
        self.seed = seed
        self.dropoutGenerator = dropoutGenerator.stateWords
    }
}

/// A checkpoint on disk: `<root>/step-<N>/` holding a model directory (config.json,
/// model.safetensors, generation_config.json, tokenizer.json), optimizer.safetensors (Adam's two
/// moments in the parameters' flat layout, the step in its metadata) and training_state.json.
///
/// A checkpoint is written under a temporary name (`.step-<N>.tmp`) and renamed into place only
/// when every file is whole; older checkpoints beyond the ones to keep are deleted only after that.
/// A kill at any moment therefore leaves the last complete checkpoint, and `latest(in:)` never
/// picks a partial one.
public enum Checkpoint {
    public static let stateFile = "training_state.json"
    public static let optimizerFile = "optimizer.safetensors"
    static let prefix = "step-"
    /// The folder of a training output that holds its checkpoints: RUN/checkpoints/step-N.
    public static let folderName = "checkpoints"

    /// The training output RUN that holds `checkpoint` (RUN/checkpoints/step-N), or nil when it is
    /// not inside a checkpoints folder.
    public static func run(containing checkpoint: URL) -> URL? {
        let parent = checkpoint.standardizedFileURL.deletingLastPathComponent()
        return parent.lastPathComponent == folderName ? parent.deletingLastPathComponent() : nil
    }

    /// Writes a checkpoint under `root` and removes older ones so that the `keep` newest remain
    /// (the new one among them; 1 keeps only it). Returns its directory.
    ///
    /// When a write fails (a full disk, a file-size limit), the temporary directory is removed,
    /// the older checkpoints stay, and the error names the checkpoint and the file that failed.
    @discardableResult
    public static func save(model: Transformer, adam: Adam, state: TrainingState, tokenizer: TokenizerFiles, in root: URL, keep: Int = 1) throws -> URL {
        precondition(keep >= 1, "a checkpoint save keeps at least the new checkpoint")
        let manager = FileManager.default
        do { try manager.createDirectory(at: root, withIntermediateDirectories: true) } catch {
            throw ModelError("\(root.path): cannot create the checkpoint directory (\(FileError.reason(for: error)))")
        }
        let name = prefix + String(format: "%08d", state.step)
        let final = root.appendingPathComponent(name)
        // A checkpoint of this step is already whole (a resumed run that has not moved yet):
        // replacing it would leave a moment with none.
        if manager.fileExists(atPath: final.appendingPathComponent(stateFile).path) { return final }
        let temporary = root.appendingPathComponent(".\(name).tmp")
        try? manager.removeItem(at: temporary)
        do {
            try writeFiles(model: model, adam: adam, state: state, tokenizer: tokenizer, into: temporary)
            guard rename(temporary.path, final.path) == 0 else {
                throw ModelError("\(final.path): cannot rename \(temporary.lastPathComponent) into place (\(String(cString: strerror(errno))))")
            }
        } catch {
            try? manager.removeItem(at: temporary)
            let kept = try? completeCheckpoints(in: root).max { $0.step < $1.step }
            throw ModelError("\(final.path): checkpoint not saved, \(kept.map { "\($0.url.lastPathComponent) is kept" } ?? "no older one to keep"): \(error)")
        }
        try syncDirectory(root)
        // Checkpoints of later steps (a run resumed from an earlier one) are neither counted nor removed.
        let older = try completeCheckpoints(in: root).filter { $0.step < state.step }.sorted { $0.step > $1.step }
        for expired in older.dropFirst(keep - 1) {
            try? manager.removeItem(at: expired.url)
        }
        // Leftovers of saves that were killed.
        for name in (try? manager.contentsOfDirectory(atPath: root.path)) ?? [] where name.hasPrefix(".\(prefix)") && name.hasSuffix(".tmp") {
            try? manager.removeItem(at: root.appendingPathComponent(name))
        }
        return final
    }

    /// The files of a checkpoint, written into `directory` and synced to disk.
    private static func writeFiles(model: Transformer, adam: Adam, state: TrainingState, tokenizer: TokenizerFiles, into directory: URL) throws {
        try ModelDirectory.save(model, to: directory, tokenizerFiles: tokenizer)
        TestHook.pauseInCheckpointWrite(directory)
        var moments = SafeTensorsWriter(metadata: ["step": String(adam.step)])
        moments.add("adam.first_moment", shape: [adam.count], values: UnsafeBufferPointer(start: adam.firstMoment, count: adam.count))
        moments.add("adam.second_moment", shape: [adam.count], values: UnsafeBufferPointer(start: adam.secondMoment, count: adam.count))
        do { try moments.write(to: directory.appendingPathComponent(optimizerFile)) } catch let error as SafeTensorsError {
            throw ModelError(error.description)
        }
        try ModelDirectory.writeAtomically(try CodableJSON.encode(state), to: directory.appendingPathComponent(stateFile))
        try syncDirectory(directory)
    }

    /// The newest complete checkpoint under `root`, or `root` itself when it is a checkpoint.
    public static func latest(in root: URL) throws -> URL? {
        if FileManager.default.fileExists(atPath: root.appendingPathComponent(stateFile).path) { return root }
        return try completeCheckpoints(in: root).max { $0.step < $1.step }?.url
    }

    /// What a checkpoint holds, loaded.
    public struct Loaded {
        public let model: Transformer
        public let state: TrainingState
        public let adamStep: Int
        public let firstMoment: [Float]
        public let secondMoment: [Float]
        /// tokenizer.json, or an OPUS-MT folder's tokenizer files.
        public let tokenizer: TokenizerFiles
    }

    public static func load(_ directory: URL) throws -> Loaded {
        let model = try ModelDirectory.loadTrainableModel(from: directory, purpose: "training")
        let stateURL = directory.appendingPathComponent(stateFile)
        let state: TrainingState
        do { state = try CodableJSON.decode(TrainingState.self, from: try TextLines.read(stateURL)) } catch let error as FileError {
            throw ModelError(error.description)
        } catch {
            throw ModelError("\(stateURL.path): not a training state (\(error))")
        }
        let optimizerURL = directory.appendingPathComponent(optimizerFile)
        let moments: SafeTensorsFile
        do { moments = try SafeTensorsFile(contentsOf: optimizerURL) } catch let error as SafeTensorsError {
            throw ModelError(error.description)
        }
        let first = try moments.floats("adam.first_moment"), second = try moments.floats("adam.second_moment")
        guard first.count == model.parameters.count, second.count == model.parameters.count,
              let adamStep = moments.metadata["step"].flatMap(Int.init) else {
            throw ModelError("\(optimizerURL.path): moments do not fit the model's \(model.parameters.count) parameters")
        }
        return Loaded(model: model, state: state, adamStep: adamStep, firstMoment: first, secondMoment: second,
                      tokenizer: try TokenizerFiles(directory: directory))
    }

    /// Checkpoint directories under `root` whose name is final (not a temporary one).
    static func completeCheckpoints(in root: URL) throws -> [(step: Int, url: URL)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.compactMap { name in
            guard name.hasPrefix(prefix), let step = Int(name.dropFirst(prefix.count)) else { return nil }
            return (step, root.appendingPathComponent(name))
        }
    }

    /// fsync every file of a directory and the directory itself, so the rename that follows
    /// publishes data that is on disk, not only in the page cache.
    static func syncDirectory(_ directory: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for path in names.map({ directory.appendingPathComponent($0).path }) + [directory.path] {
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else { continue }
            fsync(descriptor)
            close(descriptor)
        }
    }
}

/// A test-only seam: with `NMT_TEST_CHECKPOINT_PAUSE=SECONDS` in the environment, every checkpoint
/// save stops for that long halfway through (the model files are in the temporary directory,
/// the optimizer moments and training state are not), after saying so on stderr, so a test can
/// land a signal or a kill inside a checkpoint write. Unset (always, outside tests) it does nothing.
enum TestHook {
    static let checkpointPause: Double? = ProcessInfo.processInfo.environment["NMT_TEST_CHECKPOINT_PAUSE"].flatMap(Double.init)

    static func pauseInCheckpointWrite(_ directory: URL) {
        guard let seconds = checkpointPause else { return }
        FileHandle.standardError.write(Data("test hook: checkpoint write paused in \(directory.path)\n".utf8))
        // Sleep to the deadline: a handled signal cuts a sleep short, and the pause must last.
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { usleep(10_000) }
    }
}
