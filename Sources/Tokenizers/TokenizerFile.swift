import Foundation
import TextIO

// Reading and writing tokenizer.json: the subset of Hugging Face tokenizers in docs/formats.md.
// Anything outside it is an error that names the component, rather than ids that silently differ
// from what tokenizers would give.

extension Tokenizer {
    /// Reads a tokenizer.json file.
    public convenience init(contentsOf url: URL) throws {
        try self.init(jsonData: TokenizerError.readFile(url), source: url.relativePath)
    }

    /// Reads tokenizer.json text; `source` names it in errors.
    public convenience init(jsonData: Data, source: String = "<memory>") throws {
        let json: JSON
        do {
            json = try JSON.parse([UInt8](jsonData))
        } catch let error as JSONSyntaxError {
            throw TokenizerError(source: source, message: error.message)
        }
        let reader = FileReader(source: source)
        guard case .object = json else { throw reader.fail("expected a JSON object at the top") }
        for key in ["truncation", "padding"] where !(json[key]?.isNull ?? true) {
            throw reader.fail("\(key) is not supported (it must be null)")
        }
        if let processor = json["post_processor"], !processor.isNull {
            let type = (try? reader.type(of: processor, "post_processor")) ?? "?"
            throw reader.fail("unsupported post_processor \(JSON.quoted(type)) (it must be null: nmt appends </s> itself)")
        }
        guard let modelJSON = json["model"] else { throw reader.fail("no model") }
        let addedTokens = try reader.addedTokens(json["added_tokens"])
        let model = try reader.model(modelJSON)
        try reader.check(addedTokens, agreeWith: model)
        let splitter = TextSplitter(
            addedTokens: addedTokens,
            normalizer: Normalizer(steps: try reader.normalizerSteps(json["normalizer"], "normalizer")),
            metaspace: try reader.metaspace(json["pre_tokenizer"])
        )
        try self.init(
            splitter: splitter,
            model: model,
            decoder: try reader.decoder(json["decoder"]),
            source: source
        )
    }

    /// The tokenizer as tokenizer.json text that Hugging Face tokenizers loads as it is.
    /// The same tokenizer always gives the same bytes.
    public func jsonData() throws -> Data {
        Data((JSON.object(fileMembers).pretty + "\n").utf8)
    }

