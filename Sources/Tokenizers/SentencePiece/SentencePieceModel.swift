import Foundation
import TextIO

/// A SentencePiece model (`.spm`, `.model`): text ↔ pieces exactly as the `sentencepiece`
/// library encodes and decodes, for unigram and BPE models (docs/formats.md lists the fields read).
///
/// `encode` gives the ids of `SentencePieceProcessor.encode(text)`: normalization (the
/// precompiled character map, whitespace rules), segmentation (unigram Viterbi or BPE merges),
/// then adjacent unknown pieces merged into one — or, for a byte-fallback model, each unknown
/// piece spelled as its UTF-8 bytes `<0x..>`. `decode` is `SentencePieceProcessor.decode`.
///
/// Immutable, so one model can be shared by many threads.
public final class SentencePieceModel: Sendable {
    /// Where the model came from (a path, or `<memory>`), for error messages.
    public let source: String
    let pieces: [ArraySlice<UInt8>]
    let types: [ModelProto.PieceType]
    /// CONTROL, UNKNOWN and BYTE pieces, which SentencePiece keeps apart from the others.
    let reserved: ByteKeyTable<Int32>
    /// NORMAL, USER_DEFINED and UNUSED pieces.
    let trie: PieceTrie
    let normalizer: SentencePieceNormalizer
    let denormalizer: SentencePieceNormalizer?
    let segmenter: Segmenter
    /// The `<unk>` piece (the one piece of type UNKNOWN).
    public let unknownId: Int
    /// Whether unknown characters are spelled as byte pieces (`trainer_spec.byte_fallback`).
    public let byteFallback: Bool
    /// Byte → id of its `<0x..>` piece (empty without byte fallback).
    let byteIds: [Int32]
    /// What the `<unk>` piece decodes to (`trainer_spec.unk_surface`, " ⁇ " by default).
    let unknownSurface: [UInt8]
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let encodings = EncodingPool()

    enum Segmenter: Sendable {
        case unigram(UnigramSegmenter)
        case bpe(BPESegmenter)
    }

    /// Reads a model file; any problem is one line naming the file.
    public convenience init(contentsOf url: URL) throws {
        try self.init(serialized: [UInt8](TokenizerError.readFile(url)), source: url.relativePath)
    }

    /// Reads a serialized `ModelProto`; `source` names it in error messages.
    public init(serialized bytes: [UInt8], source: String = "<memory>") throws {
        self.source = source
        func failure(_ message: String) -> TokenizerError { TokenizerError(source: source, message: message) }
        let proto: ModelProto
        do {
            proto = try ModelProto(serialized: bytes)
        } catch let problem as ProtobufProblem {
            throw failure("not a SentencePiece model (\(problem.message) at byte \(problem.offset): truncated, or not protobuf)")
        }
        // SentencePiece itself would accept a file that lacks these, but its trainer always writes
        // them: without them the file is much more likely cut short than made that way.
        guard let trainerSpec = proto.trainerSpec else {
            throw failure("not a SentencePiece model (no trainer_spec, field 2: truncated, or another kind of protobuf)")
        }
        guard let normalizerSpec = proto.normalizerSpec else {
            throw failure("not a SentencePiece model (no normalizer_spec, field 3: truncated, or another kind of protobuf)")
        }
        let table = try PieceTable(proto: proto, byteFallback: trainerSpec.byteFallback, source: source)
        pieces = proto.pieces.map(\.piece)
        types = proto.pieces.map(\.type)
        reserved = table.reserved
        trie = table.trie
        unknownId = table.unknownId
        byteFallback = trainerSpec.byteFallback
        byteIds = table.byteIds
        unknownSurface = trainerSpec.unknownSurface
        addDummyPrefix = normalizerSpec.addDummyPrefix
        removeExtraWhitespaces = normalizerSpec.removeExtraWhitespaces
        do {
            normalizer = try SentencePieceNormalizer(spec: normalizerSpec, treatWhitespaceAsSuffix: trainerSpec.treatWhitespaceAsSuffix,
                                                     userDefined: table.userDefined)
            denormalizer = try proto.denormalizerSpec.flatMap { spec in
                spec.precompiledCharsmap.isEmpty ? nil
                    : try SentencePieceNormalizer(spec: spec, treatWhitespaceAsSuffix: false, userDefined: nil)
            }
        } catch let problem as CharsMapProblem {
            throw failure("the precompiled_charsmap of the normalizer \(problem.message)")
        }
        switch trainerSpec.modelType {
        case .unigram:
            guard table.hasSegmentingPieces else { throw failure("no pieces to segment with (only control, unknown and byte pieces)") }
            segmenter = .unigram(UnigramSegmenter(pieces: proto.pieces, unknownId: table.unknownId))
        case .bpe:
            let (reserved, trie, unknownId) = (table.reserved, table.trie, table.unknownId)
            segmenter = .bpe(BPESegmenter(pieces: table.trie, userDefined: table.userDefined, scores: proto.pieces.map(\.score),
                                          types: types, pieceToId: { Self.pieceToId($0, reserved: reserved, trie: trie, unknownId: unknownId) },
                                          reservedCanMatch: table.reservedCanMatch, unknownId: unknownId))
        case .word, .character:
            throw failure("model_type \(trainerSpec.modelType == .word ? "WORD" : "CHAR") is not supported (nmt reads unigram and BPE models)")
        }
    }

