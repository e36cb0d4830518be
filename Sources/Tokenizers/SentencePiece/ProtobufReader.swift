/// A reader of the protobuf wire format, as much of it as a SentencePiece `ModelProto` needs:
/// tags, varints, fixed32 and length-delimited fields, and skipping whatever else a file holds
/// (unknown fields, groups, fields of a known number but another wire type — as protobuf's own
/// parser does, which keeps those as unknown fields).
///
/// Every read is bounds-checked; a problem is a `ProtobufProblem` with the byte offset, which the
/// caller turns into one line naming the file.
struct ProtobufReader {
    /// The wire types of the format; 6 and 7 do not exist.
    enum WireType: Int {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    let bytes: [UInt8]
    private(set) var position: Int
    private let end: Int

    /// Reads `bytes[range]` (the whole array by default).
    init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        position = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    var isAtEnd: Bool { position >= end }

    /// The next field's number and wire type.
    mutating func readTag() throws -> (field: Int, wireType: WireType) {
        let start = position
        let key = try readVarint()
        guard key >> 3 != 0, key >> 3 <= 0x1FFF_FFFF else {
            throw ProtobufProblem(offset: start, message: "field number \(key >> 3) is out of range")
        }
        guard let wireType = WireType(rawValue: Int(key & 7)) else {
            throw ProtobufProblem(offset: start, message: "wire type \(key & 7) does not exist")
        }
        return (Int(key >> 3), wireType)
    }

    /// Reads every field to the end: `handle` reads the payload of the fields it knows (and
    /// returns true), the others are skipped.
    mutating func readFields(_ handle: (_ field: Int, _ wireType: WireType, _ reader: inout ProtobufReader) throws -> Bool) throws {
        while !isAtEnd {
            let (field, wireType) = try readTag()
            if try !handle(field, wireType, &self) { try skipField(wireType, field: field) }
        }
    }

    /// The payload of a length-delimited field as bytes (a string or bytes field).
    mutating func readBytes() throws -> [UInt8] {
        Array(bytes[try readLengthDelimited()])
    }

    /// A varint field as a bool, as protobuf reads one: anything but 0 is true.
    mutating func readBool() throws -> Bool {
        try readVarint() != 0
    }

    /// A base-128 varint of at most ten bytes.
    mutating func readVarint() throws -> UInt64 {
        let start = position
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw ProtobufProblem(offset: start, message: "a varint runs past the end") }
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 70 else { throw ProtobufProblem(offset: start, message: "a varint is longer than ten bytes") }
        }
    }

    /// Four little-endian bytes.
    mutating func readFixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw ProtobufProblem(offset: position, message: "a 4-byte value runs past the end") }
        var value: UInt32 = 0
        for k in 0..<4 { value |= UInt32(bytes[position + k]) << (8 * UInt32(k)) }
        position += 4
        return value
    }

    /// The byte range of a length-delimited field's payload (a string, bytes or a message).
    mutating func readLengthDelimited() throws -> Range<Int> {
        let start = position
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw ProtobufProblem(offset: start, message: "a field of \(length) bytes runs past the end (\(end - position) left)")
        }
        let range = position..<position + Int(length)
        position = range.upperBound
        return range
    }

    /// Skips the payload of a field of `wireType` whose tag was just read; a group is skipped up
    /// to its matching end, nested groups included.
    mutating func skipField(_ wireType: WireType, field: Int, depth: Int = 0) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed32: _ = try readFixed32()
        case .fixed64:
            guard end - position >= 8 else { throw ProtobufProblem(offset: position, message: "an 8-byte value runs past the end") }
            position += 8
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup:
            guard depth < 64 else { throw ProtobufProblem(offset: position, message: "groups nested too deeply") }
            while true {
                guard !isAtEnd else { throw ProtobufProblem(offset: position, message: "group \(field) has no end") }
                let (inner, innerType) = try readTag()
                if innerType == .endGroup {
                    guard inner == field else { throw ProtobufProblem(offset: position, message: "group \(field) ends as group \(inner)") }
                    return
                }
                try skipField(innerType, field: inner, depth: depth + 1)
            }
        case .endGroup:
            throw ProtobufProblem(offset: position, message: "an end of group \(field) that was never started")
        }
    }
}

/// A malformed protobuf: what is wrong and at which byte of the file.
struct ProtobufProblem: Error {
    var offset: Int
    var message: String
}
