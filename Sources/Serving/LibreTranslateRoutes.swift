import Foundation
import Hummingbird
import NMT
import TextIO

/// LibreTranslate's API, so its clients work unchanged: `POST /translate` and `GET /languages`,
/// with its request fields (JSON or a form), its response shapes and its error object.
/// nmt detects no language: a `source` of "auto" is accepted when one served model translates
/// into the target, and reported as detected with confidence 100.
struct LibreTranslateRoutes {
    let server: TranslationServer

    func add(to router: Router<BasicRequestContext>) {
        router.get("languages") { _, _ in languages() }
        router.post("translate") { request, _ in try await translate(request) }
    }

    /// `[{"code", "name", "targets"}]`, every language that is a source or a target.
    func languages() -> Response {
        JSONBody.response(.array(server.catalog.languages.map { language in
            ["code": .string(language.code), "name": .string(LanguageNames.name(language.code)), "targets": .array(language.targets.map(JSON.string))]
        }))
    }

    /// `{"translatedText": string | [string]}`, with `"alternatives"` (a list, or a list per
    /// text) when asked for, and `"detectedLanguage"` for a source of "auto".
    func translate(_ request: Request) async throws -> Response {
        let fields = try await server.fields(of: request)
        let limits = server.limits
        guard let q = try fields.strings("q"), !q.texts.isEmpty, q.isList || !q.texts[0].isEmpty else {
            throw APIError.badRequest("Invalid request: missing q parameter")
        }
        guard let source = try fields.string("source"), !source.isEmpty else { throw APIError.badRequest("Invalid request: missing source parameter") }
        guard let target = try fields.string("target"), !target.isEmpty else { throw APIError.badRequest("Invalid request: missing target parameter") }
        switch try fields.string("format") ?? "text" {
        case "text": break
        case "html": throw APIError.badRequest("html format is not supported: nmt translates plain text; send \"format\": \"text\"")
        case let format: throw APIError.badRequest("\(format) format is not supported; send \"format\": \"text\"")
        }
        let alternatives = try fields.integer("alternatives", in: 0...limits.maxAlternatives) ?? 0
        let model = try server.catalog.resolve(source: source, target: target)
        // The shipped model's default beam, wider when more alternatives are wanted.
        let options = SearchOptions(beamSize: max(4, alternatives + 1), nBest: alternatives + 1)
        let results = try await server.service.translate(q.texts, with: model, options: options, splitSentences: true,
                                                         deadline: server.deadline())
        let alternativesOf = { (result: TextTranslation) -> JSON in
            .array((1..<max(1, min(alternatives + 1, result.alternativeCount))).map { .string(result.alternative($0)) })
        }
        var body: [(key: String, value: JSON)] = []
        if q.isList {
            body.append(("translatedText", .array(results.map { .string($0.text) })))
            if alternatives > 0 { body.append(("alternatives", .array(results.map(alternativesOf)))) }
        } else {
            body.append(("translatedText", .string(results[0].text)))
            if alternatives > 0 { body.append(("alternatives", alternativesOf(results[0]))) }
        }
        if source == "auto" {
            let detected: JSON = ["language": .string(model.pair.source), "confidence": 100.0]
            body.append(("detectedLanguage", q.isList ? .array(Array(repeating: detected, count: q.texts.count)) : detected))
        }
        return JSONBody.response(.object(body))
    }
}
