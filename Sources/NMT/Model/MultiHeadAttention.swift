import Tensor

/// Multi-head attention (Vaswani et al. 2017, §3.2.2) with the projections of one block.
///
/// The q, k and v weights lie side by side in the parameter buffer, so self-attention projects
/// all three with one GEMM (`qkvWeight`, (3D, D)) and cross-attention projects the encoder memory
/// to k and v with one GEMM (`kvWeight`, (2D, D)). The weights are float32 or int8 (`LinearWeight`);
/// int8 ones serve inference only.
public struct MultiHeadAttention {
    public let heads: Int
    /// Dropout on the attention probabilities while training (config `attention_dropout`).
    let dropout: Float
    let qkvWeight: LinearWeight   // (3D, D)
    let qkvBias: Tensor           // (3D)
    let qWeight: LinearWeight     // (D, D), the first third of qkvWeight
    let qBias: Tensor             // (D)
    let kvWeight: LinearWeight    // (2D, D), the last two thirds
    let kvBias: Tensor            // (2D)
    let outWeight: LinearWeight   // (D, D)
    let outBias: Tensor           // (D)

    /// The parameters under `prefix` (e.g. `model.encoder.layers.0.self_attn`), in the order
    /// the parameter buffer must hold them.
    static func parameterLayout(prefix: String, width D: Int) -> [(name: String, shape: [Int], trainable: Bool)] {
        ["q", "k", "v"].map { ("\(prefix).\($0)_proj.weight", [D, D], true) }
            + ["q", "k", "v"].map { ("\(prefix).\($0)_proj.bias", [D], true) }
            + [("\(prefix).out_proj.weight", [D, D], true), ("\(prefix).out_proj.bias", [D], true)]
    }

    init(weights: WeightSource, prefix: String, heads: Int, dropout: Float) {
        self.heads = heads
        self.dropout = dropout
        let name = { (projection: String, kind: String) in "\(prefix).\(projection)_proj.\(kind)" }
        let parameters = weights.parameters
        qkvWeight = weights.linear(["q", "k", "v"].map { name($0, "weight") })
        qkvBias = parameters.tensor(spanning: ["q", "k", "v"].map { name($0, "bias") })
        qWeight = weights.linear([name("q", "weight")])
        qBias = parameters.tensor(name("q", "bias"))
        kvWeight = weights.linear(["k", "v"].map { name($0, "weight") })
        kvBias = parameters.tensor(spanning: ["k", "v"].map { name($0, "bias") })
        outWeight = weights.linear([name("out", "weight")])
        outBias = parameters.tensor(name("out", "bias"))
    }

    /// Self-attention of x (B, L, D) over itself, causal for the decoder (§3.2.3), with the
    /// sublayer's residual connection: returns x + dropout(attention(x)) (B, L, D) and the
    /// probabilities (B, H, L, L).
    func selfAttention(_ x: Tensor, keyPadding: [UInt8]?, causal: Bool, residualDropout: Float, tape: Tape) -> (Tensor, Tensor) {
        let D = x.size(-1)
        let qkv = tape.linear(x, weight: qkvWeight, bias: qkvBias)  // (B, L, 3D)
        let (heads, probabilities) = tape.attention(
            query: qkv, queryColumn: 0, keyValue: qkv, keyColumn: D, valueColumn: 2 * D,
            heads: self.heads, keyPadding: keyPadding, causal: causal, dropout: dropout)
        return (tape.residualLinear(heads, weight: outWeight, bias: outBias, dropout: residualDropout, residual: x), probabilities)
    }

    /// Projects the encoder memory (B, S, D) to keys and values (B, S, 2D) once per source.
    func projectKeysAndValues(_ memory: Tensor, tape: Tape) -> Tensor {
        tape.linear(memory, weight: kvWeight, bias: kvBias)
    }

