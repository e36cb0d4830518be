import Foundation
import Tensor
import TextIO

/// The fields of transformers' `MarianConfig` that define the network (formats.md), read from and
/// written to config.json. Keys nmt does not use are kept and written back unchanged.
public struct ModelConfig {
    /// The encoder's (source) vocabulary: `vocab_size`.
    public var vocabularySize: Int                // V
    /// The decoder's (target) vocabulary, the rows of the output projection: `decoder_vocab_size`
    /// (equal to V when the embeddings are shared).
    public var targetVocabularySize: Int          // Vt
    /// One embedding matrix for the encoder and the decoder (`share_encoder_decoder_embeddings`);
    /// otherwise each stack has its own.
    public var sharesEmbeddings: Bool
    /// The output projection is the decoder's embedding matrix (`tie_word_embeddings`); otherwise
    /// it is a matrix of its own, `lm_head.weight`.
    public var tiesOutputProjection: Bool
    public var modelWidth: Int                    // D
    public var encoderLayers: Int                 // N
    public var decoderLayers: Int                 // M
    public var encoderHeads: Int                  // H
    public var decoderHeads: Int
    public var encoderFeedForwardWidth: Int       // F
    public var decoderFeedForwardWidth: Int
    public var activation: Activation
    public var scaleEmbedding: Bool
    public var maxPositions: Int
    public var padId: Int
    public var eosId: Int
    public var decoderStartId: Int
    public var dropout: Float
    public var attentionDropout: Float
    public var activationDropout: Float
    /// How model.safetensors stores the weight matrices: `nmt_weight_type` (absent: float32).
    public var weightType: WeightType = .float32

    /// Every member of the file this config was read from, in file order (or nil for a config
    /// built in code).
    private var originalMembers: [(key: String, value: JSON)]?

    public init(
        vocabularySize: Int, modelWidth: Int, encoderLayers: Int, decoderLayers: Int, heads: Int,
        feedForwardWidth: Int, activation: Activation = .relu, scaleEmbedding: Bool = true,
        maxPositions: Int = 512, padId: Int? = nil, eosId: Int = 0, decoderStartId: Int? = nil,
        dropout: Float = 0.1, attentionDropout: Float = 0, activationDropout: Float = 0,
        targetVocabularySize: Int? = nil, sharesEmbeddings: Bool = true, tiesOutputProjection: Bool = true
    ) {
        self.vocabularySize = vocabularySize
        self.targetVocabularySize = targetVocabularySize ?? vocabularySize
        self.sharesEmbeddings = sharesEmbeddings
        self.tiesOutputProjection = tiesOutputProjection
        self.modelWidth = modelWidth
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.encoderHeads = heads
        self.decoderHeads = heads
        self.encoderFeedForwardWidth = feedForwardWidth
        self.decoderFeedForwardWidth = feedForwardWidth
        self.activation = activation
        self.scaleEmbedding = scaleEmbedding
        self.maxPositions = maxPositions
        self.padId = padId ?? vocabularySize - 1
        self.eosId = eosId
        self.decoderStartId = decoderStartId ?? padId ?? vocabularySize - 1
        self.dropout = dropout
        self.attentionDropout = attentionDropout
        self.activationDropout = activationDropout
    }

