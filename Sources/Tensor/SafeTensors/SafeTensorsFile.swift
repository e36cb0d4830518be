import Foundation
import TextIO

/// The element types of a safetensors file that `nmt` understands. The raw value is the spelling
/// in the header.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// IEEE 754 binary32.
    case f32 = "F32"
    /// IEEE 754 binary16, converted to `Float` on reading.
    case f16 = "F16"
    /// bfloat16 (the top 16 bits of a binary32), converted to `Float` on reading.
    case bf16 = "BF16"
    /// Signed 64-bit integers (token ids in fixtures).
    case i64 = "I64"
    /// Signed 32-bit integers, widened to `Int64` on reading.
    case i32 = "I32"
    /// IEEE 754 binary64, rounded to `Float` on reading.
    case f64 = "F64"
    /// Signed 8-bit integers: the codes of int8 weights (read with `int8s`).
    case i8 = "I8"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .i8: return 1
        case .f16, .bf16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        }
    }

    /// Whether `SafeTensorsFile.floats` reads this type (the integer types go through `int64s`).
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        case .i64, .i32, .i8: return false
        }
    }
}

/// A malformed file or a request the file cannot satisfy. The description is one line and names
/// the file and, where one is concerned, the tensor or header field.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The message, e.g. `model.safetensors: tensor "w": byte count 12 ≠ 4 elements × 4 bytes (F32)`.
    public let description: String

    /// An error about the file as a whole.
    init(_ source: String, _ message: String) {
        description = "\(source): \(message)"
    }

    /// An error about one tensor (or one header key) of the file.
    init(_ source: String, tensor name: String, _ message: String) {
        description = "\(source): tensor \(JSON.quoted(name)): \(message)"
    }
}

/// A safetensors file, read and validated completely when opened: every entry's dtype, shape and
/// byte range are checked (no overflow, inside the data, not overlapping), so the accessors fail
/// only for a missing name or a request of the wrong kind.
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`,
/// then the little-endian tensor data; offsets count from the first byte after the header.
public struct SafeTensorsFile: Sendable {
    /// One tensor's description from the header.
    public struct Entry: Sendable, Equatable {
        /// The tensor's name (its key in the header).
        public let name: String
        /// The element type as stored.
        public let dtype: SafeTensorsDType
        /// The dimensions, outermost first; `[]` is a scalar.
        public let shape: [Int]
        /// Where the tensor's bytes are, as absolute offsets in the file.
        public let byteRange: Range<Int>

        /// The number of elements: the product of `shape`, 1 for a scalar, 0 when any dimension is 0.
        public let elementCount: Int
    }

    /// Where the bytes came from (a file path), for messages.
    public let source: String
    /// The `__metadata__` string map of the header (empty when absent), e.g. `["format": "pt"]`.
    public let metadata: [String: String]
    /// Every tensor, by name.
    public let entries: [String: Entry]
    /// The tensor names in the order of their data in the file.
    public var names: [String] { orderedNames }

    private let orderedNames: [String]
    private let bytes: Data

    /// Opens the file at `url`, memory-mapped, and validates its header and layout.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(url.path, "cannot read the file: \(FileError.reason(for: error, at: url))")
        }
        try self.init(data: data, source: url.path)
    }

    /// Validates `data` as a safetensors file; `source` names it in messages.
    public init(data: Data, source: String) throws {
        self.source = source
        bytes = data
        (metadata, entries) = try data.withUnsafeBytes { raw in
            try Self.parseHeader(raw, source: source)
        }
        orderedNames = entries.values
            .sorted { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
            .map(\.name)
    }

    /// The entry called `name`, or an error naming it and the file.
    public func entry(_ name: String) throws -> Entry {
        guard let entry = entries[name] else {
            throw SafeTensorsError(source, tensor: name, "no such tensor in the file")
        }
        return entry
    }

    /// The shape of tensor `name`.
    public func shape(_ name: String) throws -> [Int] {
        try entry(name).shape
    }

    /// Converts a floating-point tensor straight into `buffer` (e.g. a slice of one big parameter
    /// buffer), whose count must equal the tensor's element count.
    public func readFloats(_ name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let entry = try floatingPointEntry(name)
        guard buffer.count == entry.elementCount else {
            throw SafeTensorsError(source, tensor: name,
                "destination holds \(buffer.count) floats but the tensor has \(entry.elementCount) (shape \(entry.shape))")
        }
        convertFloats(entry, into: buffer)
    }

    /// The values of an integer tensor (I64, or I32 or I8 widened) in row-major order.
    public func int64s(_ name: String) throws -> [Int64] {
        let entry = try entry(name)
        guard !entry.dtype.isFloatingPoint else {
            throw SafeTensorsError(source, tensor: name, "is \(entry.dtype.rawValue), not an integer tensor (I64, I32 or I8)")
        }
        let count = entry.elementCount
        return [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
            withTensorBytes(entry) { source in
                switch entry.dtype {
                case .i64:
                    for i in 0 ..< count { buffer[i] = Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
                case .i8:
                    for i in 0 ..< count { buffer[i] = Int64(source.load(fromByteOffset: i, as: Int8.self)) }
                default:  // .i32
                    for i in 0 ..< count { buffer[i] = Int64(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                }
            }
            initialized = count
        }
    }

    /// The values of an I8 tensor (int8 weight codes) in row-major order.
    public func int8s(_ name: String) throws -> [Int8] {
        let entry = try entry(name)
        guard entry.dtype == .i8 else { throw SafeTensorsError(source, tensor: name, "is \(entry.dtype.rawValue), not I8") }
        return [Int8](unsafeUninitializedCapacity: entry.elementCount) { buffer, count in
            withTensorBytes(entry) { source in
                _ = source.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
            }
            count = entry.elementCount
        }
    }

    // MARK: - Conversion

    private func floatingPointEntry(_ name: String) throws -> Entry {
        let entry = try entry(name)
        guard entry.dtype.isFloatingPoint else {
            throw SafeTensorsError(source, tensor: name, "is \(entry.dtype.rawValue), not a floating-point tensor")
        }
        return entry
    }

    private func withTensorBytes<R>(_ entry: Entry, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[entry.byteRange])) }
    }

    /// Fills `destination` (exactly `entry.elementCount` floats) from a floating-point tensor.
    private func convertFloats(_ entry: Entry, into destination: UnsafeMutableBufferPointer<Float>) {
        let count = entry.elementCount
        withTensorBytes(entry) { source in
            switch entry.dtype {
            case .f32:  // measured as fast as a memcpy on little-endian hosts
                for i in 0 ..< count {
                    destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            case .f16:
                for i in 0 ..< count {
                    destination[i] = HalfPrecision.float(fromFloat16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            case .bf16:
                for i in 0 ..< count {
                    destination[i] = HalfPrecision.float(fromBFloat16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            case .f64:
                for i in 0 ..< count {
                    destination[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
            case .i64, .i32, .i8:
                preconditionFailure("convertFloats called on an integer tensor")
            }
        }
    }
}
