/// A pickle reader that accepts only what `torch.save(model.state_dict())` writes: an OrderedDict
/// of tensors rebuilt by `torch._utils._rebuild_tensor_v2` from typed storages, and the
/// `_metadata` dict its BUILD sets. It executes nothing: the few globals it accepts are names it
/// interprets itself, and any other global, opcode or use of them is refused.
///
/// Values live in flat arrays (containers refer to each other by index), so however a hostile
/// pickle nests them, nothing is freed recursively.
struct StateDictUnpickler {
    /// A storage as a persistent id names it: `data/KEY` in the archive.
    struct Storage: Equatable {
        var key: String
        var dtype: SafeTensorsDType
        var elementCount: Int
    }

    /// A tensor as `_rebuild_tensor_v2` would make it: a view of a storage.
    struct Tensor: Equatable {
        var storage: Storage
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    private enum Global: Equatable {
        case orderedDict
        case rebuildTensor
        case storageType(SafeTensorsDType)
    }

    private enum Value {
        case none
        case bool(Bool)
        case int(Int64)
        case string(String)
        case tuple(Int)  // index into `tuples`
        case dict(Int)  // index into `dicts`
        case global(Global)
        case storage(Storage)
        case tensor(Tensor)
    }

    private var tuples: [[Value]] = []
    private var dicts: [[(key: Value, value: Value)]] = []
    private var stack: [Value] = []
    private var marks: [Int] = []
    private var memo: [Int: Value] = [:]

    /// The storage types a state dict's tensors may use.
    private static let storageTypes: [String: SafeTensorsDType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "LongStorage": .i64,
        "DoubleStorage": .f64, "IntStorage": .i32,
    ]

    /// The tensors of the state dict pickled in `bytes`, in the dict's order.
    static func tensors(_ bytes: UnsafeRawBufferPointer) throws -> [(name: String, tensor: Tensor)] {
        var unpickler = StateDictUnpickler()
        return try unpickler.run(PickleReader(bytes: bytes))
    }

