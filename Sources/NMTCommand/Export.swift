import ArgumentParser
import Foundation
import NMT
import Tensor
import TextIO

/// `nmt export`: copies a model directory with its weights in float32 or float16 — e.g. the
/// best model of a training run, halved in size to ship.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model directory again, with its weights in float32 or float16.",
        discussion: """
            Copies config.json, the tokenizer (tokenizer.json, or an OPUS-MT folder's source.spm, \
            target.spm, vocab.json, target_vocab.json, tokenizer_config.json and \
            special_tokens_map.json) and the weights, as model.safetensors whether they were read \
            from it or from pytorch_model.bin (generation_config.json is written anew). float16 \
            halves the file; nmt and transformers read it back as float32.

              nmt export runs/tatoeba --output runs/tatoeba-f16 --dtype f16
            """
    )

    @Argument(help: ArgumentHelp("The model directory to read.", valueName: "model"))
    var model: String

    @Option(help: ArgumentHelp("The model directory to write.", valueName: "dir"))
    var output: String

    @Option(help: "Weight type: f32 or f16.")
    var dtype: WeightType = .f16

    @OptionGroup var replacing: OverwriteOption

    enum WeightType: String, ExpressibleByArgument, CaseIterable { case f32, f16 }

    func run() throws {
        try OutputLocation.checkModelDirectory(output, option: "--output", overwrite: replacing.overwrite)
        let source = URL(fileURLWithPath: model)
        let translator = try Translator(directory: source)
        let destination = URL(fileURLWithPath: output)
        var tokenizerJSON: Data?
        if !ModelDirectory.hasMarianTokenizer(source) {
            tokenizerJSON = try TextLines.read(source.appendingPathComponent(ModelDirectory.tokenizerFile))
        }
        try ModelDirectory.save(translator.model, to: destination, tokenizerJSON: tokenizerJSON,
                                weightType: dtype == .f16 ? .f16 : .f32)
        try ModelDirectory.copyMarianTokenizerFiles(from: source, to: destination)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: destination.appendingPathComponent(ModelDirectory.weightsFile).path)[.size] as? Int) ?? 0
        let size = bytes >= 1_000_000 ? String(format: "%.1f MB", Double(bytes) / 1e6) : String(format: "%.0f kB", Double(bytes) / 1e3)
        print("wrote \(output): \(model)'s model with \(dtype.rawValue) weights (\(size))")
    }
}