    /// Writes `jsonData()` to `url` through a temporary file renamed into place, so a reader
    /// never sees half a file.
    public func write(to url: URL) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            try jsonData().write(to: temporary)
        } catch {
            throw TokenizerError(source: url.relativePath, message: "cannot write the file (\(FileError.reason(for: error)))")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw TokenizerError(source: url.relativePath, message: "cannot write the file (\(reason))")
        }
    }

    private var fileMembers: [(key: String, value: JSON)] {
        let addedTokens = splitter.addedTokens.map { token -> JSON in
            .object([
                ("id", .number(Int(token.id))),
                ("content", .string(token.content)),
                ("single_word", .bool(false)),
                ("lstrip", .bool(false)),
                ("rstrip", .bool(false)),
                ("normalized", .bool(false)),
                ("special", .bool(token.special)),
            ])
        }
        let normalizers = splitter.normalizer.steps.map { JSON.object([("type", .string($0.rawValue))]) }
        let normalizer: JSON
        switch normalizers.count {
        case 0: normalizer = .null
        case 1: normalizer = normalizers[0]
        default: normalizer = .object([("type", .string("Sequence")), ("normalizers", .array(normalizers))])
        }
        let metaspace = splitter.metaspace
        return [
            ("version", .string("1.0")),
            ("truncation", .null),
            ("padding", .null),
            ("added_tokens", .array(addedTokens)),
            ("normalizer", normalizer),
            ("pre_tokenizer", .object([
                ("type", .string("Metaspace")),
                ("replacement", .string(String(metaspace.replacement))),
                ("prepend_scheme", .string(metaspace.prependScheme.rawValue)),
                ("split", .bool(metaspace.split)),
            ])),
            ("post_processor", .null),
            ("decoder", decoderJSON),
            ("model", modelJSON),
        ]
    }

    private var decoderJSON: JSON {
        guard let decoder else { return .null }
        let steps = decoder.map { step -> JSON in
            switch step {
            case .replace(let pattern, let content):
                return .object([("type", .string("Replace")), ("pattern", .object([("String", .string(pattern))])),
                                ("content", .string(content))])
            case .byteFallback:
                return .object([("type", .string("ByteFallback"))])
            case .fuse:
                return .object([("type", .string("Fuse"))])
            case .strip(let content, let start, let stop):
                return .object([("type", .string("Strip")), ("content", .string(String(content))),
                                ("start", .number(start)), ("stop", .number(stop))])
            case .metaspace(let replacement, let prependScheme):
                return .object([("type", .string("Metaspace")), ("replacement", .string(String(replacement))),
                                ("prepend_scheme", .string(prependScheme.rawValue)), ("split", .bool(true))])
            }
        }
        return steps.count == 1 ? steps[0] : .object([("type", .string("Sequence")), ("decoders", .array(steps))])
    }

    private var modelJSON: JSON {
        let vocabulary = model.vocabulary
        let byId = vocabulary.values.indices.sorted { vocabulary.values[$0] < vocabulary.values[$1] }
        let vocab = byId.map { index -> (key: String, value: JSON) in
            (String(decoding: vocabulary.key(at: index), as: UTF8.self), .number(Int(vocabulary.values[index])))
        }
        let merges = model.merges.map { pair -> JSON in
            .array([.string(piece(for: Int(pair.left)) ?? ""), .string(piece(for: Int(pair.right)) ?? "")])
        }
        return .object([
            ("type", .string("BPE")),
            ("dropout", .null),
            ("unk_token", model.unknownToken.map(JSON.string) ?? .null),
            ("continuing_subword_prefix", .null),
            ("end_of_word_suffix", .null),
            ("fuse_unk", .bool(model.fuseUnknown)),
            ("byte_fallback", .bool(model.byteFallback)),
            ("ignore_merges", .bool(model.ignoreMerges)),
            ("vocab", .object(vocab)),
            ("merges", .array(merges)),
        ])
    }
}

/// Reads the components of tokenizer.json, failing with errors that name the file and the field.
private struct FileReader {
    let source: String

    func fail(_ message: String) -> TokenizerError {
        TokenizerError(source: source, message: message)
    }

    func type(of json: JSON, _ path: String) throws -> String {
        guard case .object = json else { throw fail("\(path): expected an object, found \(json.kind)") }
        guard case .string(let type)? = json["type"] else { throw fail("\(path): no \"type\"") }
        return type
    }

    func string(_ json: JSON, _ key: String, _ path: String) throws -> String? {
        switch json[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw fail("\(path).\(key): expected a string, found \(other.kind)")
        }
    }

    func bool(_ json: JSON, _ key: String, _ path: String) throws -> Bool? {
        switch json[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw fail("\(path).\(key): expected true or false, found \(other.kind)")
        }
    }

    func int(_ json: JSON?, _ path: String) throws -> Int {
        guard let value = json?.double, value >= 0, value < Double(Int32.max), value.rounded() == value else {
            throw fail("\(path): expected a non-negative integer id")
        }
        return Int(value)
    }

    /// A single scalar such as the "▁" of Metaspace.
    func scalar(_ json: JSON, _ key: String, _ path: String) throws -> Unicode.Scalar? {
        guard let text = try string(json, key, path) else { return nil }
        guard text.unicodeScalars.count == 1 else { throw fail("\(path).\(key): expected one character, found \(JSON.quoted(text))") }
        return text.unicodeScalars.first!
    }

