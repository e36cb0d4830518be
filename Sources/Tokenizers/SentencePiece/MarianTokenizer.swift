import Foundation
import TextIO

/// The tokenizer of a Hugging Face Marian folder (an OPUS-MT snapshot): `source.spm` and
/// `target.spm` with `vocab.json` (and `target_vocab.json` when the vocabularies are separate),
/// giving exactly the ids and texts of transformers' `MarianTokenizer` (docs/formats.md):
///
/// - encoding: added tokens (`</s>`, `<unk>`, `<pad>`, …) written in the text are cut out and kept
///   as themselves; each remaining run loses a leading language token `>>xx<<`, kept as one
///   token; the rest goes through the SentencePiece model; every piece maps through the
///   vocabulary (`<unk>` when it is not there); `</s>` ends the sequence.
/// - decoding: ids map back through the target vocabulary, special tokens are dropped, and the
///   pieces between them are decoded by SentencePiece; "▁" becomes a space and the ends are
///   stripped. As in transformers 5, a shared vocabulary decodes with `source.spm` and separate
///   vocabularies with `target.spm` (the two only differ on pieces one model lacks).
///
/// Immutable: one tokenizer can serve many threads.
public final class MarianTokenizer: Sendable {
    /// The folder it was read from, for messages.
    public let source: String
    public let sourceModel: SentencePieceModel
    public let targetModel: SentencePieceModel
    let sourceVocabulary: MarianVocabulary
    /// The source vocabulary again when they are shared.
    let targetVocabulary: MarianVocabulary
    let addedTokens: MarianAddedTokens
    /// SentencePiece id → vocabulary id, for each side (added tokens first, as transformers looks up).
    let sourceIds: [Int32]
    let targetIds: [Int32]
    let specialIds: Set<Int>
    let cleansUpSpaces: Bool

    /// Whether the folder has `target_vocab.json` for the target side (`separate_vocabs`).
    public let separateVocabularies: Bool
    /// `source_lang` and `target_lang` of tokenizer_config.json, when given.
    public let sourceLanguage: String?
    public let targetLanguage: String?
    /// `</s>`: ends every source and target sequence.
    public let eosId: Int
    /// `<pad>`: pads batches and starts decoding.
    public let padId: Int
    /// `<unk>`: what a piece outside the vocabulary becomes.
    public let unkId: Int

