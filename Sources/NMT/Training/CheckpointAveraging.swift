import Foundation
import Tensor
import TextIO

/// The element-wise mean of the parameters of several models of one architecture, typically the
/// last checkpoints of a run (fairseq's `average_checkpoints.py`; Vaswani et al. 2017, §6.1, average
/// the last 5 or 20 checkpoints). The noise of the last updates partly cancels, which is usually
/// worth a fraction of a BLEU point for the price of reading the checkpoints once.
///
/// Models are read one at a time and summed into a Double accumulator, so memory is about three
/// models' worth whatever their number, and the sum of N Floats keeps every bit they carry
/// (a Float accumulator would round at each addition).
public enum CheckpointAveraging {
    /// What was averaged.
    public struct Result {
        /// The mean model; its config (dropout rates included) is the last input's.
        public let model: Transformer
        /// The tokenizer files all inputs share, byte for byte (tokenizer.json, or an OPUS-MT
        /// folder's SentencePiece files and vocabularies).
        public let tokenizer: TokenizerFiles
        /// Their tokenizer.json, for nmt's own models.
        public var tokenizerJSON: Data? { tokenizer.files.first { $0.name == ModelDirectory.tokenizerFile }?.data }
        public let count: Int
    }

    /// The config.json keys that define the network: two models average only when all of them agree.
    /// Dropout rates are left out; they act in training only and do not change what a parameter means.
    static func architecture(_ config: ModelConfig) -> KeyValuePairs<String, String> {
        [
            "vocab_size": String(config.vocabularySize),
            "decoder_vocab_size": String(config.targetVocabularySize),
            "share_encoder_decoder_embeddings": String(config.sharesEmbeddings),
            "tie_word_embeddings": String(config.tiesOutputProjection),
            "d_model": String(config.modelWidth),
            "encoder_layers": String(config.encoderLayers),
            "decoder_layers": String(config.decoderLayers),
            "encoder_attention_heads": String(config.encoderHeads),
            "decoder_attention_heads": String(config.decoderHeads),
            "encoder_ffn_dim": String(config.encoderFeedForwardWidth),
            "decoder_ffn_dim": String(config.decoderFeedForwardWidth),
            "activation_function": config.activation.rawValue,
            "scale_embedding": String(config.scaleEmbedding),
            "max_position_embeddings": String(config.maxPositions),
            "pad_token_id": String(config.padId),
            "eos_token_id": String(config.eosId),
            "decoder_start_token_id": String(config.decoderStartId),
        ]
    }

    /// The first architecture key whose value differs between two configs, with both values.
    public static func firstDifference(_ a: ModelConfig, _ b: ModelConfig) -> (key: String, first: String, second: String)? {
        for (left, right) in zip(architecture(a), architecture(b)) where left.value != right.value {
            return (left.key, left.value, right.value)
        }
        return nil
    }

    /// Averages the model directories (or checkpoints) in `directories`, in that order. `onRead` is
    /// called after each one is read and added. Fewer than two inputs, a directory that is not a
    /// model, or inputs that differ in architecture or tokenizer are a one-line `ModelError`.
    public static func average(_ directories: [URL], onRead: (URL) -> Void = { _ in }) throws -> Result {
        guard directories.count >= 2 else {
            throw ModelError("averaging needs at least 2 models, got \(directories.count)")
        }
        var sum: [Double] = []
        var reference: (url: URL, config: ModelConfig, tokenizer: TokenizerFiles)? = nil
        var lastConfig: ModelConfig? = nil
        for directory in directories {
            let model = try ModelDirectory.loadTrainableModel(from: directory, purpose: "averaging")
            let tokenizerURL = directory.appendingPathComponent(ModelDirectory.tokenizerFile)
            guard ModelDirectory.hasMarianTokenizer(directory) || FileManager.default.fileExists(atPath: tokenizerURL.path) else {
                throw ModelError("\(tokenizerURL.path): missing from the model directory")
            }
            let tokenizer = try TokenizerFiles(directory: directory)
            if let reference {
                if let difference = firstDifference(reference.config, model.config) {
                    throw ModelError("\(reference.url.path) and \(directory.path) differ in \(ModelDirectory.configFile)'s \(difference.key) (\(difference.first) vs \(difference.second))")
                }
                if let difference = firstDifference(reference.tokenizer, tokenizer) {
                    throw ModelError("\(reference.url.path) and \(directory.path) differ in \(difference)")
                }
            } else {
                reference = (directory, model.config, tokenizer)
                sum = [Double](repeating: 0, count: model.parameters.count)
            }
            // The same architecture gives the same flat layout, so the buffers add position by position.
            let values = UnsafeBufferPointer(start: model.parameters.values, count: model.parameters.count)
            sum.withUnsafeMutableBufferPointer { sum in
                for index in sum.indices { sum[index] += Double(values[index]) }
            }
            lastConfig = model.config
            onRead(directory)
        }
        let mean = Transformer(config: lastConfig!)
        let count = Double(directories.count)
        for index in sum.indices { mean.parameters.values[index] = Float(sum[index] / count) }
        return Result(model: mean, tokenizer: reference!.tokenizer, count: directories.count)
    }

