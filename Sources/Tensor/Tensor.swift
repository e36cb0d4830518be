/// A Float32 tensor: contiguous, row-major, with a shape.
///
/// A tensor either owns its memory or is a view into another buffer (the parameters of a model
/// are views into one flat buffer, see `ParameterStore`). A tensor recorded on a `Tape` may carry a
/// gradient of the same shape, allocated when backward first reaches it.
public final class Tensor {
    /// The dimensions, outermost first.
    public let shape: [Int]
    /// The number of elements, the product of `shape`.
    public let count: Int
    /// The first element. Valid while this tensor (or the buffer it views) lives.
    public let data: UnsafeMutablePointer<Float>
    /// Whether backward should compute d loss / d self.
    public var requiresGradient: Bool
    /// d loss / d self, once backward has reached this tensor (or preset, for parameters).
    public var gradient: Tensor?

    private let ownsMemory: Bool
    /// Keeps the buffer of a view alive.
    private let base: AnyObject?

    /// A new tensor of zeros.
    public init(zeros shape: [Int], requiresGradient: Bool = false) {
        let count = Tensor.elementCount(shape)
        self.shape = shape
        self.count = count
        self.data = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        self.data.initialize(repeating: 0, count: max(count, 1))
        self.ownsMemory = true
        self.base = nil
        self.requiresGradient = requiresGradient
    }

    /// A new tensor whose contents the caller will overwrite completely before reading.
    public init(uninitialized shape: [Int]) {
        let count = Tensor.elementCount(shape)
        self.shape = shape
        self.count = count
        self.data = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        self.ownsMemory = true
        self.base = nil
        self.requiresGradient = false
    }

    /// A new tensor holding `values`.
    public convenience init(_ values: [Float], shape: [Int], requiresGradient: Bool = false) {
        precondition(values.count == Tensor.elementCount(shape),
                     "Tensor: \(values.count) values for shape \(shape)")
        self.init(uninitialized: shape)
        self.requiresGradient = requiresGradient
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A view of `count(shape)` elements starting at `pointer`, kept alive by `owner`.
    public init(viewing pointer: UnsafeMutablePointer<Float>, shape: [Int], owner: AnyObject?) {
        self.shape = shape
        self.count = Tensor.elementCount(shape)
        self.data = pointer
        self.ownsMemory = false
        self.base = owner
        self.requiresGradient = false
    }

    deinit {
        if ownsMemory { data.deallocate() }
    }

    /// The same elements under another shape (a view, no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) == count, "reshape \(shape) → \(newShape)")
        let view = Tensor(viewing: data, shape: newShape, owner: self)
        return view
    }

    /// The only element of a one-element tensor (a loss). Read it through this property rather
    /// than `data[0]` on a temporary: the pointer does not keep the tensor alive.
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor of shape \(shape)")
        return data[0]
    }

    /// The elements as an array.
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    /// The size of dimension `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[axis < 0 ? shape.count + axis : axis] }

    /// The gradient, allocating a zeroed one the first time.
    public func gradientBuffer() -> Tensor {
        if let gradient { return gradient }
        let g = Tensor(zeros: shape)
        gradient = g
        return g
    }

    /// Overwrites every element with `value`.
    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    /// Copies the elements of `other` (same count) into self.
    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    /// The product of the dimensions; traps on a negative dimension or an overflow.
    public static func elementCount(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape {
            precondition(d >= 0, "negative dimension in shape \(shape)")
            let (product, overflow) = n.multipliedReportingOverflow(by: d)
            precondition(!overflow, "shape \(shape) overflows")
            n = product
        }
        return n
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(shown)\(count > 8 ? ", …" : "")]"
    }
}
