import Tensor

/// The decoder run one position at a time for generation (Vaswani et al. 2017, §3.2.3: each
/// position attends only to the earlier ones, so their keys and values never change and can be
/// kept). Per layer it caches the self-attention keys and values of every position decoded so far,
/// and the encoder–decoder keys and values, which are computed once per source.
///
/// Rows are hypotheses (a sentence in greedy search, a beam in beam search). `select(rows:)`
/// reorders and drops rows — beams that survive a step, sentences that have finished — so work
/// shrinks as sentences end.
final class IncrementalDecoder {
    let model: Transformer
    /// Live rows.
    private(set) var rows: Int
    /// Positions decoded so far (the next step runs at this position).
    private(set) var length = 0
    /// Positions the self-attention cache can hold.
    let capacity: Int
    let sourceLength: Int
    private let width: Int
    /// Per layer: (rows, capacity, 2D) keys | values of the decoded positions, and a spare buffer
    /// of the same size that `select` gathers into.
    private var selfCache: [Tensor]
    private var spareCache: [Tensor]
    /// Per layer: (rows, S, 2D) encoder–decoder keys | values.
    private var crossKeysAndValues: [Tensor]
    /// (rows · S): 1 at padded source positions.
    private var keyPadding: [UInt8]

    /// Attention probabilities of the last step, kept only when `recordsAttention` is set:
    /// per layer (rows, H, 1, length) for self-attention and (rows, H, 1, S) for cross-attention.
    var recordsAttention = false
    private(set) var lastSelfAttention: [Tensor] = []
    private(set) var lastCrossAttention: [Tensor] = []

    /// Prepares decoding of `encoderOutput`'s sources, each repeated `copies` times, with room for
    /// up to `rowCapacity` rows later (beam search starts with one row a sentence and grows to k).
    init(model: Transformer, encoderOutput: EncoderOutput, copies: Int, capacity: Int, rowCapacity: Int? = nil) {
        let tape = Tape.inference
        self.model = model
        let B = encoderOutput.memory.size(0), S = encoderOutput.memory.size(1), D = model.config.modelWidth
        self.rows = B * copies
        self.capacity = capacity
        self.sourceLength = S
        self.width = D
        var rowSources: [Int] = []
        for b in 0..<B { rowSources += Array(repeating: b, count: copies) }
        let memory = copies == 1 ? encoderOutput.memory : IncrementalDecoder.gather(encoderOutput.memory, rows: rowSources)
        crossKeysAndValues = model.decoderLayers.map { $0.crossAttention.projectKeysAndValues(memory, tape: tape) }
        keyPadding = rowSources.flatMap { encoderOutput.keyPadding[($0 * S)..<(($0 + 1) * S)] }
        let cacheRows = max(rowCapacity ?? 0, B * copies)
        selfCache = model.decoderLayers.map { _ in Tensor(uninitialized: [cacheRows, capacity, 2 * D]) }
        spareCache = model.decoderLayers.map { _ in Tensor(uninitialized: [cacheRows, capacity, 2 * D]) }
    }