    /// The first tokenizer file two inputs do not share byte for byte, and where it differs.
    static func firstDifference(_ a: TokenizerFiles, _ b: TokenizerFiles) -> String? {
        let names = a.files.map(\.name), otherNames = b.files.map(\.name)
        if names != otherNames {
            return "their tokenizer files (\(names.joined(separator: ", ")) vs \(otherNames.joined(separator: ", ")))"
        }
        for (left, right) in zip(a.files, b.files) where left.data != right.data {
            return "\(left.name) (\(describeDifference(left.data, right.data)))"
        }
        return nil
    }

    /// The `count` newest complete checkpoints of a run, oldest first: those under
    /// `run/checkpoints`, or under `run` itself when it is a checkpoints folder.
    public static func newestCheckpoints(_ count: Int, in run: URL) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: run.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError("\(run.path): no such training output directory")
        }
        let nested = run.appendingPathComponent(Checkpoint.folderName)
        let root = FileManager.default.fileExists(atPath: nested.path) ? nested : run
        let found = try Checkpoint.completeCheckpoints(in: root).sorted { $0.step < $1.step }
        guard !found.isEmpty else {
            throw ModelError("\(root.path): no checkpoints (step-N directories) to average")
        }
        guard found.count >= count else {
            throw ModelError("\(root.path): only \(found.count) checkpoint\(found.count == 1 ? "" : "s"), fewer than the \(count) asked for")
        }
        return found.suffix(count).map(\.url)
    }

    /// Where two tokenizer.json files part: the first JSON path whose values differ, or the first
    /// differing byte when the files are the same JSON written differently (or not JSON).
    static func describeDifference(_ a: Data, _ b: Data) -> String {
        if let left = try? JSON.parse([UInt8](a)), let right = try? JSON.parse([UInt8](b)),
           let path = firstDifferingPath(left, right, at: "") {
            return "first at \(path.isEmpty ? "the top level" : path)"
        }
        let offset = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
        return "first at byte \(offset)"
    }

    /// The path (`model.vocab.▁a`, `added_tokens[3].content`) of the first value that differs, keys
    /// taken in sorted order; nil when the two are equal.
    private static func firstDifferingPath(_ a: JSON, _ b: JSON, at path: String) -> String? {
        switch (a, b) {
        case let (.object(x), .object(y)):
            for key in Set(x.map(\.key)).union(y.map(\.key)).sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let left = a[key], let right = b[key] else { return child }
                if let found = firstDifferingPath(left, right, at: child) { return found }
            }
            return nil
        case let (.array(x), .array(y)):
            for (index, (left, right)) in zip(x, y).enumerated() {
                if let found = firstDifferingPath(left, right, at: "\(path)[\(index)]") { return found }
            }
            return x.count == y.count ? nil : "\(path)[\(min(x.count, y.count))]"
        default:
            return a == b ? nil : path
        }
    }
}