    private mutating func run(_ input: PickleReader) throws -> [(name: String, tensor: Tensor)] {
        var reader = input
        while true {
            let at = reader.position
            let opcode = try reader.byte()
            func fail(_ message: String) -> PickleProblem { PickleProblem(offset: at, message: message) }
            switch opcode {
            case 0x80: // PROTO
                let version = try reader.byte()
                guard version <= 5 else { throw fail("pickle protocol \(version) does not exist") }
            case 0x2E: // STOP
                guard stack.count == 1, marks.isEmpty else { throw fail("STOP with \(stack.count) values on the stack") }
                return try result(stack[0], at: at)
            case 0x28: marks.append(stack.count) // MARK
            case 0x4E: stack.append(.none) // NONE
            case 0x88: stack.append(.bool(true)) // NEWTRUE
            case 0x89: stack.append(.bool(false)) // NEWFALSE
            case 0x4B: stack.append(.int(Int64(try reader.byte()))) // BININT1
            case 0x4D: stack.append(.int(Int64(try reader.uint(bytes: 2)))) // BININT2
            case 0x4A: stack.append(.int(Int64(Int32(truncatingIfNeeded: try reader.uint(bytes: 4))))) // BININT
            case 0x8A: // LONG1
                let length = Int(try reader.byte())
                guard length <= 8 else { throw fail("an integer of \(length) bytes is too large for a state dict") }
                let raw = try reader.uint(bytes: length)
                let shift = UInt64(64 - 8 * length)
                stack.append(.int(length == 0 ? 0 : Int64(bitPattern: raw << shift) >> Int64(shift)))
            case 0x58: // BINUNICODE
                let length = Int(try reader.uint(bytes: 4))
                guard let text = String(validating: try reader.bytes(length), as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
                stack.append(.string(text))
            case 0x63: // GLOBAL
                let module = try reader.line(), name = try reader.line()
                stack.append(.global(try global(module: module, name: name, fail: fail)))
            case 0x29: stack.append(.tuple(newTuple([]))) // EMPTY_TUPLE
            case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                let items = try pop(Int(opcode - 0x84), fail)
                stack.append(.tuple(newTuple(items)))
            case 0x74: // TUPLE
                let items = try popToMark(fail)
                stack.append(.tuple(newTuple(items)))
            case 0x7D: // EMPTY_DICT
                dicts.append([])
                stack.append(.dict(dicts.count - 1))
            case 0x73: // SETITEM
                let pair = try pop(2, fail)
                try setItems(pair, fail)
            case 0x75: // SETITEMS
                try setItems(try popToMark(fail), fail)
            case 0x71, 0x72: // BINPUT, LONG_BINPUT
                let index = Int(try reader.uint(bytes: opcode == 0x71 ? 1 : 4))
                guard let top = stack.last else { throw fail("PUT with an empty stack") }
                memo[index] = top
            case 0x68, 0x6A: // BINGET, LONG_BINGET
                let index = Int(try reader.uint(bytes: opcode == 0x68 ? 1 : 4))
                guard let value = memo[index] else { throw fail("GET of memo \(index), which was never PUT") }
                stack.append(value)
            case 0x51: // BINPERSID
                stack.append(.storage(try storage(pop(1, fail)[0], fail)))
            case 0x52: // REDUCE
                let pair = try pop(2, fail)
                stack.append(try reduce(pair[0], pair[1], fail))
            case 0x62: // BUILD
                let pair = try pop(2, fail)
                guard case .dict = pair[0], case .dict = pair[1] else { throw fail("BUILD of something other than a dict's metadata") }
                stack.append(pair[0])  // the _metadata it sets is not needed
            default:
                throw fail("opcode \(Self.describe(opcode)) is not one a state dict uses")
            }
        }
    }

    private mutating func newTuple(_ items: [Value]) -> Int {
        tuples.append(items)
        return tuples.count - 1
    }

    private mutating func pop(_ count: Int, _ fail: (String) -> PickleProblem) throws -> [Value] {
        guard stack.count - (marks.last ?? 0) >= count else { throw fail("an opcode needs \(count) values, the stack has fewer") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    private mutating func popToMark(_ fail: (String) -> PickleProblem) throws -> [Value] {
        guard let mark = marks.popLast() else { throw fail("no MARK to end at") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    /// SETITEM(S): `items` (key, value, key, value, …) go into the dict below them.
    private mutating func setItems(_ items: [Value], _ fail: (String) -> PickleProblem) throws {
        guard items.count % 2 == 0, case .dict(let index)? = stack.last else { throw fail("SETITEM(S) without a dict below the items") }
        for pair in stride(from: 0, to: items.count, by: 2) {
            // Values may be scalars, strings, tensors or dicts (the metadata's), never tuples of them.
            switch items[pair + 1] {
            case .global, .storage, .tuple, .none: throw fail("a dict value that a state dict does not have")
            default: break
            }
            dicts[index].append((items[pair], items[pair + 1]))
        }
    }

    private func global(module: String, name: String, fail: (String) -> PickleProblem) throws -> Global {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor
        case ("torch", _):
            if let dtype = Self.storageTypes[name] { return .storageType(dtype) }
            throw fail("global torch.\(name) is not a storage type nmt reads (Float, Half, BFloat16, Long, Double, Int)")
        default:
            throw fail("global \(module).\(name) is not one a state dict uses (refused: loading it would run code)")
        }
    }

    /// A persistent id `("storage", StorageType, key, location, element count)`.
    private func storage(_ id: Value, _ fail: (String) -> PickleProblem) throws -> Storage {
        guard case .tuple(let index) = id, tuples[index].count == 5, case .string("storage") = tuples[index][0],
              case .global(.storageType(let dtype)) = tuples[index][1], case .string(let key) = tuples[index][2],
              case .string = tuples[index][3], case .int(let count) = tuples[index][4], count >= 0
        else { throw fail("a persistent id that is not (\"storage\", type, key, location, size)") }
        return Storage(key: key, dtype: dtype, elementCount: Int(count))
    }

    /// REDUCE: `OrderedDict()` or `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    private mutating func reduce(_ callable: Value, _ arguments: Value, _ fail: (String) -> PickleProblem) throws -> Value {
        guard case .tuple(let index) = arguments else { throw fail("REDUCE with arguments that are not a tuple") }
        let items = tuples[index]
        switch callable {
        case .global(.orderedDict):
            guard items.isEmpty else { throw fail("OrderedDict called with arguments") }
            dicts.append([])
            return .dict(dicts.count - 1)
        case .global(.rebuildTensor):
            guard items.count == 6 || items.count == 7, case .storage(let storage) = items[0], case .int(let offset) = items[1],
                  case .tuple(let size) = items[2], case .tuple(let stride) = items[3], case .bool = items[4],
                  case .dict(let hooks) = items[5], dicts[hooks].isEmpty
            else { throw fail("_rebuild_tensor_v2 called with arguments other than (storage, offset, size, stride, requires_grad, {})") }
            if items.count == 7 {
                guard case .dict(let metadata) = items[6], dicts[metadata].isEmpty else { throw fail("_rebuild_tensor_v2 with tensor metadata") }
            }
            func integers(_ tuple: Int) throws -> [Int] {
                try tuples[tuple].map { item in
                    guard case .int(let value) = item, value >= 0 else { throw fail("a tensor size or stride that is not a non-negative integer") }
                    return Int(value)
                }
            }
            let shape = try integers(size), strides = try integers(stride)
            guard shape.count == strides.count, offset >= 0 else { throw fail("a tensor whose size and stride disagree, or a negative offset") }
            return .tensor(Tensor(storage: storage, offset: Int(offset), shape: shape, strides: strides))
        default:
            throw fail("REDUCE of something that is not OrderedDict or _rebuild_tensor_v2")
        }
    }

    /// The top-level value: an OrderedDict (or dict) of name → tensor; a later duplicate name
    /// replaces the earlier tensor in its place, as a Python dict does.
    private func result(_ value: Value, at offset: Int) throws -> [(name: String, tensor: Tensor)] {
        guard case .dict(let index) = value else { throw PickleProblem(offset: offset, message: "the pickle is not a dict of tensors") }
        var tensors: [(name: String, tensor: Tensor)] = []
        var position: [String: Int] = [:]
        for (key, item) in dicts[index] {
            guard case .string(let name) = key, case .tensor(let tensor) = item else {
                throw PickleProblem(offset: offset, message: "the pickle's dict holds something other than name → tensor")
            }
            if let existing = position[name] { tensors[existing].tensor = tensor } else {
                position[name] = tensors.count
                tensors.append((name, tensor))
            }
        }
        return tensors
    }

    private static func describe(_ opcode: UInt8) -> String {
        let names: [UInt8: String] = [
            0x93: "STACK_GLOBAL", 0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x8C: "SHORT_BINUNICODE",
            0x94: "MEMOIZE", 0x95: "FRAME", 0x5D: "EMPTY_LIST", 0x61: "APPEND", 0x65: "APPENDS", 0x47: "BINFLOAT", 0x42: "BINBYTES",
            0x43: "SHORT_BINBYTES", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x49: "INT", 0x4C: "LONG", 0x56: "UNICODE",
            0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING", 0x70: "PUT", 0x67: "GET", 0x6C: "LIST", 0x64: "DICT",
            0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8B: "LONG4", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP",
        ]
        let hex = "0x" + (opcode < 16 ? "0" : "") + String(opcode, radix: 16)
        return names[opcode].map { "\($0) (\(hex))" } ?? hex
    }
}

/// A malformed or refused pickle: what and at which byte of data.pkl.
struct PickleProblem: Error {
    var offset: Int
    var message: String
}

/// Bounds-checked reads from a pickle.
private struct PickleReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    private func truncated() -> PickleProblem { PickleProblem(offset: position, message: "the pickle ends in the middle of an opcode") }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw truncated() }
        defer { position += 1 }
        return bytes[position]
    }

    /// A little-endian unsigned integer of `count` (≤ 8) bytes.
    mutating func uint(bytes count: Int) throws -> UInt64 {
        guard count <= bytes.count - position else { throw truncated() }
        var value: UInt64 = 0
        for k in 0..<count { value |= UInt64(bytes[position + k]) << (8 * UInt64(k)) }
        position += count
        return value
    }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count <= bytes.count - position else { throw truncated() }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// The text up to the next newline (GLOBAL's module and name).
    mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw truncated() }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }
}