    /// Feeds one token per row at position `length` and returns the logits (rows, V).
    func step(ids: [Int32]) -> Tensor {
        precondition(ids.count == rows, "step: \(ids.count) ids for \(rows) rows")
        precondition(length < capacity, "step: the cache holds \(capacity) positions")
        let tape = Tape.inference
        let D = width, position = length, S = sourceLength
        var x = model.embed(ids: ids, positions: [Int32](repeating: Int32(position), count: rows), batch: rows, length: 1, tape: tape)
        if recordsAttention {
            lastSelfAttention = []
            lastCrossAttention = []
        }
        for (index, layer) in model.decoderLayers.enumerated() {
            // Masked self-attention over the cache plus this position.
            let attention = layer.selfAttention
            let qkv = tape.linear(x, weight: attention.qkvWeight, bias: attention.qkvBias)  // (rows, 1, 3D)
            let cache = selfCache[index]
            for r in 0..<rows {
                (cache.data + (r * capacity + position) * 2 * D).update(from: qkv.data + r * 3 * D + D, count: 2 * D)
            }
            let headWidth = D / attention.heads
            let selfShape = AttentionShape(batch: rows, queries: 1, keys: position + 1, heads: attention.heads, headWidth: headWidth)
            let attended = attend(shape: selfShape,
                                  q: StridedRows(base: qkv.data, rowStride: 3 * D, batchStride: 3 * D),
                                  keyValues: StridedRows(base: cache.data, rowStride: 2 * D, batchStride: capacity * 2 * D),
                                  padding: nil, record: &lastSelfAttention)
            let h1 = layer.selfAttentionNorm(tape.add(x, tape.linear(attended, weight: attention.outWeight, bias: attention.outBias)), tape: tape)

            // Encoder–decoder attention over the cached source keys and values.
            let cross = layer.crossAttention
            let q = tape.linear(h1, weight: cross.qWeight, bias: cross.qBias)  // (rows, 1, D)
            let crossShape = AttentionShape(batch: rows, queries: 1, keys: S, heads: cross.heads, headWidth: D / cross.heads)
            let crossed = keyPadding.withUnsafeBufferPointer { padding in
                attend(shape: crossShape,
                       q: StridedRows(base: q.data, rowStride: D, batchStride: D),
                       keyValues: StridedRows(base: crossKeysAndValues[index].data, rowStride: 2 * D, batchStride: S * 2 * D),
                       padding: padding.baseAddress, record: &lastCrossAttention)
            }
            let h2 = layer.crossAttentionNorm(tape.add(h1, tape.linear(crossed, weight: cross.outWeight, bias: cross.outBias)), tape: tape)
            x = layer.finalNorm(tape.add(h2, layer.feedForward(h2, tape: tape)), tape: tape)
        }
        length += 1
        return model.logits(x.reshaped([rows, D]), tape: tape)
    }

    /// One attention call for a single query per row; keys at `keyValues`, values D columns on.
    private func attend(shape: AttentionShape, q: StridedRows, keyValues: StridedRows, padding: UnsafePointer<UInt8>?,
                        record: inout [Tensor]) -> Tensor {
        let D = width
        let out = Tensor(uninitialized: [rows, 1, D])
        let probabilities = Tensor(uninitialized: [rows, shape.heads, 1, shape.keys])
        var values = keyValues
        values.base += D
        Kernels.attentionForward(shape: shape, scale: 1 / Float(shape.headWidth).squareRoot(),
                                 q: q, k: keyValues, v: values, mask: AttentionMask(keyPadding: padding),
                                 probabilities: probabilities.data,
                                 out: StridedRows(base: out.data, rowStride: D, batchStride: D))
        if recordsAttention { record.append(probabilities) }
        return out
    }

    /// Keeps the rows listed, in that order (a row may repeat: two beams from one parent).
    func select(rows indices: [Int]) {
        precondition(indices.allSatisfy { $0 >= 0 && $0 < rows }, "select: row out of range")
        precondition(indices.count <= spareCache.first.map { $0.size(0) } ?? 0, "select: more rows than the cache was made for")
        let D = width, S = sourceLength
        for layer in selfCache.indices {
            let from = selfCache[layer], to = spareCache[layer]
            for (newRow, oldRow) in indices.enumerated() {
                (to.data + newRow * capacity * 2 * D).update(from: from.data + oldRow * capacity * 2 * D, count: length * 2 * D)
            }
            selfCache[layer] = to
            spareCache[layer] = from
            crossKeysAndValues[layer] = IncrementalDecoder.gather(crossKeysAndValues[layer], rows: indices)
        }
        keyPadding = indices.flatMap { keyPadding[($0 * S)..<(($0 + 1) * S)] }
        rows = indices.count
    }

    /// A new tensor of the rows `indices` of `t` (rows first).
    static func gather(_ t: Tensor, rows indices: [Int]) -> Tensor {
        let rowSize = t.count / t.size(0)
        let out = Tensor(uninitialized: [indices.count] + t.shape.dropFirst())
        for (newRow, oldRow) in indices.enumerated() {
            (out.data + newRow * rowSize).update(from: t.data + oldRow * rowSize, count: rowSize)
        }
        return out
    }
}