    // MARK: Pieces

    /// The number of pieces (ids 0 ..< pieceCount).
    public var pieceCount: Int { pieces.count }

    /// The bytes of piece `id`'s text (nil for an id out of range).
    public func pieceBytes(for id: Int) -> ArraySlice<UInt8>? {
        pieces.indices.contains(id) ? pieces[id] : nil
    }

    /// The text of piece `id` (`"▁stud"`, `"<0xC3>"`, `"<unk>"`), or nil for an id out of range.
    public func piece(for id: Int) -> String? {
        pieceBytes(for: id).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The id of a piece as SentencePiece's PieceToId gives it: `unknownId` for text that is no piece.
    public func id(forPiece bytes: ArraySlice<UInt8>) -> Int {
        bytes.withUnsafeBufferPointer { Self.pieceToId($0, reserved: reserved, trie: trie, unknownId: unknownId) }
    }

    /// Whether `id` is a CONTROL piece (`<s>`, `</s>`): never produced by encoding, invisible in decoding.
    public func isControl(_ id: Int) -> Bool { types.indices.contains(id) && types[id] == .control }
    /// Whether `id` is the UNKNOWN piece (`<unk>`).
    public func isUnknown(_ id: Int) -> Bool { types.indices.contains(id) && types[id] == .unknown }
    /// Whether `id` is a BYTE piece (`<0x00>` … `<0xFF>`, byte-fallback models).
    public func isByte(_ id: Int) -> Bool { types.indices.contains(id) && types[id] == .byte }

    static func pieceToId(_ bytes: UnsafeBufferPointer<UInt8>, reserved: ByteKeyTable<Int32>, trie: PieceTrie, unknownId: Int) -> Int {
        if let id = reserved.value(for: bytes) { return Int(id) }
        return trie.value(of: bytes) ?? unknownId
    }
}

/// The pieces of a model sorted into SentencePiece's two tables, checked as SentencePiece checks
/// them when it loads a model (model_interface.cc, InitializePieces).
private struct PieceTable {
    var reserved: ByteKeyTable<Int32>
    var trie: PieceTrie
    var userDefined: PieceTrie?
    var unknownId: Int
    var byteIds: [Int32] = []
    var hasSegmentingPieces: Bool
    /// Whether a reserved piece is one character long or has a segmenting piece's text.
    var reservedCanMatch = false