    func normalizerSteps(_ json: JSON?, _ path: String) throws -> [NormalizerStep] {
        guard let json, !json.isNull else { return [] }
        let type = try type(of: json, path)
        if type == "Sequence" {
            guard case .array(let items)? = json["normalizers"] else { throw fail("\(path).normalizers: expected an array") }
            return try items.enumerated().flatMap { try normalizerSteps($1, "\(path).normalizers[\($0)]") }
        }
        guard let step = NormalizerStep(rawValue: type) else {
            throw fail("unsupported normalizer \(JSON.quoted(type)) (nmt reads NFKC, Lowercase, a Sequence of them, or null)")
        }
        return [step]
    }

    func prependScheme(_ json: JSON, _ path: String) throws -> PrependScheme {
        if let name = try string(json, "prepend_scheme", path) {
            guard let scheme = PrependScheme(rawValue: name) else {
                throw fail("\(path).prepend_scheme: unknown scheme \(JSON.quoted(name)) (always, first or never)")
            }
            return scheme
        }
        // Files of tokenizers before 0.14 say `add_prefix_space` instead.
        return try bool(json, "add_prefix_space", path) == false ? .never : .always
    }

    func metaspace(_ json: JSON?) throws -> Metaspace {
        let path = "pre_tokenizer"
        guard let json, !json.isNull else { throw fail("pre_tokenizer is null (nmt reads Metaspace)") }
        let type = try type(of: json, path)
        guard type == "Metaspace" else { throw fail("unsupported pre_tokenizer \(JSON.quoted(type)) (nmt reads Metaspace)") }
        return Metaspace(
            replacement: try scalar(json, "replacement", path) ?? "▁",
            prependScheme: try prependScheme(json, path),
            split: try bool(json, "split", path) ?? true
        )
    }

    func addedTokens(_ json: JSON?) throws -> [AddedToken] {
        guard let json, !json.isNull else { return [] }
        guard case .array(let items) = json else { throw fail("added_tokens: expected an array") }
        return try items.enumerated().map { index, item in
            let path = "added_tokens[\(index)]"
            guard let content = try string(item, "content", path), !content.isEmpty else { throw fail("\(path): no content") }
            for option in ["single_word", "lstrip", "rstrip", "normalized"] where try bool(item, option, path) == true {
                throw fail("\(path) \(JSON.quoted(content)): \(option) true is not supported")
            }
            return AddedToken(id: Int32(try int(item["id"], "\(path).id")), content: content,
                              special: try bool(item, "special", path) ?? false)
        }
    }

    /// Added tokens and the vocabulary must tell one story: an added token that is in the
    /// vocabulary has its id there, one that is not takes no id of another piece, and no two added
    /// tokens share an id. Otherwise a piece would lose its id to the added token, and the file
    /// written back would name merges of a piece it no longer has (found by fuzzing).
    /// (tokenizers itself ignores such ids and numbers the tokens anew, with a warning.)
    func check(_ addedTokens: [AddedToken], agreeWith model: BPEModel) throws {
        var pieceOfId: [Int32: String] = [:]
        for (index, id) in model.vocabulary.values.enumerated() {
            pieceOfId[id] = String(decoding: model.vocabulary.key(at: index), as: UTF8.self)
        }
        var addedOfId: [Int32: Int] = [:]
        for (index, token) in addedTokens.enumerated() {
            let path = "added_tokens[\(index)] \(JSON.quoted(token.content))"
            if let vocabularyId = model.vocabulary.value(forKey: token.content.utf8), vocabularyId != token.id {
                throw fail("\(path): id \(token.id), but model.vocab gives it id \(vocabularyId)")
            }
            if let piece = pieceOfId[token.id], piece != token.content {
                throw fail("\(path): id \(token.id) is \(JSON.quoted(piece)) in model.vocab")
            }
            if let other = addedOfId.updateValue(index, forKey: token.id), addedTokens[other].content != token.content {
                throw fail("\(path): id \(token.id) is also added_tokens[\(other)] \(JSON.quoted(addedTokens[other].content))")
            }
        }
    }

