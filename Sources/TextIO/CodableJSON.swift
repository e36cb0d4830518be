import Foundation

/// The typed documents nmt writes for itself and reads back (a run's options, a checkpoint's
/// training state, `--format json` reports) go through Foundation's Codable, which is fast enough
/// for files of a few hundred bytes (docs/DESIGN.md, "JSON"). This is the one place that fixes
/// how they are written — keys sorted, slashes not escaped — and that says in one line what is
/// wrong with a document that does not decode, naming the field.
public enum CodableJSON {
    /// `value` as JSON: pretty-printed (a file) or on one line (a JSON-lines record).
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// One line of JSON text for `value`.
    public static func line<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value, pretty: false), as: UTF8.self)
    }

    /// Decodes `data`; a failure is a `JSONDocumentError` whose reason names the field.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw JSONDocumentError(reason: describe(error))
        }
    }

    /// "optimization.epochs: expected Int, found a string" — where and what, on one line.
    public static func describe(_ error: DecodingError) -> String {
        func place(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(place(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(place(context.codingPath)): expected \(type), found null"
        case .keyNotFound(let key, let context):
            return "\(place(context.codingPath + [key])): missing"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(place(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "not a document of the expected layout"
        }
    }
}

/// A JSON document that does not have the expected layout.
public struct JSONDocumentError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