    /// Encoder–decoder attention: queries from x (B, T, D), keys and values from `keysAndValues`
    /// (B, S, 2D), with the residual connection. Returns x + dropout(attention) (B, T, D) and the
    /// probabilities (B, H, T, S).
    func crossAttention(_ x: Tensor, keysAndValues: Tensor, keyPadding: [UInt8]?, residualDropout: Float, tape: Tape) -> (Tensor, Tensor) {
        let D = x.size(-1)
        let q = tape.linear(x, weight: qWeight, bias: qBias)  // (B, T, D)
        let (heads, probabilities) = tape.attention(
            query: q, queryColumn: 0, keyValue: keysAndValues, keyColumn: 0, valueColumn: D,
            heads: self.heads, keyPadding: keyPadding, causal: false, dropout: dropout)
        return (tape.residualLinear(heads, weight: outWeight, bias: outBias, dropout: residualDropout, residual: x), probabilities)
    }

    // MARK: One decoding step

    /// `selfAttention` (causal) for the newest position only: x (rows, 1, D). This position's keys
    /// and values join the cache (row r's at `cache.newRows + r`), then each row's query attends to
    /// the `cache.positions` positions its history lists. Returns x + attention (rows, 1, D).
    func selfAttentionStep(_ x: Tensor, cache: SelfAttentionCache, tape: Tape) -> Tensor {
        let D = x.size(-1), rows = x.size(0)
        let qkv = tape.linear(x, weight: qkvWeight, bias: qkvBias)  // (rows, 1, 3D)
        for r in 0..<rows {
            (cache.storage + (cache.newRows + r) * 2 * D).update(from: qkv.data + r * 3 * D + D, count: 2 * D)
        }
        let keyValues = KeyValueRows(base: cache.storage, rowStride: 2 * D, valueOffset: D,
                                     rowIndex: cache.history, rowIndexStride: cache.historyStride)
        let attended = attendOneQuery(StridedRows(base: qkv.data, rowStride: 3 * D, batchStride: 3 * D), rows: rows, width: D,
                                      keyValues: keyValues, keys: cache.positions, keyPadding: nil)
        return tape.residualLinear(attended, weight: outWeight, bias: outBias, dropout: 0, residual: x)
    }

    /// `crossAttention` for one query per row: x (rows, 1, D) over the source keys and values of
    /// each row's sentence (`memory`). Returns x + attention (rows, 1, D).
    func crossAttentionStep(_ x: Tensor, memory: CrossAttentionMemory, tape: Tape) -> Tensor {
        let D = x.size(-1), rows = x.size(0)
        let q = tape.linear(x, weight: qWeight, bias: qBias)  // (rows, 1, D)
        let keyValues = KeyValueRows(base: memory.keysAndValues, rowStride: 2 * D, valueOffset: D,
                                     rowIndex: memory.sourceRows, rowIndexStride: memory.sourceLength)
        let attended = attendOneQuery(StridedRows(base: q.data, rowStride: D, batchStride: D), rows: rows, width: D,
                                      keyValues: keyValues, keys: memory.sourceLength, keyPadding: memory.keyPadding)
        return tape.residualLinear(attended, weight: outWeight, bias: outBias, dropout: 0, residual: x)
    }

    /// The heads of one query per row over `keys` keys: (rows, 1, D).
    private func attendOneQuery(_ q: StridedRows, rows: Int, width D: Int, keyValues: KeyValueRows, keys: Int,
                                keyPadding: UnsafePointer<UInt8>?) -> Tensor {
        let shape = AttentionShape(batch: rows, queries: 1, keys: keys, heads: heads, headWidth: D / heads)
        let out = Tensor(uninitialized: [rows, 1, D])
        let probabilities = Tensor(uninitialized: [rows, heads, 1, keys])
        Kernels.attentionStep(shape: shape, scale: 1 / Float(shape.headWidth).squareRoot(), q: q, keyValues: keyValues,
                              keyPadding: keyPadding, probabilities: probabilities.data,
                              out: StridedRows(base: out.data, rowStride: D, batchStride: D))
        return out
    }
}

