import Foundation
import TextIO

/// A malformed or refused `pytorch_model.bin`: one line naming the file and what is wrong.
public struct PyTorchCheckpointError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(_ source: String, _ message: String) {
        description = "\(source): \(message)"
    }
}

/// A `pytorch_model.bin` in PyTorch's zip format (`torch.save` of a state dict): the named tensors
/// of its pickle, each a view (offset, shape, strides) of a storage `data/KEY` of the archive.
/// Tensors that share a storage (tied weights) read the same bytes.
///
/// Everything is validated when the file is opened — the archive's layout, the pickle (by
/// `StateDictUnpickler`, which accepts only a state dict and runs nothing), every tensor's view
/// inside its storage — so the accessors fail only for a missing name or a request of the wrong kind.
/// The legacy format (before PyTorch 1.6, not a zip) is refused.
public struct PyTorchCheckpoint: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: SafeTensorsDType
        /// The dimensions, outermost first; `[]` is a scalar.
        public let shape: [Int]
        /// Elements to step in the storage for each dimension.
        public let strides: [Int]
        /// The first element's index in the storage.
        public let storageOffset: Int
        /// The storage's key (`data/KEY` in the archive); tied tensors share one.
        public let storageKey: String
        /// The product of `shape`.
        public let elementCount: Int
        /// The storage's bytes in the file.
        let storageBytes: Range<Int>
    }

    /// Where the bytes came from (a file path), for messages.
    public let source: String
    /// Every tensor, by name.
    public let entries: [String: Entry]
    /// The tensor names in the state dict's order.
    public let names: [String]
    private let bytes: Data

    /// Opens the file at `url`, memory-mapped, and validates it.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw PyTorchCheckpointError(url.path, "cannot read the file: \(FileError.reason(for: error, at: url))")
        }
        try self.init(data: data, source: url.path)
    }

    /// Validates `data` as a PyTorch zip checkpoint; `source` names it in messages.
    public init(data: Data, source: String) throws {
        self.source = source
        bytes = data
        let tensors = try data.withUnsafeBytes { raw in try Self.read(raw, source: source) }
        entries = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        names = tensors.map(\.name)
    }

    private static func read(_ raw: UnsafeRawBufferPointer, source: String) throws -> [Entry] {
        func failure(_ message: String) -> PyTorchCheckpointError { PyTorchCheckpointError(source, message) }
        let archive: ZipArchive
        do {
            archive = try ZipArchive(raw)
        } catch let problem as ZipProblem {
            let legacy = raw.count >= 2 && raw[0] == 0x80 ? " (a pickle: the legacy torch.save format, which nmt does not read)" : ""
            throw failure(problem.message + legacy)
        }
        // Every entry sits in one top folder, named after the archive: FOLDER/data.pkl, FOLDER/data/KEY.
        guard let pickle = archive.entries.first(where: { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2 }) else {
            throw failure("no FOLDER/data.pkl in the archive: not a PyTorch checkpoint")
        }
        let folder = String(pickle.name.dropLast("data.pkl".count))
        if let order = archive.entry(folder + "byteorder") {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: raw[order.data]), as: UTF8.self)
            guard text == "little" else { throw failure("byteorder is \(text.debugDescription); nmt reads little-endian checkpoints") }
        }
        let tensors: [(name: String, tensor: StateDictUnpickler.Tensor)]
        do {
            tensors = try StateDictUnpickler.tensors(UnsafeRawBufferPointer(rebasing: raw[pickle.data]))
        } catch let problem as PickleProblem {
            throw failure("\(pickle.name) at byte \(problem.offset): \(problem.message)")
        }
        var storageTypes: [String: SafeTensorsDType] = [:]
        return try tensors.map { name, tensor in
            func tensorFailure(_ message: String) -> PyTorchCheckpointError { failure("tensor \(JSON.quoted(name)): \(message)") }
            let storage = tensor.storage
            let path = "data/\(storage.key)"
            guard let entry = archive.entry(folder + path) else { throw tensorFailure("its storage \(path) is not in the archive") }
            if let other = storageTypes.updateValue(storage.dtype, forKey: storage.key), other != storage.dtype {
                throw tensorFailure("storage \(path) is read as \(storage.dtype.rawValue) here and as \(other.rawValue) elsewhere")
            }
            let (needed, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.byteSize)
            guard !overflow, needed <= entry.data.count else {
                throw tensorFailure("storage \(path) has \(entry.data.count) bytes, fewer than its \(storage.elementCount) elements × \(storage.dtype.byteSize)")
            }
            // A state dict's tensors never overlap themselves; a view with more elements than its
            // storage (stride 0) would only make reading it a way to allocate without bound.
            guard let elementCount = Self.elementCount(tensor.shape), elementCount <= storage.elementCount else {
                throw tensorFailure("shape \(tensor.shape) has more elements than its storage \(path) (\(storage.elementCount))")
            }
            if elementCount > 0 {
                // The last element the view reaches must lie inside the storage.
                var last = tensor.offset
                for (size, stride) in zip(tensor.shape, tensor.strides) {
                    let (step, overflow1) = (size - 1).multipliedReportingOverflow(by: stride)
                    let (sum, overflow2) = last.addingReportingOverflow(step)
                    guard !overflow1, !overflow2 else { throw tensorFailure("its strides \(tensor.strides) overflow") }
                    last = sum
                }
                guard last < storage.elementCount else {
                    throw tensorFailure("offset \(tensor.offset), shape \(tensor.shape) and strides \(tensor.strides) reach element \(last) of storage \(path), which has \(storage.elementCount)")
                }
            }
            return Entry(name: name, dtype: storage.dtype, shape: tensor.shape, strides: tensor.strides, storageOffset: tensor.offset,
                         storageKey: storage.key, elementCount: elementCount, storageBytes: entry.data)
        }
    }

    private static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    // MARK: - Reading

    /// The entry called `name`, or an error naming it and the file.
    public func entry(_ name: String) throws -> Entry {
        guard let entry = entries[name] else { throw PyTorchCheckpointError(source, "tensor \(JSON.quoted(name)): no such tensor in the file") }
        return entry
    }

    /// The shape of tensor `name`.
    public func shape(_ name: String) throws -> [Int] {
        try entry(name).shape
    }

    /// Converts a floating-point tensor straight into `buffer`, whose count must equal the tensor's.
    public func readFloats(_ name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let entry = try floatingPointEntry(name)
        guard buffer.count == entry.elementCount else {
            throw PyTorchCheckpointError(source, "tensor \(JSON.quoted(name)): destination holds \(buffer.count) floats but the tensor has \(entry.elementCount) (shape \(entry.shape))")
        }
        convertFloats(entry, into: buffer)
    }

    /// The values of an integer tensor (I64, or I32 widened) in row-major order.
    public func int64s(_ name: String) throws -> [Int64] {
        let entry = try entry(name)
        guard !entry.dtype.isFloatingPoint else {
            throw PyTorchCheckpointError(source, "tensor \(JSON.quoted(name)): is \(entry.dtype.rawValue), not an integer tensor (I64 or I32)")
        }
        var values: [Int64] = []
        values.reserveCapacity(entry.elementCount)
        withElements(entry) { storage, index in
            values.append(entry.dtype == .i64
                ? Int64(littleEndian: storage.loadUnaligned(fromByteOffset: 8 * index, as: Int64.self))
                : Int64(Int32(littleEndian: storage.loadUnaligned(fromByteOffset: 4 * index, as: Int32.self))))
        }
        return values
    }

    private func floatingPointEntry(_ name: String) throws -> Entry {
        let entry = try entry(name)
        guard entry.dtype.isFloatingPoint else {
            throw PyTorchCheckpointError(source, "tensor \(JSON.quoted(name)): is \(entry.dtype.rawValue), not a floating-point tensor")
        }
        return entry
    }

    private func convertFloats(_ entry: Entry, into destination: UnsafeMutableBufferPointer<Float>) {
        var next = 0
        withElements(entry) { storage, index in
            switch entry.dtype {
            case .f32:
                destination[next] = Float(bitPattern: UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
            case .f16:
                destination[next] = HalfPrecision.float(fromFloat16Bits: UInt16(littleEndian: storage.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
            case .bf16:
                destination[next] = HalfPrecision.float(fromBFloat16Bits: UInt16(littleEndian: storage.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
            case .f64:
                destination[next] = Float(Double(bitPattern: UInt64(littleEndian: storage.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))))
            case .i64, .i32, .i8:  // I8 only from safetensors (int8 codes); the unpickler maps no storage to it
                preconditionFailure("convertFloats called on an integer tensor")
            }
            next += 1
        }
    }

    /// Calls `body(storage, index)` with the storage index of each element of the view, in
    /// row-major order.
    private func withElements(_ entry: Entry, _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        guard entry.elementCount > 0 else { return }
        bytes.withUnsafeBytes { raw in
            let storage = UnsafeRawBufferPointer(rebasing: raw[entry.storageBytes])
            let rank = entry.shape.count
            var position = [Int](repeating: 0, count: rank)
            var index = entry.storageOffset
            for _ in 0..<entry.elementCount {
                body(storage, index)
                // Advance the multi-index like an odometer, innermost dimension fastest.
                var dimension = rank - 1
                while dimension >= 0 {
                    position[dimension] += 1
                    index += entry.strides[dimension]
                    if position[dimension] < entry.shape[dimension] { break }
                    index -= entry.strides[dimension] * entry.shape[dimension]
                    position[dimension] = 0
                    dimension -= 1
                }
            }
        }
    }
}

/// What a model loader needs from a file of named tensors: `model.safetensors` and
/// `pytorch_model.bin` alike.
public protocol NamedTensorFile: Sendable {
    /// The file's path (or what the bytes came from), for messages.
    var source: String { get }
    /// The tensor names, in the file's order.
    var names: [String] { get }
    /// The shape of tensor `name`; an error names the file and the tensor.
    func shape(_ name: String) throws -> [Int]
    /// The same, straight into `buffer` (exactly the tensor's element count).
    func readFloats(_ name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws
    /// An integer tensor's values, row-major.
    func int64s(_ name: String) throws -> [Int64]
}

extension SafeTensorsFile: NamedTensorFile {}
extension PyTorchCheckpoint: NamedTensorFile {}

extension NamedTensorFile {
    /// The shape of tensor `name`, or nil when the file has no such tensor.
    public func shapeIfPresent(_ name: String) -> [Int]? { try? shape(name) }

    /// The values of a floating-point tensor (F32, F16, BF16 or F64) as `Float`, in row-major order.
    public func floats(_ name: String) throws -> [Float] {
        // A zero dimension empties the tensor whatever the others say (they may be huge).
        let dimensions = try shape(name)
        let count = dimensions.contains(0) ? 0 : dimensions.reduce(1, *)
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readFloats(name, into: buffer)
            initialized = count
        }
    }
}
