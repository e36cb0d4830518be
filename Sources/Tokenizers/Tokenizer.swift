import Foundation
import TextIO

/// Text ↔ ids with a Hugging Face tokenizer.json (the subset of docs/formats.md): added tokens
/// matched in the raw text, NFKC, Metaspace "▁" pre-tokens, BPE merges by rank and byte fallback.
/// `encode` gives exactly the ids of tokenizers' `encode(text).ids`, `decode` its `decode(ids)`,
/// down to normalizing with the Unicode 9.0 tables that tokenizers has.
///
/// One tokenizer can be shared by many threads: it is immutable but for a cache of per-word
/// results behind a lock.
public final class Tokenizer: Sendable {
    let splitter: TextSplitter
    let model: BPEModel
    /// The decoder steps, or nil for none (tokens joined with spaces, as tokenizers does then).
    let decoder: [DecoderStep]?
    /// Where the tokenizer came from (a path, or `<memory>`), for error messages.
    public let source: String

    /// id → piece, added tokens included (nil for an id nothing has).
    private let pieces: [String?]
    /// By id: whether `decode` skips it when asked to skip special tokens.
    private let isSpecial: [Bool]
    private let cache = WordCache()

    /// `</s>`: ends every source and target sequence.
    public let eosId: Int
    /// `<pad>`: pads batches and starts decoding (Marian's convention; the last id in our files).
    public let padId: Int
    /// The model's unknown token (`<unk>`), used only where byte fallback cannot help.
    public let unkId: Int

    /// Assembles a tokenizer. Added tokens take precedence over the model's pieces for their ids,
    /// as in tokenizers.
    init(splitter: TextSplitter, model: BPEModel, decoder: [DecoderStep]?, source: String) throws {
        self.splitter = splitter
        self.model = model
        self.decoder = decoder
        self.source = source

        var pieces: [String?] = []
        func set(_ id: Int32, _ piece: String) {
            let id = Int(id)
            if id >= pieces.count { pieces += [String?](repeating: nil, count: id + 1 - pieces.count) }
            pieces[id] = piece
        }
        for (index, id) in model.vocabulary.values.enumerated() {
            set(id, String(decoding: model.vocabulary.key(at: index), as: UTF8.self))
        }
        for token in splitter.addedTokens { set(token.id, token.content) }
        var isSpecial = [Bool](repeating: false, count: pieces.count)
        for token in splitter.addedTokens where token.special { isSpecial[Int(token.id)] = true }
        self.pieces = pieces
        self.isSpecial = isSpecial

        func required(_ piece: String, _ role: String) throws -> Int {
            guard let id = Self.id(of: piece, splitter: splitter, model: model) else {
                throw TokenizerError(source: source, message: "no \(JSON.quoted(piece)) token (\(role)); nmt needs </s>, <unk> and <pad>")
            }
            return id
        }
        eosId = try required("</s>", "end of sentence")
        padId = try required("<pad>", "padding")
        unkId = try model.unknownId.map(Int.init) ?? required("<unk>", "unknown")
    }

    /// Added tokens first, then the model's vocabulary, as tokenizers looks pieces up.
    private static func id(of piece: String, splitter: TextSplitter, model: BPEModel) -> Int? {
        if let token = splitter.addedTokens.first(where: { $0.content.utf8.elementsEqual(piece.utf8) }) {
            return Int(token.id)
        }
        return model.vocabulary.value(forKey: piece.utf8).map(Int.init)
    }

    /// Every id: the model's pieces and the added tokens (the largest id + 1).
    public var vocabularySize: Int { pieces.count }

    /// The piece of `id` (`"▁stud"`, `"<0xC3>"`, `"</s>"`), or nil for an id out of range.
    public func piece(for id: Int) -> String? {
        pieces.indices.contains(id) ? pieces[id] : nil
    }

    /// The id of `piece` (compared byte for byte), or nil when it is not in the vocabulary.
    public func id(for piece: String) -> Int? {
        Self.id(of: piece, splitter: splitter, model: model)
    }

    // MARK: Encoding

    /// The ids of `text`, exactly as tokenizers' `encode(text).ids` (no `</s>` added).
    public func encode(_ text: String) -> [Int] {
        var split = TextSplitter.Output(capacity: text.utf8.count)
        splitter.split(text, into: &split)
        var ids: [Int] = []
        ids.reserveCapacity(split.items.count * 2)
        cache.resolve(split, model: model) { ids.append(Int($0)) }
        return ids
    }

    /// The ids of `text` and their pieces.
    public func encodeWithPieces(_ text: String) -> (ids: [Int], pieces: [String]) {
        let ids = encode(text)
        return (ids, ids.map { pieces[$0] ?? "" })
    }

    // MARK: Decoding

    /// The text of `ids`, as tokenizers' `decode(ids, skip_special_tokens:)`: byte tokens
    /// reassembled into UTF-8, "▁" back to spaces, the leading space stripped. Ids out of range
    /// are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids where pieces.indices.contains(id) {
            guard let piece = pieces[id], !(skipSpecialTokens && isSpecial[id]) else { continue }
            tokens.append(piece)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.reduce(tokens) { $1.apply($0) }.joined()
    }
}

/// Per-word results of the BPE model, shared by every thread that encodes with one tokenizer.
///
/// Most words of a corpus repeat, so after a warm-up nearly every word is one hash lookup. The
/// state sits in one struct reached through one `inout` access, so the hot loop pays no dynamic
/// exclusivity checks.
private final class WordCache: @unchecked Sendable {
    /// Words kept at most (about 60 bytes each); later new words are computed each time.
    static let capacity = 500_000

    private struct Contents {
        /// Word → `start << 32 | count` in `ids`.
        var words = ByteKeyTable<UInt64>(capacity: 4096)
        var ids: [Int32] = []
        var scratch: [Int32] = []
    }

    private let lock = NSLock()
    private var contents = Contents()

    func resolve(_ split: TextSplitter.Output, model: BPEModel, _ body: (Int32) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        Self.resolve(split, model: model, &contents, body)
    }

    private static func resolve(_ split: TextSplitter.Output, model: BPEModel, _ contents: inout Contents, _ body: (Int32) -> Void) {
        split.forEach(word: { word in
            if let entry = contents.words.value(for: word) {
                let start = Int(entry >> 32)
                contents.ids.withUnsafeBufferPointer { ids in
                    for k in start..<start + Int(entry & 0xFFFF_FFFF) { body(ids[k]) }
                }
                return
            }
            contents.scratch.removeAll(keepingCapacity: true)
            model.encodeWord(word, into: &contents.scratch)
            if contents.words.count < capacity {
                contents.words.insert(word, UInt64(contents.ids.count) << 32 | UInt64(contents.scratch.count))
                contents.ids.append(contentsOf: contents.scratch)
            }
            contents.scratch.forEach(body)
        }, addedToken: body)
    }
}
