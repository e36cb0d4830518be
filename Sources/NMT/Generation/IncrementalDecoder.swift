import Tensor

/// The decoder run one position at a time for generation (Vaswani et al. 2017, §3.2.3: each
/// position attends only to the earlier ones, so their keys and values never change and can be
/// kept). Per layer it caches the self-attention keys and values of every position decoded so far,
/// and the encoder–decoder keys and values, computed once per source.
///
/// Rows are hypotheses (a sentence in greedy search, a beam in beam search). `select(rows:)`
/// reorders, repeats and drops rows — beams that survive a step, sentences that have finished —
/// without moving the cache: each row keeps a table of where its past keys live. Beams of one
/// sentence share that sentence's encoder–decoder keys and values.
final class IncrementalDecoder {
    let model: Transformer
    /// Live rows.
    private(set) var rows: Int
    /// Positions decoded so far (the next step runs at this position).
    private(set) var length = 0
    /// Positions the self-attention cache can hold.
    let capacity: Int
    /// Rows the cache can hold at one position.
    let rowCapacity: Int
    let sourceLength: Int
    private let width: Int

    /// Per layer: (capacity · rowCapacity, 2D) keys | values; the row at position t written by
    /// live row r is t · rowCapacity + r.
    private var selfCache: [Tensor]
    /// (rowCapacity, capacity): for live row r, the cache row of each of its positions.
    private var history: [Int32]
    /// Per layer: (sentences, S, 2D) encoder–decoder keys | values of the sentences still live.
    private var crossKeysAndValues: [Tensor]
    /// For each live row, its sentence's index in `crossKeysAndValues`.
    private var sentenceOfRow: [Int]
    /// (rows, S): the cross-attention key rows of each live row, and 1 where the source is padding.
    private var crossTable: [Int32] = []
    private var keyPadding: [UInt8] = []
    private let sourcePadding: [UInt8]   // (sentences at the start, S)
    private var sentenceIds: [Int]        // original sentence of each entry of crossKeysAndValues

    /// Attention probabilities of the last step, kept only when `recordsAttention` is set:
    /// per layer (rows, H, 1, length) for self-attention and (rows, H, 1, S) for cross-attention.
    var recordsAttention = false
    private(set) var lastSelfAttention: [Tensor] = []
    private(set) var lastCrossAttention: [Tensor] = []

    /// Prepares decoding of `encoderOutput`'s B sources, one row each, with room for up to
    /// `rowCapacity` rows later (beam search grows to k rows a sentence after the first step).
    init(model: Transformer, encoderOutput: EncoderOutput, capacity: Int, rowCapacity: Int? = nil) {
        let tape = Tape.inference
        self.model = model
        let B = encoderOutput.memory.size(0), S = encoderOutput.memory.size(1), D = model.config.modelWidth
        rows = B
        self.capacity = capacity
        let rowCapacity = max(rowCapacity ?? B, B)
        self.rowCapacity = rowCapacity
        sourceLength = S
        width = D
        crossKeysAndValues = model.decoderLayers.map { $0.crossAttention.projectKeysAndValues(encoderOutput.memory, tape: tape) }
        sourcePadding = encoderOutput.keyPadding
        sentenceIds = Array(0..<B)
        sentenceOfRow = Array(0..<B)
        selfCache = model.decoderLayers.map { _ in Tensor(uninitialized: [capacity * rowCapacity, 2 * D]) }
        history = [Int32](repeating: 0, count: rowCapacity * capacity)
        rebuildCrossTable()
    }

