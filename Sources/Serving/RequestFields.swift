import Foundation
import NIOCore
import TextIO

/// A request body's fields, from JSON or from an HTML form (`application/x-www-form-urlencoded`,
/// which LibreTranslate also accepts), with typed access whose errors name the field. A field
/// given twice counts with its first value; null counts as absent (as LibreTranslate reads it).
struct RequestFields {
    private let members: [(key: String, value: JSON)]

    init(members: [(key: String, value: JSON)]) { self.members = members }

    /// The deepest nesting a request may have; the API's own is 2 (a list in an object).
    static let maximumDepth = 32

    /// Parses a body: JSON for `application/json` (and when no type is given), form fields for
    /// `application/x-www-form-urlencoded`.
    init(body: ByteBuffer, contentType: String?) throws {
        let bytes = Array(body.readableBytesView)
        let type = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if type == "application/x-www-form-urlencoded" {
            guard let text = String(validatingUTF8Bytes: bytes) else { throw APIError.badRequest("the form is not valid UTF-8") }
            self.init(members: try Self.formFields(text))
            return
        }
        guard type == nil || type == "application/json" || type!.hasSuffix("+json") else {
            throw APIError(.unsupportedMediaType, "send the request as application/json (or an application/x-www-form-urlencoded form), not \(type!)")
        }
        guard !bytes.isEmpty else { throw APIError.badRequest("the request body is empty; send a JSON object") }
        let value: JSON
        do { value = try JSON.parse(bytes, maximumDepth: Self.maximumDepth) } catch let error as JSONSyntaxError {
            throw APIError.badRequest("the request body is not valid JSON (line \(error.line): \(error.reason))")
        }
        guard let members = value.members else { throw APIError.badRequest("the request body must be a JSON object, not \(value.kind)") }
        self.init(members: members)
    }

    /// The fields of `name=value&…` (`+` a space, `%XX` a byte), as strings.
    /// Parsed here by hand: Foundation's URLComponents traps on some invalid input.
    static func formFields(_ text: String) throws -> [(key: String, value: JSON)] {
        try text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) throws -> String in
                guard let decoded = part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw APIError.badRequest("the form field \(JSON.quoted(String(parts[0]))) is not valid percent-encoding")
                }
                return decoded
            }
            return (try decode(parts[0]), .string(parts.count > 1 ? try decode(parts[1]) : ""))
        }
    }

    /// The field's value; nil when absent or null.
    private func value(_ name: String) -> JSON? {
        guard let value = members.first(where: { $0.key.utf8.elementsEqual(name.utf8) })?.value, !value.isNull else { return nil }
        return value
    }

    func has(_ name: String) -> Bool { value(name) != nil }

    /// A string field; nil when absent or null.
    func string(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard let text = value.string else { throw APIError.badRequest("\"\(name)\" must be a string, not \(value.kind)") }
        return text
    }

    /// A string or a list of strings (LibreTranslate's `q`); the flag tells which.
    func strings(_ name: String) throws -> (texts: [String], isList: Bool)? {
        guard let value = value(name) else { return nil }
        switch value {
        case .string(let text):
            return ([text], false)
        case .array(let elements):
            let texts = elements.compactMap(\.string)
            guard texts.count == elements.count else { throw APIError.badRequest("\"\(name)\" must be a string or a list of strings") }
            return (texts, true)
        default:
            throw APIError.badRequest("\"\(name)\" must be a string or a list of strings, not \(value.kind)")
        }
    }

    /// An integer field within `range`: a JSON number with an integral value (`2` or `2.0`), or
    /// (from a form) digits.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let field = value(name) else { return nil }
        let value: Int?
        switch field {
        case .string(let text): value = Int(text.trimmingCharacters(in: .whitespaces))
        case .number(let number) where number.double.rounded() == number.double && abs(number.double) < 1e15: value = Int(number.double)
        default: value = nil
        }
        guard let value else { throw APIError.badRequest("\"\(name)\" must be an integer") }
        guard range.contains(value) else { throw APIError.badRequest("\"\(name)\" must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
        return value
    }

    /// A number field within `range`.
    func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let field = value(name) else { return nil }
        let value: Double?
        switch field {
        case .string(let text): value = Double(text.trimmingCharacters(in: .whitespaces))
        case .number(let number): value = number.double
        default: value = nil
        }
        guard let value, value.isFinite else { throw APIError.badRequest("\"\(name)\" must be a number") }
        guard range.contains(value) else { throw APIError.badRequest("\"\(name)\" must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
        return value
    }

    /// A boolean field (JSON true/false, or "true"/"false" from a form).
    func boolean(_ name: String) throws -> Bool? {
        guard let value = value(name) else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .string(let text) where text == "true" || text == "false": return text == "true"
        default: throw APIError.badRequest("\"\(name)\" must be true or false")
        }
    }

    /// Fields the endpoint does not know are refused, so a misspelt option is not silently ignored.
    func refuseUnknown(allowed: Set<String>) throws {
        var unknown: [String] = []
        for member in members where !allowed.contains(member.key) && !unknown.contains(member.key) { unknown.append(member.key) }
        guard unknown.isEmpty else {
            throw APIError.badRequest("unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map(JSON.quoted).joined(separator: ", ")); this endpoint takes \(allowed.sorted().joined(separator: ", "))")
        }
    }
}