    /// Reads the tokenizer files of a Marian folder; any problem is one line naming the file.
    public init(directory: URL) throws {
        source = directory.relativePath
        let configuration = try MarianTokenizerConfiguration(directory: directory)
        separateVocabularies = configuration.separateVocabularies
        sourceLanguage = configuration.sourceLanguage
        targetLanguage = configuration.targetLanguage
        cleansUpSpaces = configuration.cleansUpSpaces
        sourceModel = try SentencePieceModel(contentsOf: directory.appendingPathComponent("source.spm"))
        targetModel = try SentencePieceModel(contentsOf: directory.appendingPathComponent("target.spm"))
        sourceVocabulary = try MarianVocabulary(contentsOf: directory.appendingPathComponent("vocab.json"))
        targetVocabulary = separateVocabularies
            ? try MarianVocabulary(contentsOf: directory.appendingPathComponent("target_vocab.json")) : sourceVocabulary

        // The named special tokens must be in both vocabularies, with one id: the model's
        // config has one eos, pad and decoder-start id for both sides.
        var special: [Int] = []
        for (content, role) in [(configuration.eosToken, "end of sentence"), (configuration.unkToken, "unknown"), (configuration.padToken, "padding")] {
            var ids: [Int] = []
            for vocabulary in separateVocabularies ? [sourceVocabulary, targetVocabulary] : [sourceVocabulary] {
                guard let id = vocabulary.id(of: content.utf8) else {
                    throw TokenizerError(source: vocabulary.source,
                                         message: "no \(JSON.quoted(content)) (\(role)); a Marian vocabulary has </s>, <unk> and <pad>")
                }
                ids.append(id)
            }
            if ids.count == 2, ids[0] != ids[1] {
                throw TokenizerError(source: targetVocabulary.source,
                                     message: "\(JSON.quoted(content)) is \(ids[1]) here but \(ids[0]) in \(sourceVocabulary.source); both sides need one id")
            }
            if let listed = configuration.addedTokens.last(where: { $0.content == content }), listed.id != ids[0] {
                throw TokenizerError(source: configuration.source,
                                     message: "added token \(JSON.quoted(content)) has id \(listed.id) but \(sourceVocabulary.source) gives it \(ids[0])")
            }
            special.append(ids[0])
        }
        (eosId, unkId, padId) = (special[0], special[1], special[2])

        // transformers adds the named special tokens to those tokenizer_config.json lists.
        var tokens = configuration.addedTokens
        for (content, id) in zip([configuration.eosToken, configuration.unkToken, configuration.padToken], special)
        where !tokens.contains(where: { $0.content == content }) {
            tokens.append(MarianAddedTokens.Token(content: content, id: id, special: true))
        }
        addedTokens = MarianAddedTokens(tokens: tokens)
        specialIds = Set(special + tokens.filter(\.special).map(\.id))

        func vocabularyIds(_ model: SentencePieceModel, _ vocabulary: MarianVocabulary, unknown: Int, added: MarianAddedTokens) -> [Int32] {
            (0..<model.pieceCount).map { id in
                let piece = model.pieceBytes(for: id)!
                let text = String(decoding: piece, as: UTF8.self)
                return Int32(added.token(content: text[...])?.id ?? piece.withUnsafeBufferPointer { vocabulary.id(of: $0) } ?? unknown)
            }
        }
        sourceIds = vocabularyIds(sourceModel, sourceVocabulary, unknown: unkId, added: addedTokens)
        targetIds = vocabularyIds(targetModel, targetVocabulary, unknown: unkId, added: addedTokens)
    }

    // MARK: Vocabulary

    /// One more than the largest id of vocab.json: the source embedding rows it needs.
    public var sourceVocabularySize: Int { sourceVocabulary.size }
    /// The same for the target vocabulary (vocab.json again when they are shared).
    public var targetVocabularySize: Int { targetVocabulary.size }

