import ArgumentParser
import Foundation
import NMT

/// `--model`, `--compute-type` and `--threads`, shared by the commands that run a translation model.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A model directory: nmt's own (config.json, model.safetensors, tokenizer.json) or a Hugging Face Marian / OPUS-MT folder (source.spm, target.spm, vocab.json; model.safetensors or pytorch_model.bin). Default: the shipped English→French model.", valueName: "dir"))
    var model: String?

    @Option(help: ComputeType.help)
    var computeType: ComputeType = .auto

    @OptionGroup var computation: ThreadOptions

    var threads: Int { computation.threads }

    /// Sets up threads and the allocator, and loads the translator, a float32 model's weights
    /// packed for the inference product (`Translator.init(directory:…)`): every command that
    /// translates computes with the same product, so `translate`, `attention` and `serve` agree to
    /// the last bit (ServerEndpointTests).
    func loadTranslator() throws -> Translator {
        computation.configure()
        return try Translator(directory: try modelDirectory(), computeType: computeType.weightType)
    }

    func modelDirectory() throws -> URL {
        try ShippedModel.directory(given: model, relativePath: ShippedModel.relativePath)
    }
}

/// `--compute-type`: a weight type, or auto for the one the model directory stores.
enum ComputeType: String, ExpressibleByArgument, CaseIterable {
    case auto, int8, float32

    static let help = ArgumentHelp("Weights to compute with: int8 (a float32 model is quantized as it loads), float32 (an int8 model's codes given back as floats), or auto (as the model directory stores them).")

    var weightType: WeightType? {
        switch self {
        case .auto: return nil
        case .int8: return .int8
        case .float32: return .float32
        }
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
        if let executable = executableURL() {
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

    /// This executable's own path, links resolved. Not `Bundle.main`: Foundation traps when it
    /// cannot read the folders above the executable (nmt run by another user than the checkout's).
    static func executableURL() -> URL? {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: target)
        }
        guard let first = CommandLine.arguments.first, first.contains("/") else { return nil }
        return URL(fileURLWithPath: first).resolvingSymlinksInPath()
    }

    /// The `models/` folder the shipped models are found in, which nmt never writes
    /// (`OutputLocation`); nil when none is found.
    static var folder: URL? {
        (locate() ?? locate("models/attentionnet-fashion"))?.deletingLastPathComponent()
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
