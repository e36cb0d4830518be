import Foundation
import NMT
import TextIO

/// The folder a run is written to (`--output`), and the rule for it: a new run (or a branch of a
/// resumed one) starts only in a folder that is missing or empty. One that holds a run is
/// continued with `--resume`, or cleared with `--overwrite`, which removes nmt's files only — the
/// model, the log, the checkpoints, the run's declaration — and says which; anything else stays.
struct RunOutput {
    let url: URL
    /// The folder as the user named it.
    let path: String
    /// What `--overwrite` will remove once the new run has loaded its data.
    private(set) var replaced: [String] = []

    /// The entries of a folder that a run wrote.
    static var runEntries: [String] { Trainer.outputEntries + [SavedRun.fileName] }

    /// Checks that a new run may be written to `path`; with `overwrite`, notes what it will remove.
    init(checking path: String, overwrite: Bool) throws {
        self.path = path
        url = URL(fileURLWithPath: path)
        try OutputLocation.checkOutsideShippedModels(url, option: "--output")
        guard let contents = try OutputLocation.existingContents(of: url, path: path, option: "--output"), !contents.isEmpty else { return }
        let ours = contents.filter(Self.runEntries.contains)
        guard overwrite else { throw CommandError(Self.refusal(path: path, url: url, contents: contents, ours: ours)) }
        replaced = ours
    }

    /// Why a folder that holds something cannot take a new run, and what to do instead.
    static func refusal(path: String, url: URL, contents: [String], ours: [String]) -> String {
        if contents.contains(SavedRun.fileName) || contents.contains(Checkpoint.folderName) {
            let newest = (try? Checkpoint.latest(in: url.appendingPathComponent(Checkpoint.folderName))).flatMap { $0 }
            let step = newest.flatMap { Int($0.lastPathComponent.drop { !$0.isNumber }) }
            let at = step.map { " (its newest checkpoint is at step \($0))" } ?? ""
            return "\(path): holds a training run already\(at); continue it with --resume \(path), or give --overwrite to remove it and start afresh"
        }
        let removable = ours.isEmpty ? "" : " (--overwrite would replace \(OutputLocation.listing(ours)))"
        return "\(path): is not empty (\(OutputLocation.listing(contents))); give another --output for the run\(removable)"
    }

    /// Removes what `--overwrite` replaces, saying so in one line; call once the run has started.
    func clear() throws {
        guard !replaced.isEmpty else { return }
        var removed: [String] = []
        for name in replaced {
            let entry = url.appendingPathComponent(name)
            var description = name
            if name == Checkpoint.folderName {
                let count = (try? FileManager.default.contentsOfDirectory(atPath: entry.path).filter { $0.hasPrefix("step-") }.count) ?? 0
                description += "/ (\(count) checkpoint\(count == 1 ? "" : "s"))"
            }
            do { try FileManager.default.removeItem(at: entry) } catch {
                throw CommandError("\(entry.path): cannot remove it for --overwrite (\(FileError.reason(for: error)))")
            }
            removed.append(description)
        }
        print("--overwrite: removed the previous run's \(removed.joined(separator: ", ")) from \(path)")
    }
}
