import Foundation
import Hummingbird
import NMT
import TextIO
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
        let translations = results.map { result -> JSON in
            let sources = split ? result.split.sentencesOnOneLine : result.split.sentences
            let sentences = zip(sources, result.sentences).map { source, nBest in Translation.json(source: source, nBest: nBest) }
            return ["source": .string(result.source), "text": .string(result.text), "sentences": .array(sentences)]
        }
        return JSONBody.response(["model": .string(model.pair.description), "translations": .array(translations)])
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
                let ids = translator.tokenizer.encodeTarget(forced)  // `</s>` appended
                guard ids.count <= config.maxPositions else { throw APIError(.contentTooLarge, "\"translation\" is longer than the model's \(config.maxPositions) positions") }
                outputIds = ids
            } else {
                outputIds = translator.translate([text], options: SearchOptions(beamSize: beam))[0][0].ids
            }
            let recording = AttentionRecording(model: translator.model, sourceIds: sourceIds.ids, outputIds: outputIds)
            let source = recording.sourceTokens(translator.tokenizer), target = recording.targetTokens(translator.tokenizer)
            let tables = try recording.tables(kinds: AttentionKind.allCases, layers: .all, heads: .all, source: source, target: target, words: words)
            let output = recording.outputTokens(translator.tokenizer).labels(words: words)
            let rendered = AttentionRenderer.json(sourceTokens: source.labels(words: words), targetTokens: target.labels(words: words), tables: tables)
            let extra: JSON = ["translation": .string(translator.tokenizer.decodeTarget(outputIds, skipSpecialTokens: true)), "output_tokens": .array(output.map(JSON.string)),
                               "words": .bool(words)]
            return Self.prepending(extra, to: rendered)
        }
        return JSONBody.response(text: json)
    }

    /// `object`'s members put in front of those of `document`, a JSON object already written
    /// (the attention tables, whose weights `AttentionRenderer` writes in Float's shortest digits).
    static func prepending(_ object: JSON, to document: String) -> String {
        String(object.compact.dropLast()) + ", " + document.drop { $0 != "{" }.dropFirst()
    }

    /// The five steps of `nmt walkthrough` as JSON.
    func walkthrough(_ request: Request) async throws -> Response {
        let fields = try await server.fields(of: request)
        try fields.refuseUnknown(allowed: ["q", "source", "target"])
        let text = try sentence(fields)
        let model = try server.catalog.resolve(source: try fields.string("source"), target: try fields.string("target"))
        let translator = model.translator
        let json = try await server.exclusively(on: model) { () throws -> JSON in
            guard !translator.sourceIds(text).truncated else { throw APIError(.contentTooLarge, "\"q\" is longer than the model's positions") }
            return try Walkthrough(translator: translator, sentence: text).json
        }
        return JSONBody.response(json)
    }
}

/// A walkthrough as JSON (built on the decoder thread, sent from the handler).
extension Walkthrough {
    var json: JSON {
        func weighted(_ token: WeightedToken) -> JSON { ["token": .string(token.token), "weight": .figure(Double(token.weight))] }
        func figures(_ values: [Float]) -> JSON { .array(values.map { .figure(Double($0)) }) }
        func table(_ table: AttentionTable) -> JSON {
            ["title": .string(table.title), "rows": .array(table.rows.map(JSON.string)), "columns": .array(table.columns.map(JSON.string)),
             "weights": .array(table.weights.map(figures))]
        }
        return [
            "sentence": .string(sentence),
            "translation": .string(translation),
            "embedding_scale": .figure(Double(embeddingScale)),
            "source_pieces": .array(sourcePieces.map { piece in
                ["piece": .string(piece.piece), "id": .number(piece.id), "embedding": figures(piece.embedding),
                 "embedding_norm": .figure(Double(piece.embeddingNorm)), "position": figures(piece.position),
                 "position_norm": .figure(Double(piece.positionNorm))]
            }),
            "encoder_self_attention": table(encoderSelfAttention),
            "decoder_self_attention": table(decoderSelfAttention),
            "cross_attention": .array(crossAttention.map { ["word": .string($0.word), "sources": .array($0.sources.map(weighted))] }),
            "generation": .array(generation.map { step in
                ["output_so_far": .string(step.outputSoFar), "candidates": .array(step.candidates.map(weighted)), "chosen": weighted(step.chosen)]
            }),
        ]
    }
}
