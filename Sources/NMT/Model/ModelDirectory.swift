import Foundation
import Tensor
import TextIO

/// A model directory in the layout transformers uses for Marian models: config.json,
/// model.safetensors (or, in older snapshots, only pytorch_model.bin) and a tokenizer —
/// tokenizer.json for nmt's own models, the SentencePiece files of an OPUS-MT folder
/// (`TranslationTokenizers.load`); nmt also writes generation_config.json so transformers never
/// generates the pad token, as nmt's search does not.
public enum ModelDirectory {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"
    /// The weights of older snapshots (PyTorch's zip format), read when model.safetensors is absent.
    public static let pyTorchWeightsFile = "pytorch_model.bin"
    public static let tokenizerFile = "tokenizer.json"
    public static let generationConfigFile = "generation_config.json"

    /// Copies of the shared matrix that other tools write; accepted and not needed.
    static let tiedCopies = ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"]
    /// Position tables some tools store; nmt computes the sinusoids itself.
    static let storedPositions = ["model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"]

    /// Loads config.json and the weights (model.safetensors, else pytorch_model.bin) from `directory`,
    /// as stored or as `computeType` asks: a float32 directory quantized to int8 as it loads, an
    /// int8 one given back as float32.
    public static func loadModel(from directory: URL, computeType: WeightType? = nil) throws -> Transformer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw ModelError("\(directory.path): no such model directory")
        }
        guard isDirectory.boolValue else { throw ModelError("\(directory.path): not a directory (a model is a directory with \(configFile) and \(weightsFile))") }
        let configURL = directory.appendingPathComponent(configFile)
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw ModelError("\(configURL.path): missing from the model directory")
        }
        let config = try ModelConfig(contentsOf: configURL)
        let weights = try weightsFile(in: directory)
        let model: Transformer
        switch config.weightType {
        case .float32:
            model = Transformer(config: config)
        case .int8:
            model = Transformer(config: config, int8: try int8Matrices(weights, config: config))
        }
        try load(weights, into: model.parameters, config: config)
        switch computeType ?? config.weightType {
        case .float32: return model.dequantized()
        case .int8: return try model.quantized()
        }
    }

    /// model.safetensors when the directory has one, else pytorch_model.bin; an unreadable or
    /// malformed file is an error naming it.
    static func weightsFile(in directory: URL) throws -> any NamedTensorFile {
        let safeTensors = directory.appendingPathComponent(weightsFile)
        let pyTorch = directory.appendingPathComponent(pyTorchWeightsFile)
        do {
            if FileManager.default.fileExists(atPath: safeTensors.path) { return try SafeTensorsFile(contentsOf: safeTensors) }
            if FileManager.default.fileExists(atPath: pyTorch.path) { return try PyTorchCheckpoint(contentsOf: pyTorch) }
        } catch let error as SafeTensorsError {
            throw ModelError(error.description)
        } catch let error as PyTorchCheckpointError {
            throw ModelError(error.description)
        }
        throw ModelError("\(safeTensors.path): missing from the model directory (and there is no \(pyTorchWeightsFile) either)")
    }

    /// Fills `store` from `file`, checking every name and shape against the config's layout.
    static func load(_ file: any NamedTensorFile, into store: ParameterStore, config: ModelConfig) throws {
        let source = file.source
        for entry in store.entries {
            let name = storedName(of: entry.name, in: file, config: config)
            guard let storedShape = file.shapeIfPresent(name) else {
                if entry.name == "final_logits_bias" { continue }  // a constant some converters drop; zero then
                throw ModelError("\(source): tensor \(entry.name) is missing\(missingTensorHint(entry.name, config: config))")
            }
            let compatible = storedShape == entry.shape || (entry.name == "final_logits_bias" && storedShape.reduce(1, *) == entry.count)
            guard compatible else {
                throw ModelError("\(source): tensor \(name) has shape \(storedShape) but config.json implies \(entry.shape)")
            }
            do { try file.readFloats(name, into: store.valueBuffer(entry.name)) } catch let error as CustomStringConvertible & Error {
                throw ModelError(error.description)
            }
        }
    }

    /// The name `file` stores parameter `name` under: itself, or for the shared matrix one of the
    /// copies other tools write in its place.
    static func storedName(of name: String, in file: any NamedTensorFile, config: ModelConfig) -> String {
        guard name == "model.shared.weight", file.shapeIfPresent(name) == nil else { return name }
        let copies = config.tiesOutputProjection ? tiedCopies : tiedCopies.filter { $0 != "lm_head.weight" }
        return copies.first { file.shapeIfPresent($0) != nil } ?? name
    }

    /// What config.json says that makes `name` needed, for a file that lacks it.
    private static func missingTensorHint(_ name: String, config: ModelConfig) -> String {
        switch name {
        case "lm_head.weight": return " (config.json: tie_word_embeddings false, so the output projection is its own matrix)"
        case "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight":
            return " (config.json: share_encoder_decoder_embeddings false, so each stack has its own embeddings)"
        default: return ""
        }
    }

    /// Writes config.json, model.safetensors, generation_config.json and, when given, tokenizer.json
    /// into `directory` (created if needed). Each file goes to a temporary name first and is renamed,
    /// so a reader never sees half a file. `weightType` .f32 or .f16 stores every parameter so;
    /// .i8 stores the weight matrices as int8 codes with F32 scales (quantizing a float32 model)
    /// and the rest as F32, and says so in config.json (`int8Writer`).
    public static func save(_ model: Transformer, to directory: URL, tokenizerJSON: Data? = nil, tokenizerFiles: TokenizerFiles? = nil,
                            weightType: SafeTensorsDType = .f32) throws {
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw ModelError("\(directory.path): cannot create the model directory (\(FileError.reason(for: error)))")
        }
        var config = model.config
        var writer: SafeTensorsWriter
        if weightType == .i8 {
            config.weightType = .int8
            writer = try int8Writer(model)
        } else {
            config.weightType = .float32
            let floats = model.dequantized()
            writer = SafeTensorsWriter(dtype: weightType, metadata: ["format": "pt"])
            for entry in floats.parameters.entries {
                writer.add(entry.name, shape: entry.shape,
                           values: UnsafeBufferPointer(start: floats.parameters.values + entry.offset, count: entry.count))
            }
        }
        try writer.write(to: directory.appendingPathComponent(weightsFile))
        try writeAtomically(config.jsonData(), to: directory.appendingPathComponent(configFile))
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
        try tokenizerFiles?.write(to: directory)
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