/// The self-attention keys and values of the positions decoded so far, for one layer. Rows of the
/// cache are written once and never moved: each live row finds its positions through a history
/// table (see `IncrementalDecoder`).
struct SelfAttentionCache {
    /// (cache rows, 2D): keys | values.
    let storage: UnsafeMutablePointer<Float>
    /// The cache row where live row 0 writes the newest position; row r writes at `newRows + r`.
    let newRows: Int
    /// For live row r, the cache rows of its positions: history[r · historyStride + t].
    let history: UnsafePointer<Int32>
    let historyStride: Int
    /// Positions to attend to, the newest included.
    let positions: Int
}

/// The encoder–decoder keys and values a decoding step attends to, for one layer.
struct CrossAttentionMemory {
    /// (sentences · S, 2D): keys | values of each sentence's source, projected once.
    let keysAndValues: UnsafePointer<Float>
    /// For live row r, the rows of its sentence's source: sourceRows[r · S + s].
    let sourceRows: UnsafePointer<Int32>
    /// (rows, S): 1 where the row's source is padding.
    let keyPadding: UnsafePointer<UInt8>
    /// S.
    let sourceLength: Int
}

/// The position-wise feed-forward network (§3.3): fc2(act(fc1(x))).
public struct FeedForward {
    let fc1Weight: LinearWeight  // (F, D)
    let fc1Bias: Tensor          // (F)
    let fc2Weight: LinearWeight  // (D, F)
    let fc2Bias: Tensor          // (D)
    let activation: Activation
    let activationDropout: Float

    static func parameterLayout(prefix: String, width D: Int, hidden F: Int) -> [(name: String, shape: [Int], trainable: Bool)] {
        [("\(prefix).fc1.weight", [F, D], true), ("\(prefix).fc1.bias", [F], true),
         ("\(prefix).fc2.weight", [D, F], true), ("\(prefix).fc2.bias", [D], true)]
    }

    init(weights: WeightSource, prefix: String, activation: Activation, activationDropout: Float) {
        fc1Weight = weights.linear(["\(prefix).fc1.weight"])
        fc1Bias = weights.parameters.tensor("\(prefix).fc1.bias")
        fc2Weight = weights.linear(["\(prefix).fc2.weight"])
        fc2Bias = weights.parameters.tensor("\(prefix).fc2.bias")
        self.activation = activation
        self.activationDropout = activationDropout
    }

    /// x + dropout(fc2(dropout(act(fc1(x))))), the sublayer with its residual connection.
    /// relu takes the fused path that stores only the (B, L, F) activations.
    func callAsFunction(_ x: Tensor, residualDropout: Float, tape: Tape) -> Tensor {
        let hidden: Tensor  // (B, L, F)
        if activation == .relu {
            hidden = tape.linearReLU(x, weight: fc1Weight, bias: fc1Bias, dropout: activationDropout)
        } else {
            hidden = tape.dropout(tape.activation(tape.linear(x, weight: fc1Weight, bias: fc1Bias), activation),
                                  probability: activationDropout)
        }
        return tape.residualLinear(hidden, weight: fc2Weight, bias: fc2Bias, dropout: residualDropout, residual: x)
    }
}

/// A learned layer norm's weight and bias.
struct LayerNormParameters {
    let weight: Tensor
    let bias: Tensor

    static func parameterLayout(name: String, width D: Int) -> [(name: String, shape: [Int], trainable: Bool)] {
        [("\(name).weight", [D], true), ("\(name).bias", [D], true)]
    }

    init(parameters: ParameterStore, name: String) {
        weight = parameters.tensor("\(name).weight")
        bias = parameters.tensor("\(name).bias")
    }

    /// Normalizes a residual sum in place: nothing else reads the sum (post-norm, §5.4).
    func callAsFunction(_ x: Tensor, tape: Tape) -> Tensor { tape.layerNormInPlace(x, weight: weight, bias: bias) }
}
