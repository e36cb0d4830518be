import Tensor

/// How a model's weight matrices are held and multiplied: float32, or int8 codes with one float32
/// scale per output row (CTranslate2's scheme; docs/formats.md, "int8 model directories"). Biases,
/// layer norms and `final_logits_bias` are float32 in both.
public enum WeightType: String, Sendable, CaseIterable {
    case float32
    case int8
}

/// One weight matrix as int8: codes (N, K) and scales (N), W[r] ≈ codes[r] / scales[r]; checked
/// (`QuantizedWeight.check`) before it gets here.
public struct QuantizedMatrix: Sendable {
    public let codes: [Int8]
    public let scales: [Float]
    public let shape: [Int]

    /// Checks codes and scales against `shape` (N, K); the error names the row at fault.
    public init(codes: [Int8], scales: [Float], shape: [Int]) throws(QuantizationError) {
        precondition(shape.count == 2, "a quantized matrix is (N, K), got \(shape)")
        try QuantizedWeight.check(codes: codes, scales: scales, outFeatures: shape[0], inFeatures: shape[1])
        self.codes = codes
        self.scales = scales
        self.shape = shape
    }

    /// The codes and scales of a float32 matrix (N, K).
    public init(quantizing values: UnsafeBufferPointer<Float>, shape: [Int]) throws(QuantizationError) {
        precondition(shape.count == 2 && values.count == shape[0] * shape[1], "quantizing \(values.count) values as \(shape)")
        (codes, scales) = try QuantizedWeight.quantize(values.baseAddress!, outFeatures: shape[0], inFeatures: shape[1])
        self.shape = shape
    }
}

/// Where a model's layers find their weights while it is built: the flat float32 store for every
/// parameter, or — for an int8 model — the store for biases and norms and `matrices` for the
/// weight matrices. A fused projection (q, k and v side by side) is packed once, and its parts are
/// row views of it, as the float32 parts are views of one stretch of the store. With `packsFloat`,
/// float32 matrices come packed for inference (`PackedWeight`), each stretch of the store once.
final class WeightSource {
    let parameters: ParameterStore
    private let packsFloat: Bool
    private var packedFloat: [[String]: PackedWeight] = [:]
    /// The matrices not packed yet: each leaves when it is, so that a model being loaded does not
    /// hold every matrix's codes twice (its cold start is measured: docs/BENCHMARKS.md).
    private var matrices: [String: QuantizedMatrix]?
    /// (N) of every matrix, packed or not.
    private let rowCounts: [String: Int]
    /// Matrices packed so far, with the names they stack, in order.
    private var packed: [(names: [String], weight: QuantizedWeight)] = []

    init(parameters: ParameterStore, matrices: consuming [String: QuantizedMatrix]? = nil, packsFloat: Bool = false) {
        self.parameters = parameters
        self.packsFloat = packsFloat && matrices == nil
        self.matrices = matrices
        rowCounts = matrices?.mapValues { $0.shape[0] } ?? [:]
    }

    /// The matrices `names`, adjacent in the layout and of one input width, as one weight stacked
    /// along the output rows.
    func linear(_ names: [String]) -> LinearWeight {
        guard let matrices else {
            let tensor = names.count == 1 ? parameters.tensor(names[0]) : parameters.tensor(spanning: names)
            guard packsFloat else { return .float32(tensor) }
            if let weight = packedFloat[names] { return .packedFloat32(weight) }
            let weight = PackedWeight(tensor)
            packedFloat[names] = weight
            return .packedFloat32(weight)
        }
        for (group, weight) in packed {
            guard let first = group.firstIndex(of: names[0]), group.count >= first + names.count,
                  Array(group[first ..< first + names.count]) == names else { continue }
            let start = group[..<first].map { rowCounts[$0]! }.reduce(0, +)
            let count = names.map { rowCounts[$0]! }.reduce(0, +)
            return .int8(count == weight.outFeatures ? weight : weight.rows(start ..< start + count))
        }
        let parts = names.map { name -> QuantizedMatrix in
            guard let matrix = matrices[name] else { preconditionFailure("no int8 matrix named \(name)") }
            return matrix
        }
        // Checked when the matrices were made: stacking them cannot fail.
        let weight = try! QuantizedWeight(codes: parts.count == 1 ? parts[0].codes : parts.flatMap(\.codes), scales: parts.flatMap(\.scales),
                                          outFeatures: parts.map { $0.shape[0] }.reduce(0, +), inFeatures: parts[0].shape[1])
        packed.append((names, weight))
        for name in names { self.matrices![name] = nil }
        return .int8(weight)
    }
}
