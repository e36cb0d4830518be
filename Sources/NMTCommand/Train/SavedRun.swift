import ArgumentParser
import Foundation
import NMT
import TextIO

/// A run's declaration in its output folder, `training-arguments.json`: the `TrainingRun` as it
/// is, so `nmt train --resume RUN` needs nothing else (the checkpoint holds the model, the
/// optimizer and the position in the data; this file the corpora and the schedule).
///
/// A field missing from the file takes its default (a run saved before the option existed); a
/// field the run does not have is an error naming it. Runs of nmt before the declared run saved
/// `{"arguments": [...]}`, the options as a command line; those are read as such.
enum SavedRun {
    static let fileName = "training-arguments.json"

    /// Writes `run` into the run's output directory (whole or not at all).
    static func write(_ run: TrainingRun, in output: URL) throws {
        let file = output.appendingPathComponent(fileName)
        do {
            try ModelDirectory.writeAtomically(try CodableJSON.encode(run) + Data("\n".utf8), to: file)
        } catch {
            throw CommandError("\(file.path): cannot write the run's arguments (\(FileError.reason(for: error)))")
        }
    }

    /// The run saved in `folder`, or nil when it holds none.
    static func read(in folder: URL) throws -> TrainingRun? {
        let file = folder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
        return try decode(data, source: file.path)
    }

    /// The training output that `--resume` names: the directory itself, or, for a checkpoint
    /// (RUN/checkpoints/step-N), the RUN that holds it.
    static func runDirectory(resuming resume: String) -> URL {
        let url = URL(fileURLWithPath: resume).standardizedFileURL
        let manager = FileManager.default
        if manager.fileExists(atPath: url.appendingPathComponent(fileName).path)
            || manager.fileExists(atPath: url.appendingPathComponent(Checkpoint.folderName).path) {
            return url
        }
        return Checkpoint.run(containing: url) ?? url
    }

    /// The run in `data` (named `source` in errors), checked as a run given on the command line is.
    static func decode(_ data: Data, source: String) throws -> TrainingRun {
        guard let json = try? JSON.parse([UInt8](data)), let members = json.members else {
            throw CommandError("\(source): not a JSON object")
        }
        let run: TrainingRun
        if let arguments = json["arguments"] {
            run = try legacy(arguments, source: source)
        } else {
            let layout = TrainingRun.layout
            for (section, value) in members {
                guard let fields = layout.first(where: { $0.section == section })?.fields else {
                    throw CommandError("\(source): \(JSON.quoted(section)) is not a part of a training run")
                }
                for field in value.members?.map(\.key) ?? [] where !fields.contains(field) {
                    throw CommandError("\(source): \(section).\(field) is not an option of this nmt")
                }
            }
            // The defaults under what was saved: a field missing from the file keeps its default.
            let defaults = try JSON.parse([UInt8](CodableJSON.encode(TrainingRun())))
            do {
                run = try CodableJSON.decode(TrainingRun.self, from: Data(defaults.merging(json).compact.utf8))
            } catch let error as JSONDocumentError {
                throw CommandError("\(source): \(error.reason)")
            }
        }
        if let problem = run.problem { throw CommandError("\(source): \(problem)") }
        return run
    }

    /// A run saved by nmt before the declared run: its options as command-line arguments.
    private static func legacy(_ arguments: JSON, source: String) throws -> TrainingRun {
        guard case .array(let items) = arguments, case let strings = items.compactMap(\.string), strings.count == items.count else {
            throw CommandError("\(source): not a JSON object with an \"arguments\" list of strings")
        }
        do {
            var run = try TrainingRunOptions.parse(strings).applied(to: TrainingRun())
            // What the nmt that saved it took for an option left out, where the default changed since.
            if run.optimization.epochs == nil { run.optimization.epochs = 10 }
            if run.schedule.learningRate == nil { run.schedule.learningRate = 5e-4 }
            if run.schedule.warmup == nil { run.schedule.warmup = 4000 }
            return run
        } catch {
            throw CommandError("\(source): the saved arguments do not parse: \(TrainingRunOptions.message(for: error))")
        }
    }
}