    init(proto: ModelProto, byteFallback: Bool, source: String) throws {
        func failure(_ message: String) -> TokenizerError { TokenizerError(source: source, message: message) }
        func quoted(_ bytes: ArraySlice<UInt8>) -> String { JSON.quoted(String(decoding: bytes, as: UTF8.self)) }
        guard proto.pieces.count < PieceTrie.valueLimit else {
            throw failure("\(proto.pieces.count) pieces, more than nmt supports (\(PieceTrie.valueLimit - 1))")
        }
        var reserved = ByteKeyTable<Int32>()
        var segmenting: [(key: ArraySlice<UInt8>, value: Int)] = []
        var userDefinedPieces: [(key: ArraySlice<UInt8>, value: Int)] = []
        var unknownId: Int? = nil
        var byteIds = [Int32](repeating: -1, count: 256)
        for (id, piece) in proto.pieces.enumerated() {
            let text = piece.piece
            guard !text.isEmpty else { throw failure("piece \(id) is empty") }
            if piece.type == .normal || piece.type == .userDefined || piece.type == .unused {
                // SentencePiece's tries take C strings: a NUL would silently cut the piece short.
                guard !text.contains(0) else { throw failure("piece \(id) \(quoted(text)) contains a NUL byte") }
                segmenting.append((text, id))
            } else {
                let (index, inserted) = text.withUnsafeBufferPointer { reserved.insert($0, Int32(id)) }
                guard inserted else { throw failure("piece \(id) \(quoted(text)) is already piece \(reserved.values[index])") }
            }
            switch piece.type {
            case .userDefined: userDefinedPieces.append((text, 0))
            case .unknown:
                if let unknownId { throw failure("pieces \(unknownId) and \(id) are both of type UNKNOWN") }
                unknownId = id
            case .byte:
                guard byteFallback else {
                    throw failure("byte piece \(id) \(quoted(text)) although trainer_spec.byte_fallback is false")
                }
                guard let byte = PieceBytes.byte(ofPiece: text) else { throw failure("byte piece \(id) \(quoted(text)) is not <0x00> … <0xFF>") }
                byteIds[Int(byte)] = Int32(id)
            default: break
            }
        }
        // A piece defined twice: equal keys are neighbours once sorted, the first definition first.
        segmenting.sort { $0.key == $1.key ? $0.value < $1.value : $0.key.lexicographicallyPrecedes($1.key) }
        for (first, second) in zip(segmenting, segmenting.dropFirst()) where first.key == second.key {
            throw failure("piece \(second.value) \(quoted(second.key)) is already piece \(first.value)")
        }
        guard let unknownId else { throw failure("no piece of type UNKNOWN (the <unk> piece)") }
        if byteFallback {
            if let missing = byteIds.firstIndex(of: -1) {
                throw failure("trainer_spec.byte_fallback is true but there is no byte piece \(PieceBytes.piece(of: UInt8(missing)))")
            }
            self.byteIds = byteIds
        }
        self.unknownId = unknownId
        self.reserved = reserved
        hasSegmentingPieces = !segmenting.isEmpty
        for index in 0..<reserved.count {
            let text = Array(reserved.key(at: index))
            let isOneCharacter = SentencePieceUTF8.characterLength(lead: text[0]) >= text.count
            if isOneCharacter || segmenting.contains(where: { $0.key.elementsEqual(text) }) { reservedCanMatch = true }
        }
        trie = PieceTrie(segmenting)
        for index in 0..<reserved.count {
            let text = Array(reserved.key(at: index))
            let isOneCharacter = SentencePieceUTF8.characterLength(lead: text[0]) >= text.count
            if isOneCharacter || text.withUnsafeBufferPointer({ trie.value(of: $0) }) != nil { reservedCanMatch = true }
        }
        userDefined = userDefinedPieces.isEmpty ? nil : PieceTrie(userDefinedPieces)
    }
}
