import Foundation
import Hummingbird

/// A request the server refuses, answered as JSON `{"error": "…"}` with its status (and a
/// Retry-After header when the queue is full).
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return JSONBody.response(["error": message], status: status, headers: headers)
    }

    /// The answer to a refusal of the decoding queue.
    static func from(_ refusal: QueueRefusal) -> APIError {
        switch refusal {
        case .full(let seconds):
            return APIError(.serviceUnavailable, "the server is busy: its queue is full; retry in \(seconds) s", retryAfterSeconds: seconds)
        case .deadlineExceeded:
            return APIError(.serviceUnavailable, "the translation took longer than the server's deadline; retry, or send less text", retryAfterSeconds: 1)
        case .stopping:
            return APIError(.serviceUnavailable, "the server is shutting down")
        }
    }
}

/// JSON responses.
enum JSONBody {
    /// `object` serialized (keys sorted, slashes unescaped) as an `application/json` response.
    static func response(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = HTTPFields()) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data(#"{"error": "the response could not be encoded"}"#.utf8)
        return response(json: data, status: status, headers: headers)
    }

    /// JSON text already encoded.
    static func response(json data: Data, status: HTTPResponse.Status = .ok, headers: HTTPFields = HTTPFields()) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A request body's fields, from JSON or from an HTML form (`application/x-www-form-urlencoded`,
/// which LibreTranslate also accepts), with typed access whose errors name the field.
struct RequestFields {
    private let values: [String: Any]

    init(values: [String: Any]) { self.values = values }

    /// Parses a body: JSON for `application/json` (and when no type is given), form fields for
    /// `application/x-www-form-urlencoded`.
    init(body: ByteBuffer, contentType: String?) throws {
        let data = Data(body.readableBytesView)
        let type = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if type == "application/x-www-form-urlencoded" {
            guard let text = String(data: data, encoding: .utf8) else { throw APIError.badRequest("the form is not valid UTF-8") }
            self.init(values: try Self.formFields(text))
            return
        }
        guard type == nil || type == "application/json" || type!.hasSuffix("+json") else {
            throw APIError(.unsupportedMediaType, "send the request as application/json (or an application/x-www-form-urlencoded form), not \(type!)")
        }
        guard !data.isEmpty else { throw APIError.badRequest("the request body is empty; send a JSON object") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw APIError.badRequest("the request body is not valid JSON")
        }
        guard let values = object as? [String: Any] else { throw APIError.badRequest("the request body must be a JSON object") }
        self.init(values: values)
    }

    /// The fields of `name=value&…` (`+` a space, `%XX` a byte); a name's first value counts.
    /// Parsed here by hand: Foundation's URLComponents traps on some invalid input.
    static func formFields(_ text: String) throws -> [String: Any] {
        var values: [String: Any] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) throws -> String in
                guard let decoded = part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw APIError.badRequest("the form field \(String(parts[0]).debugDescription) is not valid percent-encoding")
                }
                return decoded
            }
            let name = try decode(parts[0])
            if values[name] == nil { values[name] = parts.count > 1 ? try decode(parts[1]) : "" }
        }
        return values
    }

    func has(_ name: String) -> Bool { values[name] != nil && !(values[name] is NSNull) }

    /// A string field; nil when absent or null.
    func string(_ name: String) throws -> String? {
        guard has(name) else { return nil }
        guard let value = values[name] as? String else { throw APIError.badRequest("\"\(name)\" must be a string") }
        return value
    }

    /// A string or a list of strings (LibreTranslate's `q`); the flag tells which.
    func strings(_ name: String) throws -> (texts: [String], isList: Bool)? {
        guard has(name) else { return nil }
        if let text = values[name] as? String { return ([text], false) }
        if let list = values[name] as? [Any] {
            let texts = list.compactMap { $0 as? String }
            guard texts.count == list.count else { throw APIError.badRequest("\"\(name)\" must be a string or a list of strings") }
            return (texts, true)
        }
        throw APIError.badRequest("\"\(name)\" must be a string or a list of strings")
    }

    /// An integer field within `range`: a JSON number without a fraction, or (from a form) digits.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard has(name) else { return nil }
        let value: Int?
        switch values[name] {
        case let text as String: value = Int(text.trimmingCharacters(in: .whitespaces))
        case let number as NSNumber where !Self.isBoolean(number):
            let double = number.doubleValue
            value = double.rounded() == double && abs(double) < 1e15 ? Int(double) : nil
        default: value = nil
        }
        guard let value else { throw APIError.badRequest("\"\(name)\" must be an integer") }
        guard range.contains(value) else { throw APIError.badRequest("\"\(name)\" must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
        return value
    }

    /// A number field within `range`.
    func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard has(name) else { return nil }
        let value: Double?
        switch values[name] {
        case let text as String: value = Double(text.trimmingCharacters(in: .whitespaces))
        case let number as NSNumber where !Self.isBoolean(number): value = number.doubleValue
        default: value = nil
        }
        guard let value, value.isFinite else { throw APIError.badRequest("\"\(name)\" must be a number") }
        guard range.contains(value) else { throw APIError.badRequest("\"\(name)\" must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
        return value
    }

    /// A boolean field (JSON true/false, or "true"/"false" from a form).
    func boolean(_ name: String) throws -> Bool? {
        guard has(name) else { return nil }
        switch values[name] {
        case let number as NSNumber where Self.isBoolean(number): return number.boolValue
        case let text as String where text == "true" || text == "false": return text == "true"
        default: throw APIError.badRequest("\"\(name)\" must be true or false")
        }
    }

    /// Fields the endpoint does not know are refused, so a misspelt option is not silently ignored.
    func refuseUnknown(allowed: Set<String>) throws {
        let unknown = values.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw APIError.badRequest("unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")); this endpoint takes \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// JSONSerialization gives booleans as NSNumber too; theirs has the type code of a C char,
    /// which no JSON number gets.
    static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