    func model(_ json: JSON) throws -> BPEModel {
        let path = "model"
        let type = try type(of: json, path)
        guard type == "BPE" else { throw fail("unsupported model \(JSON.quoted(type)) (nmt reads BPE)") }
        if let dropout = json["dropout"]?.double, dropout != 0 {
            throw fail("model.dropout \(dropout) is not supported (BPE dropout is for training; it must be null)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = try string(json, key, path), !value.isEmpty { throw fail("model.\(key) is not supported (it must be null)") }
        }

        guard case .object(let entries)? = json["vocab"] else { throw fail("model.vocab: expected an object of piece → id") }
        var vocabulary = ByteKeyTable<Int32>(capacity: entries.count)
        var pieceOfId: [Int: String] = [:]
        for (piece, idJSON) in entries {
            let id = try int(idJSON, "model.vocab[\(JSON.quoted(piece))]")
            if let other = pieceOfId.updateValue(piece, forKey: id) {
                throw fail("model.vocab: id \(id) is given to both \(JSON.quoted(other)) and \(JSON.quoted(piece))")
            }
            vocabulary.insert(key: piece.utf8, Int32(id))
        }

        guard case .array(let mergeItems)? = json["merges"] else { throw fail("model.merges: expected an array") }
        let merges = try mergeItems.enumerated().map { index, item -> (String, String) in
            switch item {
            case .array(let pair):
                if pair.count == 2, case .string(let left) = pair[0], case .string(let right) = pair[1] { return (left, right) }
            case .string(let text):
                // The older form, "left right": pieces cannot contain a space then. Split the
                // scalars: as Characters, a space and a following combining mark are one.
                let parts = text.unicodeScalars.split(separator: " ", omittingEmptySubsequences: false)
                if parts.count == 2 { return (String(parts[0]), String(parts[1])) }
            default:
                break
            }
            throw fail("model.merges[\(index)]: expected [\"left\", \"right\"] or \"left right\"")
        }

        return try BPEModel(
            vocabulary: vocabulary,
            merges: merges,
            unknownToken: try string(json, "unk_token", path),
            fuseUnknown: try bool(json, "fuse_unk", path) ?? false,
            byteFallback: try bool(json, "byte_fallback", path) ?? false,
            ignoreMerges: try bool(json, "ignore_merges", path) ?? false,
            source: source
        )
    }

    func decoder(_ json: JSON?) throws -> [DecoderStep]? {
        guard let json, !json.isNull else { return nil }
        return try decoderSteps(json, "decoder")
    }

    private func decoderSteps(_ json: JSON, _ path: String) throws -> [DecoderStep] {
        let type = try type(of: json, path)
        switch type {
        case "Sequence":
            guard case .array(let items)? = json["decoders"] else { throw fail("\(path).decoders: expected an array") }
            return try items.enumerated().flatMap { try decoderSteps($1, "\(path).decoders[\($0)]") }
        case "Replace":
            guard case .string(let pattern)? = json["pattern"]?["String"] else {
                throw fail("\(path): decoder Replace with a Regex pattern is not supported (only {\"String\": …})")
            }
            return [.replace(pattern: pattern, content: try string(json, "content", path) ?? "")]
        case "ByteFallback":
            return [.byteFallback]
        case "Fuse":
            return [.fuse]
        case "Strip":
            return [.strip(content: try scalar(json, "content", path) ?? " ",
                           start: try int(json["start"], "\(path).start"), stop: try int(json["stop"], "\(path).stop"))]
        case "Metaspace":
            return [.metaspace(replacement: try scalar(json, "replacement", path) ?? "▁",
                               prependScheme: try prependScheme(json, path))]
        default:
            throw fail("unsupported decoder \(JSON.quoted(type)) (nmt reads Replace, ByteFallback, Fuse, Strip, Metaspace and a Sequence of them)")
        }
    }
}
