import Foundation
import NMT
import TextIO

/// A source → target language pair, by ISO 639-1 codes ("en" → "fr").
public struct LanguagePair: Hashable, Sendable, CustomStringConvertible {
    public var source: String
    public var target: String

    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }

    /// "en-fr" (also "en_fr" or "opus-mt-en-fr": the last two codes of two or three letters).
    public init?(_ text: String) {
        let parts = text.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" }).map(String.init)
        guard parts.count >= 2 else { return nil }
        let (source, target) = (parts[parts.count - 2], parts[parts.count - 1])
        guard Self.isCode(source), Self.isCode(target), source != target else { return nil }
        self.init(source: source, target: target)
    }

    static func isCode(_ text: String) -> Bool {
        (2...3).contains(text.count) && text.allSatisfy { $0.isASCII && $0.isLetter }
    }

    public var description: String { "\(source)-\(target)" }

    /// The language pair of a model directory: `source_lang`/`target_lang` in its
    /// tokenizer_config.json or config.json (as Hugging Face's Marian tokenizers write them), or
    /// else its folder's name ("en-fr", "opus-mt-en-fr").
    public static func of(directory: URL) -> LanguagePair? {
        for file in ["tokenizer_config.json", "config.json"] {
            guard let bytes = try? [UInt8](Data(contentsOf: directory.appendingPathComponent(file))),
                  let object = try? JSON.parse(bytes),
                  let source = object["source_lang"]?.string, let target = object["target_lang"]?.string,
                  let pair = LanguagePair("\(source)-\(target)") else { continue }
            return pair
        }
        return LanguagePair(directory.standardizedFileURL.lastPathComponent)
    }
}

/// English names of the languages a LibreTranslate client may meet ("English" for "en"); a code
/// not listed is named by itself.
public enum LanguageNames {
    static let names: [String: String] = [
        "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
        "en": "English", "es": "Spanish", "et": "Estonian", "fi": "Finnish", "fr": "French", "ga": "Irish", "he": "Hebrew",
        "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
        "lt": "Lithuanian", "lv": "Latvian", "nb": "Norwegian Bokmål", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese",
        "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sv": "Swedish", "th": "Thai", "tr": "Turkish",
        "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
    ]

    public static func name(_ code: String) -> String { names[code] ?? code }
}

/// A model the server answers with: its language pair, its translator, the queue in front of it.
public final class ServedModel: @unchecked Sendable {
    public let pair: LanguagePair
    public let translator: Translator
    public let queue: DecodingQueue
    /// Where it was loaded from, for /health.
    public let directory: String

    public init(pair: LanguagePair, translator: Translator, directory: String, policy: BatchingPolicy, limits: ServerLimits, metrics: ServerMetrics?) {
        self.pair = pair
        self.translator = translator
        self.directory = directory
        queue = DecodingQueue(generator: Generator(model: translator.model), policy: policy, capacity: limits.maxQueuedSentences, metrics: metrics)
    }
}

/// The models being served, one per language pair, in the order given.
public struct ModelCatalog: Sendable {
    public let models: [ServedModel]

    public init(_ models: [ServedModel]) {
        precondition(!models.isEmpty, "ModelCatalog: no model")
        self.models = models
    }

    public func model(for pair: LanguagePair) -> ServedModel? { models.first { $0.pair == pair } }

    /// Every language that is a source or a target, in first-seen order, with the targets it
    /// translates into (LibreTranslate's `/languages`).
    public var languages: [(code: String, targets: [String])] {
        var codes: [String] = []
        for model in models {
            for code in [model.pair.source, model.pair.target] where !codes.contains(code) { codes.append(code) }
        }
        return codes.map { code in (code, models.filter { $0.pair.source == code }.map(\.pair.target).sorted()) }
    }

    /// The model a request names by `source` and `target`, each optional: a missing one (or
    /// LibreTranslate's "auto" source) is filled in when exactly one served model fits.
    public func resolve(source: String?, target: String?) throws -> ServedModel {
        let source = source == "auto" ? nil : source
        let fitting = models.filter { (source == nil || $0.pair.source == source) && (target == nil || $0.pair.target == target) }
        if fitting.count == 1 { return fitting[0] }
        let served = models.map(\.pair.description).joined(separator: ", ")
        if fitting.isEmpty {
            if let source, let target { throw APIError.badRequest("no model translates \(source) to \(target); this server has \(served)") }
            if let source { throw APIError.badRequest("no model translates from \(source); this server has \(served)") }
            if let target { throw APIError.badRequest("no model translates into \(target); this server has \(served)") }
        }
        throw APIError.badRequest("several models fit; name the source and target languages (this server has \(served))")
    }
}