    /// Reads config.json; a missing key, a wrong type or an unsupported value is an error naming it.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError("\(url.path): cannot read (\(FileError.reason(for: error, at: url)))")
        }
        try self.init(jsonData: data, source: url.path)
    }

    public init(jsonData data: Data, source: String) throws {
        guard let members = (try? JSON.parse([UInt8](data)))?.members else {
            throw ModelError("\(source): not a JSON object")
        }
        let reader = ConfigReader(object: .object(members), source: source)
        let modelType = try reader.string("model_type")
        guard modelType == "marian" else {
            throw ModelError("\(source): model_type \"\(modelType)\" is not supported (expected \"marian\")")
        }
        vocabularySize = try reader.positiveInt("vocab_size")
        // transformers' defaults: shared and tied unless the file says false.
        sharesEmbeddings = try reader.optionalBool("share_encoder_decoder_embeddings") ?? true
        tiesOutputProjection = try reader.optionalBool("tie_word_embeddings") ?? true
        let decoderVocabulary = try reader.optionalInt("decoder_vocab_size")
        if sharesEmbeddings, let decoderVocabulary, decoderVocabulary != vocabularySize {
            throw ModelError("\(source): decoder_vocab_size \(decoderVocabulary) differs from vocab_size \(vocabularySize), but share_encoder_decoder_embeddings is true (one matrix cannot have both sizes)")
        }
        targetVocabularySize = decoderVocabulary ?? vocabularySize
        guard targetVocabularySize > 0 else { throw ModelError("\(source): key 'decoder_vocab_size' must be positive, got \(targetVocabularySize)") }
        modelWidth = try reader.positiveInt("d_model")
        encoderLayers = try reader.positiveInt("encoder_layers")
        decoderLayers = try reader.positiveInt("decoder_layers")
        encoderHeads = try reader.positiveInt("encoder_attention_heads")
        decoderHeads = try reader.positiveInt("decoder_attention_heads")
        encoderFeedForwardWidth = try reader.positiveInt("encoder_ffn_dim")
        decoderFeedForwardWidth = try reader.positiveInt("decoder_ffn_dim")
        let activationName = try reader.string("activation_function")
        guard let activation = Activation(configName: activationName) else {
            throw ModelError("\(source): activation_function \"\(activationName)\" is not supported (relu, gelu, swish)")
        }
        self.activation = activation
        scaleEmbedding = try reader.optionalBool("scale_embedding") ?? false
        maxPositions = try reader.positiveInt("max_position_embeddings")
        padId = try reader.int("pad_token_id")
        eosId = try reader.int("eos_token_id")
        decoderStartId = try reader.optionalInt("decoder_start_token_id") ?? padId
        dropout = try reader.optionalFloat("dropout") ?? 0
        attentionDropout = try reader.optionalFloat("attention_dropout") ?? 0
        activationDropout = try reader.optionalFloat("activation_dropout") ?? 0
        try reader.refuseUnsupportedArchitecture()
        if let name = try reader.optionalString(ModelConfig.weightTypeKey) {
            guard let type = WeightType(rawValue: name) else {
                throw ModelError("\(source): \(ModelConfig.weightTypeKey) \"\(name)\" is not supported (float32, int8)")
            }
            weightType = type
        }
        originalMembers = members
        try validate(source: source)
    }

    /// Checks the rules that tie the fields together.
    public func validate(source: String = "config") throws {
        for (key, heads) in [("encoder_attention_heads", encoderHeads), ("decoder_attention_heads", decoderHeads)]
        where modelWidth % heads != 0 {
            throw ModelError("\(source): d_model \(modelWidth) is not divisible by \(key) \(heads)")
        }
        if modelWidth % 2 != 0 { throw ModelError("\(source): d_model \(modelWidth) must be even for sinusoidal positions") }
        // pad and EOS are one id in both vocabularies (formats.md); the start token is a target id.
        for (key, id) in [("pad_token_id", padId), ("eos_token_id", eosId)] where id < 0 || id >= vocabularySize {
            throw ModelError("\(source): \(key) \(id) is outside the vocabulary of \(vocabularySize)")
        }
        for (key, id) in [("pad_token_id", padId), ("eos_token_id", eosId), ("decoder_start_token_id", decoderStartId)]
        where id < 0 || id >= targetVocabularySize {
            throw ModelError("\(source): \(key) \(id) is outside the target vocabulary of \(targetVocabularySize) (decoder_vocab_size)")
        }
        if sharesEmbeddings && targetVocabularySize != vocabularySize {
            throw ModelError("\(source): decoder_vocab_size \(targetVocabularySize) differs from vocab_size \(vocabularySize), but the embeddings are shared")
        }
        for (key, p) in [("dropout", dropout), ("attention_dropout", attentionDropout), ("activation_dropout", activationDropout)]
        where !(p >= 0 && p < 1) {
            throw ModelError("\(source): \(key) \(p) must be in [0, 1)")
        }
    }

    /// config.json as transformers writes it for a Marian model, keeping unknown keys of the file
    /// this config came from; keys in sorted order.
    public func jsonData() throws -> Data {
        var members = originalMembers ?? [
            ("architectures", .array([.string("MarianMTModel")])),
            ("model_type", .string("marian")),
            ("is_encoder_decoder", .bool(true)),
            ("encoder_layerdrop", .number(0)),
            ("decoder_layerdrop", .number(0)),
            ("init_std", .number(0.02)),
            ("use_cache", .bool(true)),
            ("forced_eos_token_id", .number(eosId)),
            ("bos_token_id", .null),
        ]
        let fields: [(String, JSON)] = [
            ("vocab_size", .number(vocabularySize)), ("decoder_vocab_size", .number(targetVocabularySize)),
            ("share_encoder_decoder_embeddings", .bool(sharesEmbeddings)), ("tie_word_embeddings", .bool(tiesOutputProjection)),
            ("d_model", .number(modelWidth)), ("encoder_layers", .number(encoderLayers)), ("decoder_layers", .number(decoderLayers)),
            ("encoder_attention_heads", .number(encoderHeads)), ("decoder_attention_heads", .number(decoderHeads)),
            ("encoder_ffn_dim", .number(encoderFeedForwardWidth)), ("decoder_ffn_dim", .number(decoderFeedForwardWidth)),
            ("activation_function", .string(activation.rawValue)), ("scale_embedding", .bool(scaleEmbedding)),
            ("max_position_embeddings", .number(maxPositions)), ("pad_token_id", .number(padId)), ("eos_token_id", .number(eosId)),
            ("decoder_start_token_id", .number(decoderStartId)), ("dropout", .number(Double(dropout))),
            ("attention_dropout", .number(Double(attentionDropout))), ("activation_dropout", .number(Double(activationDropout))),
        ]
        for (key, value) in fields {
            members.removeAll { $0.key == key }
            members.append((key, value))
        }
        members.removeAll { $0.key == ModelConfig.weightTypeKey }
        if weightType != .float32 { members.append((ModelConfig.weightTypeKey, .string(weightType.rawValue))) }
        return Data((JSON.object(members).sortingKeys().pretty + "\n").utf8)
    }

    /// nmt's own key for int8 weights (formats.md); transformers does not know it.
    public static let weightTypeKey = "nmt_weight_type"

    /// The keys this config would write, for round-trip checks.
    public var allKeys: Set<String> {
        guard let data = try? jsonData(), let members = (try? JSON.parse([UInt8](data)))?.members else { return [] }
        return Set(members.map(\.key))
    }
}