    /// Feeds one token per row at position `length` and returns the logits (rows, V).
    func step(ids: [Int32]) -> Tensor {
        precondition(ids.count == rows, "step: \(ids.count) ids for \(rows) rows")
        precondition(length < capacity, "step: the cache holds \(capacity) positions")
        let tape = Tape.inference
        let D = width, position = length, S = sourceLength
        for r in 0..<rows { history[r * capacity + position] = Int32(position * rowCapacity + r) }
        var x = model.embed(ids: ids, positions: [Int32](repeating: Int32(position), count: rows), batch: rows, length: 1, tape: tape)
        if recordsAttention {
            lastSelfAttention = []
            lastCrossAttention = []
        }
        for (index, layer) in model.decoderLayers.enumerated() {
            // Masked self-attention: this position's keys join the cache, then the query attends
            // to every position so far (the future is not there yet, so no mask is needed).
            let attention = layer.selfAttention
            let qkv = tape.linear(x, weight: attention.qkvWeight, bias: attention.qkvBias)  // (rows, 1, 3D)
            let cache = selfCache[index]
            for r in 0..<rows {
                (cache.data + (position * rowCapacity + r) * 2 * D).update(from: qkv.data + r * 3 * D + D, count: 2 * D)
            }
            let attended = history.withUnsafeBufferPointer { table in
                attend(q: StridedRows(base: qkv.data, rowStride: 3 * D, batchStride: 3 * D), heads: attention.heads,
                       keyValues: KeyValueRows(base: cache.data, rowStride: 2 * D, valueOffset: D,
                                               rowIndex: table.baseAddress!, rowIndexStride: capacity),
                       keys: position + 1, padding: nil, record: &lastSelfAttention)
            }
            let h1 = layer.selfAttentionNorm(tape.add(x, tape.linear(attended, weight: attention.outWeight, bias: attention.outBias)), tape: tape)

            // Encoder–decoder attention over the sentence's cached source keys and values.
            let cross = layer.crossAttention
            let q = tape.linear(h1, weight: cross.qWeight, bias: cross.qBias)  // (rows, 1, D)
            let crossed = crossTable.withUnsafeBufferPointer { table in
                keyPadding.withUnsafeBufferPointer { padding in
                    attend(q: StridedRows(base: q.data, rowStride: D, batchStride: D), heads: cross.heads,
                           keyValues: KeyValueRows(base: crossKeysAndValues[index].data, rowStride: 2 * D, valueOffset: D,
                                                   rowIndex: table.baseAddress!, rowIndexStride: S),
                           keys: S, padding: padding.baseAddress, record: &lastCrossAttention)
                }
            }
            let h2 = layer.crossAttentionNorm(tape.add(h1, tape.linear(crossed, weight: cross.outWeight, bias: cross.outBias)), tape: tape)
            x = layer.finalNorm(layer.feedForward(h2, residualDropout: 0, tape: tape), tape: tape)
        }
        length += 1
        return model.logits(x.reshaped([rows, D]), tape: tape)
    }

    /// One query per row over `keys` keys.
    private func attend(q: StridedRows, heads: Int, keyValues: KeyValueRows, keys: Int, padding: UnsafePointer<UInt8>?,
                        record: inout [Tensor]) -> Tensor {
        let D = width
        let shape = AttentionShape(batch: rows, queries: 1, keys: keys, heads: heads, headWidth: D / heads)
        let out = Tensor(uninitialized: [rows, 1, D])
        let probabilities = Tensor(uninitialized: [rows, heads, 1, keys])
        Kernels.attentionStep(shape: shape, scale: 1 / Float(shape.headWidth).squareRoot(), q: q, keyValues: keyValues,
                              keyPadding: padding, probabilities: probabilities.data,
                              out: StridedRows(base: out.data, rowStride: D, batchStride: D))
        if recordsAttention { record.append(probabilities) }
        return out
    }

    /// Keeps the rows listed, in that order (a row may repeat: two beams from one parent).
    /// Only the small tables move; encoder keys of sentences no row needs any more are dropped.
    func select(rows indices: [Int]) {
        precondition(indices.allSatisfy { $0 >= 0 && $0 < rows }, "select: row out of range")
        precondition(indices.count <= rowCapacity, "select: \(indices.count) rows; the cache holds \(rowCapacity)")
        var newHistory = [Int32](repeating: 0, count: rowCapacity * capacity)
        for (newRow, oldRow) in indices.enumerated() {
            for s in 0..<length { newHistory[newRow * capacity + s] = history[oldRow * capacity + s] }
        }
        history = newHistory
        // Cache rows of a position are written by live row number, so a reordered row must not
        // overwrite an ancestor another row still reads: positions already written are never
        // written again (step only writes at the new position `length`).
        var newSentenceOfRow = indices.map { sentenceOfRow[$0] }
        let stillNeeded = Array(Set(newSentenceOfRow)).sorted()
        if stillNeeded.count < crossKeysAndValues.first.map({ $0.size(0) }) ?? 0 {
            let remap = Dictionary(uniqueKeysWithValues: stillNeeded.enumerated().map { ($1, $0) })
            crossKeysAndValues = crossKeysAndValues.map { IncrementalDecoder.gather($0, rows: stillNeeded) }
            sentenceIds = stillNeeded.map { sentenceIds[$0] }
            newSentenceOfRow = newSentenceOfRow.map { remap[$0]! }
        }
        sentenceOfRow = newSentenceOfRow
        rows = indices.count
        rebuildCrossTable()
    }

    private func rebuildCrossTable() {
        let S = sourceLength
        crossTable = sentenceOfRow.flatMap { sentence in (0..<S).map { Int32(sentence * S + $0) } }
        keyPadding = sentenceOfRow.flatMap { sourcePadding[(sentenceIds[$0] * S)..<((sentenceIds[$0] + 1) * S)] }
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
