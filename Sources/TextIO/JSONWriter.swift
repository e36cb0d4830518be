extension JSON {
    /// `text` as a JSON string literal, escaped the way serde_json (and so tokenizers) writes it:
    /// quote, backslash and control characters escaped (\b \f \n \r \t by name, the others as
    /// \u00XX), everything else as raw UTF-8. Also what error messages use to quote a name, so a
    /// message stays on one line whatever a file contains.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16, uppercase: false)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// One line without spaces (`{"a":1,"b":[true,null]}`): a JSON-lines record.
    public var compact: String {
        var out = ""
        writeCompact(to: &out)
        return out
    }

    /// Pretty-printed with two-space indentation like tokenizers' files, except that arrays of
    /// scalars stay on one line (a merge is `["▁", "t"]`), which keeps files readable and their
    /// diffs small. Ends without a newline.
    public var pretty: String {
        var out = ""
        writePretty(to: &out, indent: "")
        return out
    }

    private func writeCompact(to out: inout String) {
        switch self {
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                element.writeCompact(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { out += "," }
                out += JSON.quoted(member.key) + ":"
                member.value.writeCompact(to: &out)
            }
            out += "}"
        default:
            writeScalar(to: &out)
        }
    }

    private func writePretty(to out: inout String, indent: String) {
        switch self {
        case .array(let elements):
            if elements.isEmpty { out += "[]"; return }
            if elements.allSatisfy(\.isScalar) {
                out += "["
                for (index, element) in elements.enumerated() {
                    if index > 0 { out += ", " }
                    element.writeScalar(to: &out)
                }
                out += "]"
                return
            }
            let inner = indent + "  "
            out += "[\n"
            for (index, element) in elements.enumerated() {
                out += inner
                element.writePretty(to: &out, indent: inner)
                out += index + 1 < elements.count ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            let inner = indent + "  "
            out += "{\n"
            for (index, member) in members.enumerated() {
                out += inner + JSON.quoted(member.key) + ": "
                member.value.writePretty(to: &out, indent: inner)
                out += index + 1 < members.count ? ",\n" : "\n"
            }
            out += indent + "}"
        default:
            writeScalar(to: &out)
        }
    }

    private func writeScalar(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let value): out += value.text
        case .string(let value): out += JSON.quoted(value)
        case .array, .object: preconditionFailure("not a scalar")
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }
}
