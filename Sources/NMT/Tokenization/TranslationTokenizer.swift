import Foundation
import TextIO
import Tokenizers

/// Text ↔ ids on both sides of a translation model: what the translator, inspection, evaluation
/// and training need from a tokenizer. nmt's own BPE `Tokenizer` (one vocabulary for both sides)
/// and an OPUS-MT folder's `MarianTokenizer` (SentencePiece models, maybe separate vocabularies)
/// both conform.
public protocol TranslationTokenizer: AnyObject, Sendable {
    /// The file or folder it was read from, for messages.
    var source: String { get }
    /// `</s>`, ending every source and target sequence (one id on both sides).
    var eosId: Int { get }
    /// `<pad>`, padding batches and starting the decoder (one id on both sides).
    var padId: Int { get }
    /// `<unk>`, the id of a piece the vocabulary lacks (one id on both sides).
    var unkId: Int { get }
    /// The rows the encoder's embedding needs: config.json's `vocab_size`.
    var sourceVocabularySize: Int { get }
    /// The rows of the decoder's embedding and output: `decoder_vocab_size`.
    var targetVocabularySize: Int { get }

    /// The model's input ids for a source sentence, `</s>` appended.
    func encodeSource(_ text: String) -> [Int]
    /// The ids of a target sentence (training labels, forced outputs), `</s>` appended.
    func encodeTarget(_ text: String) -> [Int]
    /// A source sentence's tokens (no `</s>`): each id with its piece.
    func sourceTokens(_ text: String) -> [(id: Int, piece: String)]
    /// The text of source ids (inspection spells source words with it).
    func decodeSource(_ ids: [Int], skipSpecialTokens: Bool) -> String
    /// The text of target ids: a translation.
    func decodeTarget(_ ids: [Int], skipSpecialTokens: Bool) -> String
    /// The source vocabulary's piece for `id`, or nil.
    func sourcePiece(for id: Int) -> String?
    /// The target vocabulary's piece for `id`, or nil.
    func targetPiece(for id: Int) -> String?
}

/// nmt's BPE tokenizer: one vocabulary and one set of rules for both sides.
extension Tokenizer: TranslationTokenizer {
    public var sourceVocabularySize: Int { vocabularySize }
    public var targetVocabularySize: Int { vocabularySize }
    public func encodeSource(_ text: String) -> [Int] { encode(text) + [eosId] }
    public func encodeTarget(_ text: String) -> [Int] { encode(text) + [eosId] }
    public func sourceTokens(_ text: String) -> [(id: Int, piece: String)] {
        let (ids, pieces) = encodeWithPieces(text)
        return Array(zip(ids, pieces)).map { (id: $0.0, piece: $0.1) }
    }
    public func decodeSource(_ ids: [Int], skipSpecialTokens: Bool) -> String { decode(ids, skipSpecialTokens: skipSpecialTokens) }
    public func decodeTarget(_ ids: [Int], skipSpecialTokens: Bool) -> String { decode(ids, skipSpecialTokens: skipSpecialTokens) }
    public func sourcePiece(for id: Int) -> String? { piece(for: id) }
    public func targetPiece(for id: Int) -> String? { piece(for: id) }
}

/// An OPUS-MT folder's tokenizer: transformers' `MarianTokenizer`.
extension MarianTokenizer: TranslationTokenizer {}

extension ModelDirectory {
    /// The SentencePiece files of an OPUS-MT folder, which has no tokenizer.json.
    public static let marianTokenizerFiles = ["source.spm", "target.spm", "vocab.json"]

    /// The tokenizer of a model directory: tokenizer.json when it has one (nmt's own models), else
    /// the Marian files (source.spm, target.spm, vocab.json, and target_vocab.json and
    /// tokenizer_config.json when present). A problem is one line naming the file.
    public static func loadTokenizer(from directory: URL) throws -> any TranslationTokenizer {
        let tokenizerURL = directory.appendingPathComponent(tokenizerFile)
        let exists = { (name: String) in FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) }
        do {
            if exists(tokenizerFile) { return try Tokenizer(contentsOf: tokenizerURL) }
            if exists("source.spm") || exists("vocab.json") {
                for name in marianTokenizerFiles where !exists(name) {
                    throw ModelError("\(directory.appendingPathComponent(name).path): missing from the model directory (an OPUS-MT folder has \(marianTokenizerFiles.joined(separator: ", ")))")
                }
                return try MarianTokenizer(directory: directory)
            }
        } catch let error as TokenizerError {
            throw ModelError(error.description)
        }
        throw ModelError("\(tokenizerURL.path): missing from the model directory (nor is there an OPUS-MT folder's source.spm and vocab.json)")
    }

    /// Every tokenizer file an OPUS-MT folder may hold, the optional ones included.
    public static let allMarianTokenizerFiles = marianTokenizerFiles + ["target_vocab.json", "tokenizer_config.json", "special_tokens_map.json"]

    /// Copies the OPUS-MT tokenizer files `source` has into `destination`, byte for byte, each
    /// under a temporary name first (`export` and fine-tuning keep the tokenizer this way).
    public static func copyMarianTokenizerFiles(from source: URL, to destination: URL) throws {
        guard hasMarianTokenizer(source) else { return }
        try TokenizerFiles(directory: source).write(to: destination)
    }

    /// Whether `directory` holds an OPUS-MT folder's tokenizer rather than tokenizer.json.
    public static func hasMarianTokenizer(_ directory: URL) -> Bool {
        !FileManager.default.fileExists(atPath: directory.appendingPathComponent(tokenizerFile).path)
            && FileManager.default.fileExists(atPath: directory.appendingPathComponent("source.spm").path)
    }
}
