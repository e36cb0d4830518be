/// The fields of SentencePiece's `ModelProto` (sentencepiece_model.proto, proto2) that encoding
/// and decoding read, with the proto's defaults for fields a file leaves out. Field numbers and
/// defaults are listed in docs/formats.md.
///
/// Parsing follows protobuf's rules, so a file means here what it means to SentencePiece: for a
/// singular field the last occurrence wins, a singular message field seen twice is merged, an
/// enum value the proto does not know leaves the field as it was, and unknown fields are skipped.
/// Strings are kept as bytes (proto2 does not require them to be UTF-8).
struct ModelProto {
    enum PieceType: Int32 {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    struct Piece {
        /// The piece's bytes, a slice of the serialized model (no copy per piece).
        var piece: ArraySlice<UInt8> = []
        var score: Float = 0
        var type: PieceType = .normal
    }

    enum ModelType: Int32 {
        case unigram = 1, bpe = 2, word = 3, character = 4
    }

    struct TrainerSpec {
        var modelType: ModelType = .unigram
        var vocabularySize: Int32 = 8000
        var treatWhitespaceAsSuffix = false
        var byteFallback = false
        /// What `<unk>` decodes to.
        var unknownSurface: [UInt8] = Array(" \u{2047} ".utf8)
    }

    struct NormalizerSpec {
        /// The rule set the model was trained with (`nmt_nfkc`, `identity`, `user_defined`, …).
        /// Only informative: SentencePiece normalizes with `precompiledCharsmap` alone.
        var name: [UInt8] = []
        var precompiledCharsmap: [UInt8] = []
        var addDummyPrefix = true
        var removeExtraWhitespaces = true
        var escapeWhitespaces = true
    }

    var pieces: [Piece] = []
    var trainerSpec: TrainerSpec?
    var normalizerSpec: NormalizerSpec?
    var denormalizerSpec: NormalizerSpec?
}

extension ModelProto {
    /// Parses a serialized `ModelProto`.
    init(serialized bytes: [UInt8]) throws {
        var reader = ProtobufReader(bytes)
        try reader.readFields { field, wireType, reader in
            guard wireType == .lengthDelimited, [1, 2, 3, 5].contains(field) else { return false }
            let message = ProtobufReader(bytes, range: try reader.readLengthDelimited())
            switch field {
            case 1:
                var piece = Piece()
                try piece.merge(message)
                pieces.append(piece)
            case 2:
                var spec = trainerSpec ?? TrainerSpec()
                try spec.merge(message)
                trainerSpec = spec
            case 3:
                var spec = normalizerSpec ?? NormalizerSpec()
                try spec.merge(message)
                normalizerSpec = spec
            default:
                var spec = denormalizerSpec ?? NormalizerSpec()
                try spec.merge(message)
                denormalizerSpec = spec
            }
            return true
        }
    }
}

extension ModelProto.Piece {
    mutating func merge(_ message: ProtobufReader) throws {
        var reader = message
        try reader.readFields { field, wireType, reader in
            switch (field, wireType) {
            case (1, .lengthDelimited): piece = reader.bytes[try reader.readLengthDelimited()]
            case (2, .fixed32): score = Float(bitPattern: try reader.readFixed32())
            case (3, .varint): type = ModelProto.PieceType(rawValue: Int32(truncatingIfNeeded: try reader.readVarint())) ?? type
            default: return false
            }
            return true
        }
    }
}

extension ModelProto.TrainerSpec {
    mutating func merge(_ message: ProtobufReader) throws {
        var reader = message
        try reader.readFields { field, wireType, reader in
            switch (field, wireType) {
            case (3, .varint):
                modelType = ModelProto.ModelType(rawValue: Int32(truncatingIfNeeded: try reader.readVarint())) ?? modelType
            case (4, .varint): vocabularySize = Int32(truncatingIfNeeded: try reader.readVarint())
            case (24, .varint): treatWhitespaceAsSuffix = try reader.readBool()
            case (35, .varint): byteFallback = try reader.readBool()
            case (44, .lengthDelimited): unknownSurface = try reader.readBytes()
            default: return false
            }
            return true
        }
    }
}

extension ModelProto.NormalizerSpec {
    mutating func merge(_ message: ProtobufReader) throws {
        var reader = message
        try reader.readFields { field, wireType, reader in
            switch (field, wireType) {
            case (1, .lengthDelimited): name = try reader.readBytes()
            case (2, .lengthDelimited): precompiledCharsmap = try reader.readBytes()
            case (3, .varint): addDummyPrefix = try reader.readBool()
            case (4, .varint): removeExtraWhitespaces = try reader.readBool()
            case (5, .varint): escapeWhitespaces = try reader.readBool()
            default: return false
            }
            return true
        }
    }
}
