import Foundation
import Tensor
import TextIO

/// A model directory in the layout transformers uses for Marian models: config.json,
/// model.safetensors and (for translation) tokenizer.json; nmt also writes generation_config.json
/// so transformers never generates the pad token, as nmt's search does not.
public enum ModelDirectory {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"
    public static let tokenizerFile = "tokenizer.json"
    public static let generationConfigFile = "generation_config.json"

    /// Copies of the shared matrix that other tools write; accepted and not needed.
    static let tiedCopies = ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"]
    /// Position tables some tools store; nmt computes the sinusoids itself.
    static let storedPositions = ["model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"]

    /// Loads config.json and model.safetensors from `directory`.
    public static func loadModel(from directory: URL) throws -> Transformer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw ModelError("\(directory.path): no such model directory")
        }
        guard isDirectory.boolValue else { throw ModelError("\(directory.path): not a directory (a model is a directory with \(configFile) and \(weightsFile))") }
        let configURL = directory.appendingPathComponent(configFile)
        let weightsURL = directory.appendingPathComponent(weightsFile)
        for url in [configURL, weightsURL] where !FileManager.default.fileExists(atPath: url.path) {
            throw ModelError("\(url.path): missing from the model directory")
        }
        let config = try ModelConfig(contentsOf: configURL)
        let model = Transformer(config: config)
        let weights: SafeTensorsFile
        do { weights = try SafeTensorsFile(contentsOf: weightsURL) } catch let error as SafeTensorsError {
            throw ModelError(error.description)
        }
        try load(weights, into: model.parameters, source: weightsURL.path)
        return model
    }

    /// Fills `store` from `file`, checking every name and shape against the config's layout.
    static func load(_ file: SafeTensorsFile, into store: ParameterStore, source: String) throws {
        for entry in store.entries {
            var name = entry.name
            if file.entries[name] == nil, name == "model.shared.weight",
               let copy = tiedCopies.first(where: { file.entries[$0] != nil }) {
                name = copy
            }
            guard let stored = file.entries[name] else {
                if entry.name == "final_logits_bias" { continue }  // a constant some converters drop; zero then
                throw ModelError("\(source): tensor \(entry.name) is missing")
            }
            let storedCount = stored.shape.reduce(1, *)
            let compatible = stored.shape == entry.shape || (entry.name == "final_logits_bias" && storedCount == entry.count)
            guard compatible else {
                throw ModelError("\(source): tensor \(name) has shape \(stored.shape) but config.json implies \(entry.shape)")
            }
            do { try file.readFloats(name, into: store.valueBuffer(entry.name)) } catch let error as SafeTensorsError {
                throw ModelError(error.description)
            }
        }
    }

    /// Writes config.json, model.safetensors, generation_config.json and, when given, tokenizer.json
    /// into `directory` (created if needed). Each file goes to a temporary name first and is renamed,
    /// so a reader never sees half a file.
    public static func save(_ model: Transformer, to directory: URL, tokenizerJSON: Data? = nil, weightType: SafeTensorsDType = .f32) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter(dtype: weightType, metadata: ["format": "pt"])
        for entry in model.parameters.entries {
            writer.add(entry.name, shape: entry.shape,
                       values: UnsafeBufferPointer(start: model.parameters.values + entry.offset, count: entry.count))
        }
        try writer.write(to: directory.appendingPathComponent(weightsFile))
        try writeAtomically(model.config.jsonData(), to: directory.appendingPathComponent(configFile))
        let generation = JSON.object([
            ("bad_words_ids", .array([.array([.number(model.config.padId)])])),
            ("decoder_start_token_id", .number(model.config.decoderStartId)),
            ("eos_token_id", .number(model.config.eosId)),
            ("forced_eos_token_id", .number(model.config.eosId)),
            ("max_length", .number(model.config.maxPositions)),
            ("num_beams", .number(4)),
            ("pad_token_id", .number(model.config.padId)),
        ])
        try writeAtomically(Data((generation.pretty + "\n").utf8), to: directory.appendingPathComponent(generationConfigFile))
        if let tokenizerJSON {
            try writeAtomically(tokenizerJSON, to: directory.appendingPathComponent(tokenizerFile))
        }
    }

    /// Writes `data` beside `url` under a temporary name, then renames it into place.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ModelError("\(url.path): cannot write (\(FileError.reason(for: error)))")
        }
    }
}
