import ArgumentParser
import Foundation
import NMT
import Tensor
import TextIO
import Tokenizers

/// `--model` and `--threads`, shared by the commands that run a model.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A model directory (config.json, model.safetensors, tokenizer.json). Default: the shipped English→French model.", valueName: "dir"))
    var model: String?

    @Option(help: "Threads for the matrix products and the attention heads.")
    var threads: Int = min(2, ProcessInfo.processInfo.activeProcessorCount)

    func validate() throws {
        guard threads >= 1 else { throw CommandError("--threads must be at least 1, got \(threads)") }
    }

    /// Sets up threads and the allocator, and loads the translator.
    func loadTranslator() throws -> Translator {
        Parallel.configure(threads: threads)
        Allocation.reuseFreedMemory()
        return try Translator(directory: try modelDirectory())
    }

    func modelDirectory() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        guard let shipped = ShippedModel.locate() else {
            throw CommandError("no model given and the shipped model (\(ShippedModel.relativePath)) was not found beside the nmt executable or in the package; pass --model DIR")
        }
        return shipped
    }
}

/// The English→French model that ships in the repository's `models/en-fr`.
enum ShippedModel {
    static let relativePath = "models/en-fr"

    /// `models/en-fr` (or another shipped model's `relativePath`) in the first folder, walking up
    /// from the executable's own folder (in a package checkout the executable sits in
    /// `.build/<triple>/release/`), that has one; then under the current directory.
    static func locate(_ relativePath: String = relativePath) -> URL? {
        var folders: [URL] = []
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            var folder = executable.deletingLastPathComponent()
            for _ in 0..<6 {
                folders.append(folder)
                folder = folder.deletingLastPathComponent()
            }
        }
        folders.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return folders.map { $0.appendingPathComponent(relativePath) }
            .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent(ModelDirectory.configFile).path) }
    }
}

/// Writes to a file through a temporary name that is renamed into place once everything is
/// written, so a failed run leaves no partial output; or to standard output.
final class OutputSink {
    private let destination: URL?
    private let temporary: URL?
    private let handle: FileHandle

    init(path: String?) throws {
        // Past a file-size limit (ulimit -f) a write then fails with EFBIG and is reported in one
        // line, instead of SIGXFSZ ending the process.
        signal(SIGXFSZ, SIG_IGN)
        guard let path else {
            destination = nil
            temporary = nil
            handle = FileHandle.standardOutput
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporary.path) else {
            throw CommandError("\(path): cannot create the output file")
        }
        self.destination = url
        self.temporary = temporary
        self.handle = handle
    }

    /// Writes a line; a failed write (a full disk, a closed pipe) is an error naming the output,
    /// where FileHandle's own `write(_:)` would crash.
    func write(_ line: String) throws {
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch {
            throw CommandError("\(destination?.path ?? "<stdout>"): cannot write (\(FileError.reason(for: error)))")
        }
    }

    /// Moves a file output into place.
    func finish() throws {
        guard let destination, let temporary else { return }
        try handle.close()
        guard rename(temporary.path, destination.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw CommandError("\(destination.path): cannot write the output file")
        }
    }

    /// Removes a partial file output.
    func abandon() {
        guard let temporary else { return }
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
    }
}

/// A failure while running a command, or an option value out of its range (--beam 0),
/// reported as one line (`Error: …`) with exit code 1 — unlike `ValidationError`, which adds
/// the usage text and is kept for missing or conflicting options, where the usage helps.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Joins an option and a negative number after it (`--max-length -1` → `--max-length=-1`), so
/// the value reaches the command's range check and its one-line error. Left apart, ArgumentParser
/// takes "-1" for an option and reports the value of `--max-length` as missing, with the usage.
/// nmt has no short options, so a lone negative number is never an option; after `--` every
/// argument is left as it is.
enum NegativeValues {
    static func joined(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" {
                result += arguments[index...]
                break
            }
            let next = index + 1 < arguments.endIndex ? arguments[index + 1] : nil
            if argument.hasPrefix("--"), !argument.contains("="), let next, isNegativeNumber(next) {
                result.append("\(argument)=\(next)")
                index += 2
            } else {
                result.append(argument)
                index += 1
            }
        }
        return result
    }

    static func isNegativeNumber(_ text: String) -> Bool {
        text.count > 1 && text.hasPrefix("-") && Double(text) != nil
    }
}
