import Foundation
import TextIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a safetensors file of `Float` tensors stored as F32 or F16 (and of int8 weight codes,
/// stored as I8), readable by Python's `safetensors` and by transformers (give
/// `metadata: ["format": "pt"]` for the latter).
///
/// The file is laid out as the Python library lays it out: tensors sorted by name, packed one after
/// another, and the JSON header padded with spaces so the data starts 8-byte aligned.
public struct SafeTensorsWriter: Sendable {
    private enum Values: Sendable {
        case floats([Float])
        case int8([Int8])

        var count: Int {
            switch self {
            case .floats(let values): return values.count
            case .int8(let values): return values.count
            }
        }
    }

    private struct Stored: Sendable {
        var shape: [Int]
        var values: Values
    }

    /// The element type every float tensor is stored as.
    public let dtype: SafeTensorsDType
    /// The `__metadata__` string map written into the header (omitted when empty).
    public let metadata: [String: String]
    private var tensors: [String: Stored] = [:]

    /// A writer storing every float tensor as `dtype`, which must be `.f32` or `.f16` (F16 rounds to
    /// nearest, ties to even; see `HalfPrecision.float16Bits`).
    public init(dtype: SafeTensorsDType = .f32, metadata: [String: String] = [:]) {
        precondition(dtype == .f32 || dtype == .f16, "SafeTensorsWriter writes F32 or F16, not \(dtype.rawValue)")
        self.dtype = dtype
        self.metadata = metadata
    }

    /// Adds a tensor. `values` is row-major and must hold exactly the product of `shape` elements;
    /// the name must be new and must not be `__metadata__`.
    public mutating func add(_ name: String, shape: [Int], values: [Float]) {
        insert(name, shape: shape, values: .floats(values))
    }

    /// Adds a tensor of int8 codes, stored as I8 (same rules as the float form).
    public mutating func add(_ name: String, shape: [Int], int8 values: [Int8]) {
        insert(name, shape: shape, values: .int8(values))
    }

    private mutating func insert(_ name: String, shape: [Int], values: Values) {
        precondition(name != SafeTensorsFile.metadataKey, "SafeTensorsWriter: \"\(name)\" is reserved for the metadata")
        precondition(tensors[name] == nil, "SafeTensorsWriter: tensor \"\(name)\" added twice")
        let count = Tensor.elementCount(shape)  // traps on a negative dimension or an overflow
        precondition(values.count == count,
            "SafeTensorsWriter: tensor \"\(name)\" has \(values.count) values for shape \(shape) (\(count) elements)")
        tensors[name] = Stored(shape: shape, values: values)
    }

    /// Adds a tensor from a buffer, copying the values (same rules as the array form).
    public mutating func add(_ name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
        add(name, shape: shape, values: Array(values))
    }

    /// The complete file contents.
    public func data() -> Data {
        let names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let header = headerBytes(names: names)
        let dataStart = 8 + header.count
        let dataLength = names.reduce(0) { $0 + byteCount(tensors[$1]!) }
        var file = Data(count: dataStart + dataLength)
        file.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            raw.storeBytes(of: UInt64(header.count).littleEndian, as: UInt64.self)
            raw.baseAddress!.advanced(by: 8).copyMemory(from: header, byteCount: header.count)
            var offset = dataStart
            for name in names {
                let stored = tensors[name]!
                let destination = UnsafeMutableRawBufferPointer(rebasing: raw[offset ..< offset + byteCount(stored)])
                encode(stored.values, into: destination)
                offset += destination.count
            }
        }
        return file
    }

    /// Writes the file to `url` through a temporary file in the same directory that is renamed
    /// into place, so `url` never holds a partial file; an existing file at `url` is replaced.
    public func write(to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data().write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SafeTensorsError(url.path, "cannot write the file: \(FileError.reason(for: error))")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SafeTensorsError(url.path, "cannot move the written file into place: \(reason)")
        }
    }

    // MARK: - Layout

    private func storedType(_ stored: Stored) -> SafeTensorsDType {
        if case .int8 = stored.values { return .i8 }
        return dtype
    }

    private func byteCount(_ stored: Stored) -> Int { stored.values.count * storedType(stored).byteSize }

    private func encode(_ values: Values, into destination: UnsafeMutableRawBufferPointer) {
        switch values {
        case .int8(let codes):
            codes.withUnsafeBytes { destination.copyMemory(from: $0) }
        case .floats(let floats):
            floats.withUnsafeBufferPointer { source in
                switch dtype {
                case .f32:
                    for i in source.indices { destination.storeBytes(of: source[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                default:  // .f16, checked in init
                    for i in source.indices {
                        destination.storeBytes(of: HalfPrecision.float16Bits(source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                }
            }
        }
    }

    /// The JSON header, metadata first, then the tensors in `names` order with consecutive
    /// offsets, padded with spaces to make 8 + its length a multiple of 8.
    private func headerBytes(names: [String]) -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                .map { "\(JSON.quoted($0)):\(JSON.quoted(metadata[$0]!))" }
            parts.append("\(JSON.quoted(SafeTensorsFile.metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            let end = offset + byteCount(tensor)
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(JSON.quoted(name)):{\"dtype\":\"\(storedType(tensor).rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(parts.joined(separator: ","))}".utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        return header
    }
}
