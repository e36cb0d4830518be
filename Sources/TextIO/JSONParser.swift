extension JSON {
    /// Parses UTF-8 JSON text (RFC 8259, strictly: no trailing commas, no leading zeros, no
    /// comments) followed by optional whitespace. Nesting deeper than `maximumDepth` is refused,
    /// so hostile input cannot exhaust the stack. The error says where the problem is.
    public static func parse(_ bytes: [UInt8], maximumDepth: Int = 512) throws -> JSON {
        try bytes.withUnsafeBufferPointer { (buffer) throws -> JSON in
            var parser = JSONParser(bytes: buffer, maximumDepth: maximumDepth)
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            guard parser.position == buffer.count else { throw parser.error("unexpected text after the JSON value") }
            return value
        }
    }
}

/// Where JSON text stops being valid, and why.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    /// The 1-based line of the problem.
    public var line: Int
    /// The byte offset of the problem from the start of the text.
    public var offset: Int
    /// What is wrong, in a few words ("expected ':' after a key").
    public var reason: String

    /// "invalid JSON at line 3: expected ':' after a key".
    public var message: String { "invalid JSON at line \(line): \(reason)" }
    public var description: String { message }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    func error(_ reason: String) -> JSONSyntaxError {
        let end = min(position, bytes.count)
        let line = 1 + bytes[..<end].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        return JSONSyntaxError(line: line, offset: end, reason: reason)
    }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: StaticString, _ value: JSON) throws -> JSON {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count,
              UnsafeBufferPointer(start: literal.utf8Start, count: count).elementsEqual(bytes[position..<position + count])
        else { throw error("expected \(literal)") }
        position += count
        return value
    }

    mutating func parseValue(depth: Int) throws -> JSON {
        guard depth < maximumDepth else { throw error("nested more than \(maximumDepth) levels deep") }
        guard let byte = current else { throw error("unexpected end of the text") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character")
        }
    }

    mutating func parseObject(depth: Int) throws -> JSON {
        var members: [(key: String, value: JSON)] = []
        try parseElements(closing: "}", in: "an object") { parser in
            guard parser.current == UInt8(ascii: "\"") else { throw parser.error("expected a key in quotes") }
            let key = try parser.parseString()
            parser.skipWhitespace()
            guard parser.current == UInt8(ascii: ":") else { throw parser.error("expected ':' after a key") }
            parser.position += 1
            parser.skipWhitespace()
            members.append((key, try parser.parseValue(depth: depth + 1)))
        }
        return .object(members)
    }

    mutating func parseArray(depth: Int) throws -> JSON {
        var elements: [JSON] = []
        try parseElements(closing: "]", in: "an array") { parser in
            elements.append(try parser.parseValue(depth: depth + 1))
        }
        return .array(elements)
    }

    /// After an opening bracket: elements separated by commas up to the `closing` bracket, each
    /// read by `element` from its first non-blank byte.
    mutating func parseElements(closing: Unicode.Scalar, in container: String, _ element: (inout JSONParser) throws -> Void) throws {
        let closing = UInt8(ascii: closing)
        position += 1
        skipWhitespace()
        if current == closing {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            guard current != nil else { throw error("unexpected end of the text in \(container)") }
            try element(&self)
            skipWhitespace()
            guard let byte = current else { throw error("unexpected end of the text in \(container)") }
            if byte == UInt8(ascii: ",") { position += 1; continue }
            if byte == closing { position += 1; return }
            throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))' in \(container)")
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    mutating func parseNumber() throws -> JSONNumber {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.position
            while let byte = parser.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { parser.position += 1 }
            return parser.position - first
        }
        if current == UInt8(ascii: "-") { position += 1 }
        let leadingZero = current == UInt8(ascii: "0")
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("a malformed number") }
        guard !leadingZero || integerDigits == 1 else { throw error("a number with a leading zero") }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("a malformed number") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("a malformed number") }
        }
        return JSONNumber(validatedText: String(decoding: bytes[start..<position], as: UTF8.self))
    }

    mutating func parseString() throws -> String {
        position += 1  // the opening quote
        var scalars: [UInt8] = []
        var runStart = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                scalars.append(contentsOf: bytes[runStart..<position])
                position += 1
                guard let string = String(validatingUTF8Bytes: scalars) else { throw error("a string is not valid UTF-8") }
                return string
            }
            if byte < 0x20 { throw error("a control character inside a string") }
            if byte != UInt8(ascii: "\\") { position += 1; continue }
            scalars.append(contentsOf: bytes[runStart..<position])
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0C)
            case UInt8(ascii: "n"): scalars.append(0x0A)
            case UInt8(ascii: "r"): scalars.append(0x0D)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                    else { throw error("a lone surrogate in a \\u escape") }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate in a \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("a lone surrogate in a \\u escape") }
                scalars.append(contentsOf: UTF8.encode(scalar)!)
            default:
                position -= 1
                throw error("unknown escape \\\(Character(Unicode.Scalar(escape)))")
            }
            runStart = position
        }
        throw error("unexpected end of the text in a string")
    }

    mutating func parseHex4() throws -> UInt32 {
        var code: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw error("a short \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a bad hex digit in a \\u escape")
            }
            code = code << 4 | UInt32(digit)
            position += 1
        }
        return code
    }
}
