import Foundation
import TextIO

/// What a Marian folder's tokenizer_config.json says (transformers' defaults when the file or a
/// key is missing): the special tokens, the added tokens, whether the vocabularies are separate.
/// A setting that would make transformers tokenize differently from what nmt does is refused.
struct MarianTokenizerConfiguration {
    /// The file, for messages.
    var source: String
    var separateVocabularies = false
    var sourceLanguage: String?
    var targetLanguage: String?
    var eosToken = "</s>"
    var unkToken = "<unk>"
    var padToken = "<pad>"
    var addedTokens: [MarianAddedTokens.Token] = []
    var cleansUpSpaces = false

    init(directory: URL) throws {
        let url = directory.appendingPathComponent("tokenizer_config.json")
        source = url.relativePath
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let json: JSON
        do {
            json = try JSON.parse([UInt8](TokenizerError.readFile(url)))
        } catch let error as JSONSyntaxError {
            throw TokenizerError(source: source, message: error.message)
        }
        guard case .object = json else { throw failure("expected an object, found \(json.kind)") }

        if let value = json["tokenizer_class"], !value.isNull {
            guard case .string(let name) = value, name == "MarianTokenizer" || name == "MarianTokenizerFast" else {
                throw failure("tokenizer_class is \(value.kind == "a string" ? describe(value) : value.kind); nmt reads MarianTokenizer folders")
            }
        }
        if let value = json["sp_model_kwargs"], !value.isNull {
            guard case .object(let members) = value, members.isEmpty else {
                throw failure("sp_model_kwargs \(describe(value)) is not supported (SentencePiece sampling would make encoding random)")
            }
        }
        if let value = json["split_special_tokens"], case .bool(true) = value {
            throw failure("split_special_tokens true is not supported")
        }
        separateVocabularies = try bool("separate_vocabs", in: json) ?? false
        cleansUpSpaces = try bool("clean_up_tokenization_spaces", in: json) ?? false
        sourceLanguage = try string("source_lang", in: json)
        targetLanguage = try string("target_lang", in: json)
        eosToken = try token("eos_token", in: json) ?? eosToken
        unkToken = try token("unk_token", in: json) ?? unkToken
        padToken = try token("pad_token", in: json) ?? padToken
        if let value = json["added_tokens_decoder"], !value.isNull {
            guard case .object(let members) = value else { throw failure("added_tokens_decoder is \(value.kind), not an object") }
            for (key, entry) in members {
                guard let id = Int(key), id >= 0 else { throw failure("added_tokens_decoder key \(JSON.quoted(key)) is not an id") }
                let field = "added_tokens_decoder[\(key)]"
                guard let content = try string("content", in: entry, field: field), !content.isEmpty else {
                    throw failure("\(field) has no content")
                }
                addedTokens.append(MarianAddedTokens.Token(
                    content: content, id: id, special: try bool("special", in: entry, field: field) ?? false,
                    leftStrip: try bool("lstrip", in: entry, field: field) ?? false,
                    rightStrip: try bool("rstrip", in: entry, field: field) ?? false,
                    singleWord: try bool("single_word", in: entry, field: field) ?? false))
            }
        }
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            if let value = json[key], !value.isNull {
                guard case .array(let items) = value, items.isEmpty else {
                    throw failure("\(key) is not supported (nmt knows the special tokens </s>, <unk>, <pad> and added_tokens_decoder)")
                }
            }
        }
    }

    private func failure(_ message: String) -> TokenizerError { TokenizerError(source: source, message: message) }

    private func describe(_ value: JSON) -> String {
        if case .string(let text) = value { return JSON.quoted(text) }
        return value.kind
    }

    private func bool(_ key: String, in object: JSON, field: String? = nil) throws -> Bool? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .bool(let flag) = value else { throw failure("\(field.map { $0 + "." } ?? "")\(key) is \(value.kind), not true or false") }
        return flag
    }

    private func string(_ key: String, in object: JSON, field: String? = nil) throws -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .string(let text) = value else { throw failure("\(field.map { $0 + "." } ?? "")\(key) is \(value.kind), not a string") }
        return text
    }

    /// A special token given as a string or as an object with `content` (an AddedToken).
    private func token(_ key: String, in object: JSON) throws -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        if case .object = value { return try string("content", in: value, field: key) }
        return try string(key, in: object)
    }
}
