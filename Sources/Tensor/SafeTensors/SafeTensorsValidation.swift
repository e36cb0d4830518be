import TextIO

/// Reading and validating a safetensors header: everything that can be wrong with a file is
/// found here, once, so the accessors of `SafeTensorsFile` need no further checks. Sizes are
/// computed with overflow-checked arithmetic; no input can trap.
extension SafeTensorsFile {
    static let metadataKey = "__metadata__"

    /// Parses and checks the header of the whole file `file`, returning the metadata and entries.
    static func parseHeader(_ file: UnsafeRawBufferPointer, source: String) throws -> (metadata: [String: String], entries: [String: Entry]) {
        guard file.count >= 8 else {
            throw SafeTensorsError(source, "file is \(file.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(file.count - 8) else {
            throw SafeTensorsError(source, "header length \(headerLength) runs past the end of the file (\(file.count) bytes)")
        }
        let dataStart = 8 + Int(headerLength)
        let headerBytes = [UInt8](file[8 ..< dataStart])
        guard headerBytes.withUnsafeBufferPointer({ TextLines.string(utf8: $0) }) != nil else {
            throw SafeTensorsError(source, "header is not valid UTF-8")
        }
        let header: JSON
        do {
            // Writers pad the header with spaces, which JSON allows after the value.
            header = try JSON.parse(headerBytes, maximumDepth: 64)
        } catch let error as JSONSyntaxError {
            throw SafeTensorsError(source, "header is not valid JSON: \(error.reason) at byte \(error.offset) of the header")
        }
        guard case .object(let members) = header else {
            throw SafeTensorsError(source, "header is \(header.kind), not a JSON object")
        }

        let dataLength = file.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        var seenMetadata = false
        for (name, value) in members {
            if name == metadataKey {
                guard !seenMetadata else { throw SafeTensorsError(source, "\(metadataKey) appears twice in the header") }
                seenMetadata = true
                metadata = try parseMetadata(value, source: source)
                continue
            }
            guard entries[name] == nil else {
                throw SafeTensorsError(source, tensor: name, "appears twice in the header")
            }
            entries[name] = try parseEntry(name, value, dataStart: dataStart, dataLength: dataLength, source: source)
        }
        try checkNoOverlap(entries.values, source: source)
        return (metadata, entries)
    }

    /// The `__metadata__` map; `null` counts as none (Python's library accepts it too).
    private static func parseMetadata(_ value: JSON, source: String) throws -> [String: String] {
        if case .null = value { return [:] }
        guard case .object(let members) = value else {
            throw SafeTensorsError(source, "\(metadataKey) is \(value.kind), not an object of strings")
        }
        var metadata: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let text) = value else {
                throw SafeTensorsError(source, "\(metadataKey) key \(JSON.quoted(key)) is \(value.kind), not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(_ name: String, _ value: JSON, dataStart: Int, dataLength: Int, source: String) throws -> Entry {
        func failure(_ message: String) -> SafeTensorsError { SafeTensorsError(source, tensor: name, message) }
        guard case .object(let members) = value else { throw failure("entry is \(value.kind), not an object") }
        func field(_ key: String) throws -> JSON {
            guard let member = members.first(where: { $0.key == key }) else { throw failure("missing \"\(key)\"") }
            return member.value
        }
        func integers(_ key: String) throws -> [Int] {
            let value = try field(key)
            guard case .array(let elements) = value else { throw failure("\"\(key)\" is \(value.kind), not an array") }
            return try elements.map { element in
                guard case .number(let number) = element else { throw failure("\"\(key)\" holds \(element.kind), not an integer") }
                guard let integer = number.integer else { throw failure("\"\(key)\" holds \(number.text), not an integer that fits in Int") }
                guard integer >= 0 else { throw failure("\"\(key)\" holds the negative number \(integer)") }
                return integer
            }
        }

        let dtypeValue = try field("dtype")
        guard case .string(let dtypeName) = dtypeValue else { throw failure("\"dtype\" is \(dtypeValue.kind), not a string") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw failure("unknown dtype \(JSON.quoted(dtypeName)) (readable: F32, F16, BF16, I64, I32, I8, F64)")
        }

        let shape = try integers("shape")
        var elementCount = shape.contains(0) ? 0 : 1  // so [2^62, 4, 0] is empty, not an overflow
        for dimension in shape where elementCount != 0 {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw failure("shape \(shape) has more elements than Int can count") }
            elementCount = product
        }

        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else { throw failure("\"data_offsets\" has \(offsets.count) numbers, not 2 [begin, end]") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw failure("data_offsets [\(begin), \(end)] begin after end") }
        guard end <= dataLength else {
            throw failure("data_offsets [\(begin), \(end)] run past the end of the data (\(dataLength) bytes)")
        }
        let (byteCount, overflow) = elementCount.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, byteCount == end - begin else {
            throw failure("byte count \(end - begin) ≠ \(elementCount) elements (shape \(shape)) × \(dtype.byteSize) bytes (\(dtype.rawValue))")
        }
        return Entry(name: name, dtype: dtype, shape: shape, byteRange: dataStart + begin ..< dataStart + end, elementCount: elementCount)
    }

    /// Tensors must not share bytes (empty tensors share none, wherever they sit). Gaps between
    /// tensors and bytes after the last are allowed.
    private static func checkNoOverlap(_ entries: Dictionary<String, Entry>.Values, source: String) throws {
        let sorted = entries.filter { !$0.byteRange.isEmpty }
            .sorted { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.byteRange.lowerBound < previous.byteRange.upperBound {
            throw SafeTensorsError(source, tensor: next.name, "bytes overlap those of tensor \(JSON.quoted(previous.name))")
        }
    }
}
