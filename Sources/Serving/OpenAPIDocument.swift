import TextIO

/// The OpenAPI 3.0 description of every route, with the server's limits as the schemas' bounds.
enum OpenAPIDocument {
    static func json(limits: ServerLimits, catalog: ModelCatalog) -> JSON {
        let sources = Array(Set(catalog.models.map(\.pair.source))).sorted()
        let targets = Array(Set(catalog.models.map(\.pair.target))).sorted()
        return [
            "openapi": "3.0.3",
            "info": [
                "title": "nmt serve",
                "version": "1",
                "description": "Translation with nmt's Transformer models: LibreTranslate's API (/translate, /languages), nmt's own (/v1/…), health and Prometheus metrics. Every error is JSON {\"error\": message}.",
            ],
            "paths": paths(limits),
            "components": ["schemas": schemas(limits, sources: sources, targets: targets)],
        ]
    }

    static func reference(_ name: String) -> JSON { ["$ref": .string("#/components/schemas/\(name)")] }

    static func json(_ schema: JSON, _ description: String) -> JSON {
        ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }

    /// The error answers every POST route may give.
    static func errors(_ codes: [Int]) -> JSON {
        let descriptions = [400: "A malformed request: bad JSON, a wrong type, a value out of range, an unknown language pair.",
                            413: "Too much: the body, the characters, the sentences, or a sentence longer than the model reads.",
                            415: "A body that is neither JSON nor a form.",
                            503: "The queue is full, the deadline passed, or the server is stopping; see Retry-After."]
        return .object(codes.map { code in
            var response = json(reference("Error"), descriptions[code]!)
            if code == 503 { response = response.merging(["headers": ["Retry-After": ["description": "Seconds to wait before retrying.", "schema": ["type": "integer"]]]]) }
            return (String(code), response)
        })
    }

    static func post(_ summary: String, body: JSON, form: Bool = false, ok: JSON) -> JSON {
        var content: JSON = ["application/json": ["schema": body]]
        if form { content = content.merging(["application/x-www-form-urlencoded": ["schema": body]]) }
        return ["post": ["summary": .string(summary),
                         "requestBody": ["required": true, "content": content],
                         "responses": errors([400, 413, 415, 503]).merging(["200": ok])]]
    }

    static func get(_ summary: String, _ ok: JSON) -> JSON {
        ["get": ["summary": .string(summary), "responses": ["200": ok]]]
    }

    static func paths(_ limits: ServerLimits) -> JSON {
        [
            "/": get("The page: translate and explore attention.", ["description": "HTML", "content": ["text/html": ["schema": ["type": "string"]]]]),
            "/translate": post("Translate text (LibreTranslate's API).", body: reference("LibreTranslateRequest"), form: true,
                               ok: json(reference("LibreTranslateResponse"), "The translation(s).")),
            "/languages": get("The languages served (LibreTranslate's API).", json(["type": "array", "items": reference("Language")], "Languages.")),
            "/v1/translate": post("Translate with nmt's search options; scores, tokens and ids per sentence.", body: reference("TranslateRequest"),
                                  ok: json(reference("TranslateResponse"), "The translations.")),
            "/v1/attention": post("Every attention map of a sentence (as nmt attention --layer all --head all --format json).",
                                  body: reference("AttentionRequest"), ok: json(reference("AttentionResponse"), "Tokens and tables.")),
            "/v1/walkthrough": post("The five steps of nmt walkthrough for a sentence.", body: reference("WalkthroughRequest"),
                                    ok: json(["type": "object"], "The steps.")),
            "/health": get("Whether the server is up, and its models.", json(reference("Health"), "Up.")),
            "/metrics": get("Prometheus metrics.", ["description": "Text exposition format.", "content": ["text/plain": ["schema": ["type": "string"]]]]),
            "/openapi.json": get("This document.", json(["type": "object"], "OpenAPI 3.0.")),
        ]
    }

