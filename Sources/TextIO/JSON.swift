/// A parsed JSON value: the one JSON reader and writer of nmt, for tokenizer.json, the
/// safetensors header, config.json and the training log (typed documents nmt writes for itself,
/// such as a run's options and training state, go through Foundation's Codable instead).
///
/// Objects keep their members in file order and are searched by the keys' UTF-8 bytes. A Swift
/// `[String: …]` dictionary would be wrong here: `String` equality is canonical equivalence, so a
/// vocabulary holding both "é" (U+00E9) and "e\u{301}" would lose one entry (or trap). Numbers
/// keep the text they were written as, so an integer is read exactly (a safetensors offset past
/// 2^53, `2e0` where an integer belongs) instead of through `Double`.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSON])
    case object([(key: String, value: JSON)])

    /// The member named `key` of an object (compared byte for byte), or nil.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the value's kind for error messages ("expected an array, found a string").
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The string, or nil for any other kind.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The boolean, or nil for any other kind.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number as a Double, or nil for any other kind.
    public var double: Double? {
        if case .number(let value) = self { return value.double }
        return nil
    }

    /// The number when it is written as an integer that fits in `Int`, or nil.
    public var integer: Int? {
        if case .number(let value) = self { return value.integer }
        return nil
    }

    /// The members of an object, in file order, or nil for any other kind.
    public var members: [(key: String, value: JSON)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// A number value.
    public static func number(_ value: Int) -> JSON { .number(JSONNumber(value)) }
    public static func number(_ value: Double) -> JSON { .number(JSONNumber(value)) }
    /// A figure that may be NaN or infinite: JSON has no such numbers, so those are null.
    public static func figure(_ value: Double) -> JSON { value.isFinite ? .number(JSONNumber(value)) : .null }

    /// This object with `other`'s members laid over it: a member of both that is an object in
    /// both is merged the same way, any other takes `other`'s value; new members go last. A value
    /// that is not an object is replaced by `other` whole.
    public func merging(_ other: JSON) -> JSON {
        guard case .object(var members) = self, case .object(let overrides) = other else { return other }
        for (key, value) in overrides {
            if let index = members.firstIndex(where: { $0.key.utf8.elementsEqual(key.utf8) }) {
                members[index].value = members[index].value.merging(value)
            } else {
                members.append((key, value))
            }
        }
        return .object(members)
    }

    /// The same value with every object's members in the order of their keys (for output that
    /// must not depend on the order they were built in).
    public func sortingKeys() -> JSON {
        switch self {
        case .object(let members):
            return .object(members.map { ($0.key, $0.value.sortingKeys()) }.sorted { $0.key < $1.key })
        case .array(let elements):
            return .array(elements.map { $0.sortingKeys() })
        default:
            return self
        }
    }

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
        default: return false
        }
    }
}

/// A JSON number as written: its text, its value as a Double, and the exact integer it names when
/// it is written as one.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    /// The number's text (RFC 8259 syntax), as read or as it will be written.
    public let text: String
    /// The value (±infinity when it is too large for a Double).
    public let double: Double

    /// A number read from valid JSON number text.
    init(validatedText text: String) {
        self.text = text
        double = Double(text) ?? .nan
    }

    public init(_ value: Int) {
        text = String(value)
        double = Double(value)
    }

    /// Integral values below 10^15 are written without a fraction (`3`, not `3.0`), as serde_json
    /// and Python write integers; others in Swift's shortest form that reads back the same.
    /// JSON has no NaN or infinity: callers write null for those.
    public init(_ value: Double) {
        precondition(value.isFinite, "JSON has no NaN or infinity")
        text = value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
        double = value
    }

    /// The exact integer when the text is one (no fraction, no exponent) that fits in `Int`.
    public var integer: Int? {
        text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") } ? nil : Int(text)
    }

    public var description: String { text }

    /// Equal values, however written (`1`, `1.0` and `1e0` are equal).
    public static func == (a: JSONNumber, b: JSONNumber) -> Bool { a.double == b.double }
}
