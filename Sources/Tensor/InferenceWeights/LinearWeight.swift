/// The weight W (N, K) of a linear map y = x · Wᵀ + b: float32 (trainable, a view into the
/// parameters), float32 packed for inference as well, or int8 codes with one scale per row
/// (inference only). Layers hold this instead of a tensor, so one layer code runs any model; the
/// ops below choose the kernel.
public enum LinearWeight {
    case float32(Tensor)
    case packedFloat32(PackedWeight)
    case int8(QuantizedWeight)

    /// N.
    public var outFeatures: Int {
        switch self {
        case .float32(let w): return w.size(0)
        case .packedFloat32(let w): return w.outFeatures
        case .int8(let w): return w.outFeatures
        }
    }

    /// K.
    public var inFeatures: Int {
        switch self {
        case .float32(let w): return w.size(1)
        case .packedFloat32(let w): return w.inFeatures
        case .int8(let w): return w.inFeatures
        }
    }

    /// The float32 matrix, for the code that only a float model runs (training, inspection of raw
    /// weights); an int8 weight has none.
    public var float32: Tensor {
        switch self {
        case .float32(let w): return w
        case .packedFloat32(let w): return w.tensor
        case .int8: preconditionFailure("int8 weights serve inference only; this needs float32 weights")
        }
    }

    /// Row `r` of W as float32, written to `out` (K): the value itself, or what its codes give back.
    public func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .float32, .packedFloat32:
            let w = float32
            precondition(r >= 0 && r < w.size(0), "row \(r) of a weight of \(w.size(0)) rows")
            out.update(from: w.data + r * w.size(1), count: w.size(1))
        case .int8(let w):
            w.dequantizeRow(r, into: out)
        }
    }
}

/// The inference forms of the linear ops for a packed float32 weight (`Kernels.packedLinear`) and an
/// int8 one (`Kernels.quantizedLinear`, the codes in the tape's workspace); a float32 weight takes
/// the float op unchanged.
extension Tape {
    private func checkInference(_ x: Tensor) {
        precondition(!isTraining && !needsGradient(x), "packed and int8 weights serve inference only")
    }

    /// y (…, N) = x (…, K) · Wᵀ + b.
    public func linear(_ x: Tensor, weight: LinearWeight, bias: Tensor?) -> Tensor {
        switch weight {
        case .float32(let w):
            return linear(x, weight: w, bias: bias)
        case .packedFloat32(let w):
            checkInference(x)
            return Kernels.packedLinear(x, weight: w, bias: bias)
        case .int8(let w):
            checkInference(x)
            return Kernels.quantizedLinear(x, weight: w, bias: bias, workspace: quantizationWorkspace)
        }
    }

    /// y (…, N) = dropout(relu(x · Wᵀ + b)); packed and int8 fuse the ReLU into the product.
    public func linearReLU(_ x: Tensor, weight: LinearWeight, bias: Tensor?, dropout p: Float) -> Tensor {
        switch weight {
        case .float32(let w):
            return linearReLU(x, weight: w, bias: bias, dropout: p)
        case .packedFloat32(let w):
            checkInference(x)
            return Kernels.packedLinear(x, weight: w, bias: bias, relu: true)
        case .int8(let w):
            checkInference(x)
            return Kernels.quantizedLinear(x, weight: w, bias: bias, relu: true, workspace: quantizationWorkspace)
        }
    }

    /// y (…, N) = residual + dropout(x · Wᵀ + b); packed and int8 fuse the residual into the product.
    public func residualLinear(_ x: Tensor, weight: LinearWeight, bias: Tensor?, dropout p: Float, residual: Tensor) -> Tensor {
        switch weight {
        case .float32(let w):
            return residualLinear(x, weight: w, bias: bias, dropout: p, residual: residual)
        case .packedFloat32(let w):
            checkInference(x)
            return Kernels.packedLinear(x, weight: w, bias: bias, residual: residual).reshaped(residual.shape)
        case .int8(let w):
            checkInference(x)
            return Kernels.quantizedLinear(x, weight: w, bias: bias, residual: residual, workspace: quantizationWorkspace)
                .reshaped(residual.shape)
        }
    }

    /// `embedding` with the table given as a linear weight (V, D) — the tied output projection:
    /// an int8 table gives each row back from its codes, E[id] = codes[id] / scale[id].
    public func embedding(
        ids: [Int32], positions: [Int32], batch: Int, length: Int,
        table: LinearWeight, scale: Float, positionTable: Tensor, padId: Int32?, dropout p: Float = 0
    ) -> Tensor {
        switch table {
        case .float32, .packedFloat32:
            let t = table.float32
            return embedding(ids: ids, positions: positions, batch: batch, length: length, table: t, scale: scale,
                             positionTable: positionTable, padId: padId, dropout: p)
        case .int8(let t):
            precondition(!isTraining, "int8 weights serve inference only")
            let width = t.inFeatures
            precondition(ids.count == batch * length && positions.count == ids.count, "embedding: ids are (B·L)")
            precondition(ids.allSatisfy { $0 >= 0 && Int($0) < t.outFeatures }, "embedding: id outside the vocabulary of \(t.outFeatures)")
            precondition(positions.allSatisfy { $0 >= 0 && Int($0) < positionTable.size(0) }, "embedding: position past the table of \(positionTable.size(0))")
            let y = Tensor(uninitialized: [batch, length, width])
            ids.withUnsafeBufferPointer { idp in
                positions.withUnsafeBufferPointer { pp in
                    Kernels.quantizedEmbeddingForward(ids: idp.baseAddress!, positions: pp.baseAddress!, rows: ids.count, table: t,
                                                      scale: scale, positionTable: positionTable.data, out: y.data)
                }
            }
            return y
        }
    }
}

extension Kernels {
    /// out (rows, D) = E[ids[r]] · scale + positionTable[positions[r]], E's rows given back from
    /// their int8 codes: codes[id] · (1 / scales[id]).
    public static func quantizedEmbeddingForward(
        ids: UnsafePointer<Int32>, positions: UnsafePointer<Int32>, rows: Int, table: QuantizedWeight, scale: Float,
        positionTable: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let width = table.inFeatures
        for r in 0..<rows {
            let id = Int(ids[r])
            let codes = table.codes.baseAddress! + id * width, factor = 1 / table.scales[id]
            let p = positionTable + Int(positions[r]) * width
            let o = out + r * width
            for i in 0..<width { o[i] = Float(codes[i]) * factor * scale + p[i] }
        }
    }
}