    /// The source vocabulary's piece for `id` (`"▁stud"`, `"</s>"`, `">>fra<<"`), or nil.
    public func sourcePiece(for id: Int) -> String? {
        sourceVocabulary.piece(for: id).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The target vocabulary's piece for `id`, or nil.
    public func targetPiece(for id: Int) -> String? {
        targetVocabulary.piece(for: id).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `decode` drops `id` (`</s>`, `<unk>`, `<pad>` and other special added tokens).
    public func isSpecial(_ id: Int) -> Bool { specialIds.contains(id) }

    // MARK: Encoding

    /// The ids of a source sentence, `</s>` appended: `MarianTokenizer(text).input_ids`.
    public func encodeSource(_ text: String) -> [Int] {
        var ids: [Int] = []
        encode(text, target: false) { id, _ in ids.append(id) }
        return ids + [eosId]
    }

    /// The ids of a target sentence (a training label), `</s>` appended:
    /// `MarianTokenizer(text_target=text).input_ids`.
    public func encodeTarget(_ text: String) -> [Int] {
        var ids: [Int] = []
        encode(text, target: true) { id, _ in ids.append(id) }
        return ids + [eosId]
    }

    /// The tokens of a source sentence (no `</s>`): each id with the text transformers' `tokenize`
    /// gives for it (a piece, an added token, a language token, or the text of unknown pieces).
    public func sourceTokens(_ text: String) -> [(id: Int, piece: String)] {
        var tokens: [(id: Int, piece: String)] = []
        encode(text, target: false) { id, piece in tokens.append((id, String(decoding: piece, as: UTF8.self))) }
        return tokens
    }

    /// Calls `body` with each token's id and text.
    private func encode(_ text: String, target: Bool, _ body: (Int, ArraySlice<UInt8>) -> Void) {
        let model = target ? targetModel : sourceModel
        let vocabulary = target ? targetVocabulary : sourceVocabulary
        let spmToVocabulary = target ? targetIds : sourceIds
        func lookUp(_ piece: Substring) -> Int {
            addedTokens.token(content: piece)?.id ?? vocabulary.id(of: piece.utf8) ?? unkId
        }
        model.encodings.withEncoding { encoding in
            for run in addedTokens.split(text) where !run.isEmpty {
                if let token = addedTokens.token(content: run) {
                    body(token.id, Array(run.utf8)[...])
                    continue
                }
                var rest = run
                if rest.hasPrefix(">>"), let end = rest.utf8.firstRange(of: "<<".utf8) {
                    body(lookUp(rest[..<end.upperBound]), Array(rest[..<end.upperBound].utf8)[...])
                    rest = rest[end.upperBound...]
                }
                var pieceText = String(rest)
                pieceText.withUTF8 { model.encode($0, into: &encoding) }
                for token in encoding.tokens {
                    let bytes = model.tokenBytes(token, in: encoding)
                    if model.isUnknown(Int(token.id)) {
                        body(lookUp(String(decoding: bytes, as: UTF8.self)[...]), bytes)
                    } else {
                        body(Int(spmToVocabulary[Int(token.id)]), bytes)
                    }
                }
            }
        }
    }

    // MARK: Decoding

    /// The text of target ids: `MarianTokenizer.decode(ids, skip_special_tokens:)`. Ids that
    /// neither the vocabulary nor the SentencePiece model has are skipped (transformers fails).
    public func decodeTarget(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        decode(ids, vocabulary: targetVocabulary, model: separateVocabularies ? targetModel : sourceModel,
               skipSpecialTokens: skipSpecialTokens)
    }

    /// The text of source ids, by the same rules through the source vocabulary and `source.spm`
    /// (for showing source tokens as words; transformers has no such call).
    public func decodeSource(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        decode(ids, vocabulary: sourceVocabulary, model: sourceModel, skipSpecialTokens: skipSpecialTokens)
    }

    private func decode(_ ids: [Int], vocabulary: MarianVocabulary, model: SentencePieceModel, skipSpecialTokens: Bool) -> String {
        var text: [UInt8] = []
        var run: [ArraySlice<UInt8>] = []
        for id in ids where !(skipSpecialTokens && specialIds.contains(id)) {
            let token: ArraySlice<UInt8>
            if let added = addedTokens.token(id: id) {
                token = Array(added.content.utf8)[...]
            } else if let piece = vocabulary.piece(for: id) {
                token = piece[...]
            } else if let piece = model.pieceBytes(for: id) {
                token = piece
            } else {
                continue
            }
            if isSpecialContent(token) {
                text += model.decode(pieceBytes: run) + token + [0x20]
                run.removeAll()
            } else {
                run.append(token)
            }
        }
        text += model.decode(pieceBytes: run)
        let decoded = String(decoding: text, as: UTF8.self).replacingAll("\u{2581}", with: " ")
        let stripped = String(PythonString.stripped(decoded[...]))
        return cleansUpSpaces ? Self.cleanUpTokenization(stripped) : stripped
    }

    private func isSpecialContent(_ token: ArraySlice<UInt8>) -> Bool {
        addedTokens.tokens.contains { specialIds.contains($0.id) && $0.content.utf8.elementsEqual(token) }
    }

    /// transformers' `clean_up_tokenization`, for folders that ask for it.
    static func cleanUpTokenization(_ text: String) -> String {
        [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"),
         (" 've", "'ve"), (" 're", "'re")].reduce(text) { $0.replacingAll($1.0, with: $1.1) }
    }
}
