/// Every parameter of a model in one flat buffer, with named views (as llm.c lays them out).
///
/// Gradients use the same layout in a second buffer, so zeroing, clipping, the optimizer step,
/// checkpoints and an all-reduce are each one loop over one buffer. Parameters that a layer uses
/// together (the q, k and v projections of an attention block) are laid out side by side, so
/// one view — and one GEMM — covers them all.
public final class ParameterStore {
    /// One named parameter: where it sits in the flat buffers.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { Tensor.elementCount(shape) }
        /// False for constant buffers such as Marian's `final_logits_bias`.
        public let trainable: Bool
    }

    public let entries: [Entry]
    public let count: Int
    /// All parameter values.
    public let values: UnsafeMutablePointer<Float>
    /// d loss / d parameter, same layout.
    public let gradients: UnsafeMutablePointer<Float>
    private let index: [String: Int]

    /// Lays out the parameters in the order given, zero-initialised.
    public init(layout: [(name: String, shape: [Int], trainable: Bool)]) {
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        var offset = 0
        for item in layout {
            precondition(index[item.name] == nil, "parameter \(item.name) listed twice")
            index[item.name] = entries.count
            entries.append(Entry(name: item.name, shape: item.shape, offset: offset, trainable: item.trainable))
            offset += Tensor.elementCount(item.shape)
        }
        self.entries = entries
        self.index = index
        self.count = offset
        values = .zeroedFlatBuffer(count: offset)
        gradients = .zeroedFlatBuffer(count: offset)
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The view of one parameter, with its gradient view attached when it is trainable.
    public func tensor(_ name: String) -> Tensor {
        guard let entry = entry(name) else { preconditionFailure("no parameter named \(name)") }
        return view(offset: entry.offset, shape: entry.shape, trainable: entry.trainable)
    }

    /// One view over parameters that lie next to each other and share their trailing dimensions,
    /// stacked along the first axis: e.g. the q, k and v weights (D, D) as one (3D, D) matrix.
    public func tensor(spanning names: [String]) -> Tensor {
        let parts = names.map { name -> Entry in
            guard let e = entry(name) else { preconditionFailure("no parameter named \(name)") }
            return e
        }
        for (a, b) in zip(parts, parts.dropFirst()) {
            precondition(a.offset + a.count == b.offset, "\(a.name) and \(b.name) are not adjacent")
            precondition(Array(a.shape.dropFirst()) == Array(b.shape.dropFirst()), "\(a.name) and \(b.name) differ in shape")
        }
        let shape = [parts.map { $0.shape[0] }.reduce(0, +)] + parts[0].shape.dropFirst()
        return view(offset: parts[0].offset, shape: shape, trainable: parts.allSatisfy { $0.trainable })
    }

    private func view(offset: Int, shape: [Int], trainable: Bool) -> Tensor {
        let t = Tensor(viewing: values + offset, shape: shape, owner: self)
        if trainable {
            t.requiresGradient = true
            t.gradient = Tensor(viewing: gradients + offset, shape: shape, owner: self)
        }
        return t
    }

    /// Sets every gradient to zero (the start of a training step).
    public func zeroGradients() { gradients.update(repeating: 0, count: count) }

    /// A parameter's values as an array.
    public func values(of name: String) -> [Float] {
        guard let e = entry(name) else { preconditionFailure("no parameter named \(name)") }
        return Array(UnsafeBufferPointer(start: values + e.offset, count: e.count))
    }

    /// A parameter's gradient as an array.
    public func gradient(of name: String) -> [Float] {
        guard let e = entry(name) else { preconditionFailure("no parameter named \(name)") }
        return Array(UnsafeBufferPointer(start: gradients + e.offset, count: e.count))
    }

    /// The buffer of one parameter's values, for loading.
    public func valueBuffer(_ name: String) -> UnsafeMutableBufferPointer<Float> {
        guard let e = entry(name) else { preconditionFailure("no parameter named \(name)") }
        return UnsafeMutableBufferPointer(start: values + e.offset, count: e.count)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// A zero-filled buffer in the flat parameter layout (values, gradients, optimizer moments);
    /// at least one element, so an empty model still has a valid pointer. The caller deallocates it.
    static func zeroedFlatBuffer(count: Int) -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        buffer.initialize(repeating: 0, count: max(count, 1))
        return buffer
    }
}
