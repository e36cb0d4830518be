/// A JSON value as it appears in a safetensors header. Numbers keep their text, so integers are
/// converted exactly (and overflow is caught) instead of going through `Double`.
enum HeaderJSON {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// What a value is, for messages ("expected an array, found a string").
    var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }

    /// The exact integer a number holds, `nil` if it has a fraction or exponent or does not fit.
    var integer: Int? {
        guard case .number(let text) = self else { return nil }
        return Int(text)
    }
}

/// A parse failure: what went wrong and at which byte of the header.
struct HeaderJSONError: Error {
    let message: String
    let offset: Int
}

/// A small strict JSON parser (RFC 8259) for safetensors headers. It works on UTF-8 bytes that the
/// caller has already validated, bounds nesting so hostile input cannot exhaust the stack, and
/// allows trailing whitespace (writers pad the header with spaces).
struct HeaderJSONParser {
    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0
    private static let maximumDepth = 64

    /// Parses `bytes` as exactly one JSON value followed by optional whitespace.
    static func parse(_ bytes: [UInt8]) throws -> HeaderJSON {
        var parser = HeaderJSONParser(bytes: bytes)
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.position != bytes.count { throw parser.failure("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func failure(_ message: String) -> HeaderJSONError {
        HeaderJSONError(message: message, offset: position)
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        skipWhitespace()
        guard current == byte else { throw failure("expected \(what)") }
        position += 1
    }

    private mutating func parseValue() throws -> HeaderJSON {
        skipWhitespace()
        guard let byte = current else { throw failure("unexpected end of the header") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        default: throw failure("unexpected character")
        }
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Self.maximumDepth { throw failure("nested more than \(Self.maximumDepth) levels deep") }
        position += 1  // the opening bracket
    }

    private mutating func parseObject() throws -> HeaderJSON {
        try enter()
        defer { depth -= 1 }
        var members: [(key: String, value: HeaderJSON)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try parseString()
            try expect(UInt8(ascii: ":"), "':'")
            members.append((key, try parseValue()))
            skipWhitespace()
            guard let byte = current else { throw failure("unexpected end of the header in an object") }
            position += 1
            if byte == UInt8(ascii: "}") { return .object(members) }
            if byte != UInt8(ascii: ",") { position -= 1; throw failure("expected ',' or '}'") }
        }
    }

    private mutating func parseArray() throws -> HeaderJSON {
        try enter()
        defer { depth -= 1 }
        var elements: [HeaderJSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard let byte = current else { throw failure("unexpected end of the header in an array") }
            position += 1
            if byte == UInt8(ascii: "]") { return .array(elements) }
            if byte != UInt8(ascii: ",") { position -= 1; throw failure("expected ',' or ']'") }
        }
    }

    private mutating func parseLiteral(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        let matches = position + count <= bytes.count && word.withUTF8Buffer { expected in
            bytes[position ..< position + count].elementsEqual(expected)
        }
        guard matches else { throw failure("unexpected character") }
        position += count
    }

    private mutating func parseNumber() throws -> String {
        let start = position
        func digits(_ parser: inout HeaderJSONParser) -> Int {
            let first = parser.position
            while let byte = parser.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { parser.position += 1 }
            return parser.position - first
        }
        if current == UInt8(ascii: "-") { position += 1 }
        let leadingZero = current == UInt8(ascii: "0")
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw failure("malformed number") }
        guard !leadingZero || integerDigits == 1 else { throw failure("number with a leading zero") }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw failure("malformed number") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw failure("malformed number") }
        }
        return String(decoding: bytes[start ..< position], as: UTF8.self)
    }

    private mutating func parseString() throws -> String {
        position += 1  // the opening quote
        var text: [UInt8] = []
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                position += 1
                try parseEscape(into: &text)
            case 0 ..< 0x20:
                throw failure("control character in a string")
            default:
                text.append(byte)
                position += 1
            }
        }
    }

    private mutating func parseEscape(into text: inout [UInt8]) throws {
        guard let byte = current else { throw failure("unterminated string") }
        position += 1
        let simple: UInt8?
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = byte
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default: position -= 1; throw failure("invalid escape")
        }
        if let simple { text.append(simple); return }
        var scalar = UInt32(try parseHex4())
        if 0xD800 ..< 0xDC00 ~= scalar {  // a high surrogate must be followed by an escaped low one
            guard parseLiteralIfPresent("\\u") else { throw failure("unpaired surrogate") }
            let low = UInt32(try parseHex4())
            guard 0xDC00 ..< 0xE000 ~= low else { throw failure("unpaired surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw failure("unpaired surrogate") }
        text.append(contentsOf: String(Character(unicode)).utf8)
    }

    private mutating func parseLiteralIfPresent(_ word: StaticString) -> Bool {
        (try? parseLiteral(word)) != nil
    }

    private mutating func parseHex4() throws -> UInt16 {
        var value: UInt16 = 0
        for _ in 0 ..< 4 {
            guard let byte = current, let digit = Self.hexValue(byte) else { throw failure("invalid \\u escape") }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// `text` as a JSON string literal: UTF-8 kept, quotes, backslashes and control characters
/// escaped. Used for the header the writer produces and for names in error messages (so a message
/// stays on one line whatever a header contains), and for the tokens of `nmt attention --format json`.
public func jsonQuoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
