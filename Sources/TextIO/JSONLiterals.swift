/// Swift literals as JSON values, so a document built in code reads like the JSON it writes:
/// `["type": "array", "items": ["type": "integer"], "maxItems": 100]`. A dictionary literal keeps
/// its members in the order written; values that are not literals still need their case
/// (`.string(name)`, `.number(count)`, `.figure(score)`), and null is `.null` (only Optional
/// should take `nil`).
extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(elements.map { (key: $0.0, value: $0.1) }) }
}