/// Typed access to config.json's keys with errors that name the key.
private struct ConfigReader {
    let object: JSON
    let source: String

    /// The key's value, nil when it is absent or null.
    func value(_ key: String) -> JSON? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func string(_ key: String) throws -> String {
        guard let value = value(key) else { throw ModelError("\(source): key '\(key)' is missing") }
        guard let s = value.string else { throw ModelError("\(source): key '\(key)' should be a string") }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let s = value.string else { throw ModelError("\(source): key '\(key)' should be a string") }
        return s
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.double, let i = Int(exactly: number) else {
            throw ModelError("\(source): key '\(key)' should be an integer")
        }
        return i
    }

    func int(_ key: String) throws -> Int {
        guard let i = try optionalInt(key) else { throw ModelError("\(source): key '\(key)' is missing") }
        return i
    }

    func positiveInt(_ key: String) throws -> Int {
        let i = try int(key)
        guard i > 0 else { throw ModelError("\(source): key '\(key)' must be positive, got \(i)") }
        return i
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let b = value.bool else { throw ModelError("\(source): key '\(key)' should be true or false") }
        return b
    }

    /// Keys of transformers' older BART-family configs (OPUS-MT snapshots converted before 2022
    /// carry them). transformers' Marian model ignores them all, so nmt does too when they hold
    /// the values that describe Marian's network; another value asks for a network neither
    /// transformers' Marian nor nmt computes, and is refused naming the key.
    func refuseUnsupportedArchitecture() throws {
        let marianValues: [(key: String, value: Bool)] = [
            ("normalize_before", false), ("normalize_embedding", false), ("add_final_layer_norm", false),
            ("static_position_embeddings", true), ("add_bias_logits", false),
        ]
        for (key, expected) in marianValues {
            if let value = try optionalBool(key), value != expected {
                throw ModelError("\(source): \(key) is \(value); a Marian model has \(expected) (transformers' MarianMTModel ignores the key, so this file describes a network it would not compute)")
            }
        }
    }

    func optionalFloat(_ key: String) throws -> Float? {
        guard let value = value(key) else { return nil }
        guard let number = value.double else { throw ModelError("\(source): key '\(key)' should be a number") }
        return Float(number)
    }
}