    /// `sources` and `targets`: the served languages' codes, which the request schemas list.
    static func schemas(_ limits: ServerLimits, sources: [String], targets: [String]) -> JSON {
        let string: JSON = ["type": "string"]
        let strings: JSON = ["type": "array", "items": string]
        let texts: JSON = ["oneOf": [["type": "string", "maxLength": .number(limits.maxCharacters)],
                                              ["type": "array", "items": string, "maxItems": .number(limits.maxTexts)]]]
        // LibreTranslate refuses an empty q.
        let libreTexts: JSON = ["oneOf": [["type": "string", "minLength": 1, "maxLength": .number(limits.maxCharacters)],
                                                   ["type": "array", "items": string, "minItems": 1, "maxItems": .number(limits.maxTexts)]]]
        // Optional fields may also be null, which counts as absent (as LibreTranslate reads them).
        let source: JSON = ["type": "string", "enum": .array(sources.map(JSON.string)), "nullable": true, "description": "A source language code (see /languages)."]
        let target: JSON = ["type": "string", "enum": .array(targets.map(JSON.string)), "nullable": true, "description": "A target language code (see /languages)."]
        let search: JSON = [
            "beam": ["type": "integer", "minimum": 1, "maximum": .number(limits.maxBeam), "default": 4, "nullable": true],
            "n_best": ["type": "integer", "minimum": 1, "maximum": .number(limits.maxAlternatives + 1), "default": 1, "nullable": true,
                       "description": "At most beam (a larger one is refused with 400)."],
            "length_penalty": ["type": "number", "minimum": 0, "maximum": 5, "default": 1, "nullable": true],
            "max_length": ["type": "integer", "minimum": 1, "maximum": .number(limits.maxLength), "default": 256, "nullable": true],
        ]
        let translation: JSON = ["type": "object", "required": ["text", "score", "tokens", "ids"], "properties": [
            "text": string, "score": ["type": "number"], "tokens": strings, "ids": ["type": "array", "items": ["type": "integer"]]]]
        let table: JSON = ["type": "object", "required": ["kind", "layer", "head", "rows", "columns", "weights"], "properties": [
            "kind": ["type": "string", "enum": ["encoder", "decoder", "cross"]], "layer": ["type": "integer"],
            "head": ["oneOf": [["type": "integer"], ["type": "string", "enum": ["mean"]]]], "rows": strings, "columns": strings,
            "weights": ["type": "array", "items": ["type": "array", "items": ["type": "number"]]]]]
        return [
            "Error": ["type": "object", "required": ["error"], "properties": ["error": string]],
            "Language": ["type": "object", "required": ["code", "name", "targets"], "properties": ["code": string, "name": string, "targets": strings]],
            "LibreTranslateRequest": ["type": "object", "required": ["q", "source", "target"], "properties": [
                "q": libreTexts, "source": ["type": "string", "enum": .array((sources + ["auto"]).map(JSON.string)), "description": "A language code, or auto."],
                "target": ["type": "string", "enum": .array(targets.map(JSON.string))],
                "format": ["type": "string", "enum": ["text", "html"], "default": "text", "nullable": true, "description": "html is refused (400)."],
                "alternatives": ["type": "integer", "minimum": 0, "maximum": .number(limits.maxAlternatives), "default": 0, "nullable": true],
                "api_key": ["type": "string", "nullable": true, "description": "Accepted and ignored."]]],
            "LibreTranslateResponse": ["type": "object", "required": ["translatedText"], "properties": [
                "translatedText": ["oneOf": [string, strings]],
                "alternatives": ["oneOf": [strings, ["type": "array", "items": strings]]],
                "detectedLanguage": ["oneOf": [reference("DetectedLanguage"), ["type": "array", "items": reference("DetectedLanguage")]]]]],
            "DetectedLanguage": ["type": "object", "properties": ["language": string, "confidence": ["type": "number"]]],
            "TranslateRequest": ["type": "object", "required": ["q"], "additionalProperties": false, "properties": search.merging([
                "q": texts, "source": source, "target": target,
                "split": ["type": "boolean", "default": true, "nullable": true, "description": "Cut each text into sentences (false: one sentence per text, as nmt translate reads a line)."]])],
            "TranslateResponse": ["type": "object", "required": ["model", "translations"], "properties": [
                "model": string,
                "translations": ["type": "array", "items": ["type": "object", "required": ["source", "text", "sentences"], "properties": [
                    "source": string, "text": string,
                    "sentences": ["type": "array", "items": ["type": "object", "required": ["source", "translations"], "properties": [
                        "source": string, "translations": ["type": "array", "items": translation]]]]]]]]],
            "AttentionRequest": ["type": "object", "required": ["q"], "additionalProperties": false, "properties": [
                "q": ["type": "string", "minLength": 1, "maxLength": .number(limits.maxAttentionCharacters), "pattern": "\\S"],
                "source": source, "target": target,
                "translation": ["type": "string", "nullable": true, "description": "A translation to teacher-force instead of searching (then no beam)."],
                "beam": ["type": "integer", "minimum": 1, "maximum": .number(limits.maxBeam), "default": 4, "nullable": true],
                "words": ["type": "boolean", "default": false, "nullable": true, "description": "Merge pieces into words."]]],
            "AttentionResponse": ["type": "object", "required": ["source_tokens", "target_tokens", "output_tokens", "translation", "tables"], "properties": [
                "source_tokens": strings, "target_tokens": strings, "output_tokens": strings, "translation": string, "words": ["type": "boolean"],
                "tables": ["type": "array", "items": table]]],
            "WalkthroughRequest": ["type": "object", "required": ["q"], "additionalProperties": false, "properties": [
                "q": ["type": "string", "minLength": 1, "maxLength": .number(limits.maxAttentionCharacters), "pattern": "\\S"],
                "source": source, "target": target]],
            "Health": ["type": "object", "required": ["status", "models"], "properties": [
                "status": string, "requests_in_flight": ["type": "integer"], "models": ["type": "array", "items": ["type": "object", "properties": [
                    "pair": string, "directory": string, "queued_sentences": ["type": "integer"]]]]]],
        ]
    }
}
