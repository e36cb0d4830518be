import Foundation
import Hummingbird
import NMT
import Tokenizers

/// nmt's own API: translation with `nmt translate`'s search options and answers, and the
/// attention and walkthrough of a sentence as `nmt attention` and `nmt walkthrough` compute them.
struct NMTRoutes {
    let server: TranslationServer

    func add(to router: Router<BasicRequestContext>) {
        router.post("v1/translate") { request, _ in try await translate(request) }
        router.post("v1/attention") { request, _ in try await attention(request) }
        router.post("v1/walkthrough") { request, _ in try await walkthrough(request) }
    }

    /// `{"translations": [{"source", "text", "sentences": [{"source", "translations": [{"text",
    /// "score", "tokens", "ids"}]}]}]}`, one entry per text of `q`; each sentence's object is
    /// what `nmt translate --format json` prints for it.
    func translate(_ request: Request) async throws -> Response {
        let fields = try await server.fields(of: request)
        try fields.refuseUnknown(allowed: ["q", "source", "target", "beam", "n_best", "length_penalty", "max_length", "split"])
        guard let q = try fields.strings("q") else { throw APIError.badRequest("missing \"q\": the text (or list of texts) to translate") }
        let options = try server.service.searchOptions(fields)
        let split = try fields.boolean("split") ?? true
        let model = try server.catalog.resolve(source: try fields.string("source"), target: try fields.string("target"))
        let results = try await server.service.translate(q.texts, with: model, options: options, splitSentences: split,
                                                         deadline: server.deadline())
        let translations = results.map { result -> [String: Any] in
            let sentences = zip(split ? result.split.sentencesOnOneLine : result.split.sentences, result.sentences).map { source, nBest -> [String: Any] in
                ["source": source, "translations": nBest.map(Self.object)]
            }
            return ["source": result.source, "text": result.text, "sentences": sentences]
        }
        return JSONBody.response(["model": model.pair.description, "translations": translations])
    }

    static func object(_ translation: Translation) -> [String: Any] {
        ["text": translation.text, "score": Double(translation.score), "tokens": translation.tokens, "ids": translation.ids]
    }

    /// One sentence a request names in "q", checked against the attention limit.
    func sentence(_ fields: RequestFields) throws -> String {
        guard let text = try fields.string("q") else { throw APIError.badRequest("missing \"q\": the sentence to inspect") }
        guard !text.allSatisfy(\.isWhitespace) else { throw APIError.badRequest("\"q\" is empty") }
        let limit = server.limits.maxAttentionCharacters
        guard text.count <= limit else { throw APIError(.contentTooLarge, "\"q\" has \(text.count) characters; inspection takes at most \(limit)") }
        return text
    }

    /// The JSON of `nmt attention --layer all --head all --format json` (every kind, layer and
    /// head), with the translation and the output tokens (what each decoder row chose) added.
    func attention(_ request: Request) async throws -> Response {
        let fields = try await server.fields(of: request)
        try fields.refuseUnknown(allowed: ["q", "source", "target", "translation", "beam", "words"])
        let text = try sentence(fields)
        let forced = try fields.string("translation")
        if forced != nil && fields.has("beam") { throw APIError.badRequest("\"beam\" chooses the translation; with \"translation\" there is none to search") }
        let beam = try fields.integer("beam", in: 1...server.limits.maxBeam) ?? 4
        let words = try fields.boolean("words") ?? false
        let model = try server.catalog.resolve(source: try fields.string("source"), target: try fields.string("target"))
        let translator = model.translator
        let json = try await server.exclusively(on: model) { () throws -> String in
            let config = translator.model.config
            let sourceIds = translator.sourceIds(text)
            guard !sourceIds.truncated else { throw APIError(.contentTooLarge, "\"q\" is longer than the model's \(config.maxPositions) positions") }
            let outputIds: [Int]
            if let forced {
                let pieces = translator.tokenizer.encode(forced)
                guard pieces.count < config.maxPositions else { throw APIError(.contentTooLarge, "\"translation\" is longer than the model's \(config.maxPositions) positions") }
                outputIds = pieces + [config.eosId]
            } else {
                outputIds = translator.translate([text], options: SearchOptions(beamSize: beam))[0][0].ids
            }
            let recording = AttentionRecording(model: translator.model, sourceIds: sourceIds.ids, outputIds: outputIds)
            let source = recording.sourceTokens(translator.tokenizer), target = recording.targetTokens(translator.tokenizer)
            let tables = try recording.tables(kinds: AttentionKind.allCases, layers: .all, heads: .all, source: source, target: target, words: words)
            let output = recording.outputTokens(translator.tokenizer).labels(words: words)
            let rendered = AttentionRenderer.json(sourceTokens: source.labels(words: words), targetTokens: target.labels(words: words), tables: tables)
            let extra = try Self.jsonFields(["output_tokens": output, "translation": translator.tokenizer.decode(outputIds), "words": words])
            return "{" + extra + ", " + rendered.dropFirst()
        }
        return JSONBody.response(json: Data(json.utf8))
    }

    /// The members of a JSON object without its braces, to put in front of another object's.
    static func jsonFields(_ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }

    /// The five steps of `nmt walkthrough` as JSON.
    func walkthrough(_ request: Request) async throws -> Response {
        let fields = try await server.fields(of: request)
        try fields.refuseUnknown(allowed: ["q", "source", "target"])
        let text = try sentence(fields)
        let model = try server.catalog.resolve(source: try fields.string("source"), target: try fields.string("target"))
        let translator = model.translator
        let object = try await server.exclusively(on: model) { () throws -> WalkthroughJSON in
            guard !translator.sourceIds(text).truncated else { throw APIError(.contentTooLarge, "\"q\" is longer than the model's positions") }
            return WalkthroughJSON(try Walkthrough(translator: translator, sentence: text))
        }
        return JSONBody.response(object.value)
    }
}

/// A walkthrough as JSON values (built on the decoder thread, sent from the handler).
struct WalkthroughJSON: @unchecked Sendable {
    let value: [String: Any]

    init(_ walkthrough: Walkthrough) {
        func weighted(_ token: Walkthrough.WeightedToken) -> [String: Any] { ["token": token.token, "weight": Double(token.weight)] }
        func table(_ table: AttentionTable) -> [String: Any] {
            ["title": table.title, "rows": table.rows, "columns": table.columns, "weights": table.weights.map { $0.map(Double.init) }]
        }
        value = [
            "sentence": walkthrough.sentence,
            "translation": walkthrough.translation,
            "embedding_scale": Double(walkthrough.embeddingScale),
            "source_pieces": walkthrough.sourcePieces.map { piece -> [String: Any] in
                ["piece": piece.piece, "id": piece.id, "embedding": piece.embedding.map(Double.init),
                 "embedding_norm": Double(piece.embeddingNorm), "position": piece.position.map(Double.init),
                 "position_norm": Double(piece.positionNorm)]
            },
            "encoder_self_attention": table(walkthrough.encoderSelfAttention),
            "decoder_self_attention": table(walkthrough.decoderSelfAttention),
            "cross_attention": walkthrough.crossAttention.map { ["word": $0.word, "sources": $0.sources.map(weighted)] as [String: Any] },
            "generation": walkthrough.generation.map { step -> [String: Any] in
                ["output_so_far": step.outputSoFar, "candidates": step.candidates.map(weighted), "chosen": weighted(step.chosen)]
            },
        ]
    }
}
