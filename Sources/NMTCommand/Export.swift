import ArgumentParser
import Foundation
import NMT
import Tensor
import TextIO

/// `nmt export`: copies a model directory with its weights in float32, float16 or int8 — e.g. the
/// best model of a training run, halved (f16) or quartered (int8) in size to ship.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model directory again, with its weights in float32, float16 or int8.",
        discussion: """
            Copies config.json, the tokenizer (tokenizer.json, or an OPUS-MT folder's source.spm, \
            target.spm, vocab.json, target_vocab.json, tokenizer_config.json and \
            special_tokens_map.json) and the weights, as model.safetensors whether they were read \
            from it or from pytorch_model.bin (generation_config.json is written anew). float16 \
            halves the file; nmt and transformers read it back as float32. int8 stores every weight \
            matrix (the embeddings and output projection included) as 8-bit codes with one float32 \
            scale per row (docs/formats.md), about a quarter of float32: nmt runs it with its int8 \
            kernels (or, with --compute-type float32, as float32); transformers cannot load it, and \
            nmt does not train from it or average it.

              nmt export runs/tatoeba --output runs/tatoeba-f16 --dtype f16
              nmt export models/en-fr --output runs/en-fr-int8 --dtype int8
            """
    )

    @Argument(help: ArgumentHelp("The model directory to read.", valueName: "model"))
    var model: String

    @Option(help: ArgumentHelp("The model directory to write.", valueName: "dir"))
    var output: String

    @Option(help: "Weight type: f32, f16 or int8.")
    var dtype: FileType = .f16

    @OptionGroup var replacing: OverwriteOption

    enum FileType: String, ExpressibleByArgument, CaseIterable {
        case f32, f16, int8

        var storage: SafeTensorsDType {
            switch self {
            case .f32: return .f32
            case .f16: return .f16
            case .int8: return .i8
            }
        }
    }

    func run() throws {
        try OutputLocation.checkModelDirectory(output, option: "--output", overwrite: replacing.overwrite)
        let source = URL(fileURLWithPath: model)
        let translator = try Translator(directory: source, packingWeights: false)
        let destination = URL(fileURLWithPath: output)
        var tokenizerJSON: Data?
        if !ModelDirectory.hasMarianTokenizer(source) {
            tokenizerJSON = try TextLines.read(source.appendingPathComponent(ModelDirectory.tokenizerFile))
        }
        try ModelDirectory.save(translator.model, to: destination, tokenizerJSON: tokenizerJSON, weightType: dtype.storage)
        try ModelDirectory.copyMarianTokenizerFiles(from: source, to: destination)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: destination.appendingPathComponent(ModelDirectory.weightsFile).path)[.size] as? Int) ?? 0
        let size = bytes >= 1_000_000 ? String(format: "%.1f MB", Double(bytes) / 1e6) : String(format: "%.0f kB", Double(bytes) / 1e3)
        print("wrote \(output): \(model)'s model with \(dtype.rawValue) weights (\(size))")
    }
}
