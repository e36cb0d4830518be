import ArgumentParser
import Foundation
import NMT

/// `--model` and `--threads`, shared by the commands that run a translation model.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A model directory (config.json, model.safetensors, tokenizer.json). Default: the shipped English→French model.", valueName: "dir"))
    var model: String?

    @OptionGroup var computation: ThreadOptions

    var threads: Int { computation.threads }

    /// Sets up threads and the allocator, and loads the translator.
    func loadTranslator() throws -> Translator {
        computation.configure()
        return try Translator(directory: try modelDirectory())
    }

    func modelDirectory() throws -> URL {
        try ShippedModel.directory(given: model, relativePath: ShippedModel.relativePath)
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

    /// The directory `--model` names, or the shipped model at `relativePath` when none is given.
    static func directory(given model: String?, relativePath: String) throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        guard let shipped = locate(relativePath) else {
            throw CommandError("no model given and the shipped model (\(relativePath)) was not found beside the nmt executable or in the package; pass --model DIR")
        }
        return shipped
    }
}
