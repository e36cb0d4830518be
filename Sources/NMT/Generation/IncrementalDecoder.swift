import Tensor

/// The decoder run one position at a time for generation (Vaswani et al. 2017, §3.2.3: each
/// position attends only to the earlier ones, so their keys and values never change and can be
/// kept). Each layer computes its own step (`DecoderLayer.step`); this type owns what the steps
/// read: per layer, the self-attention keys and values of every position decoded so far, and the
/// encoder–decoder keys and values, computed once per source.
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
        let position = length
        for r in 0..<rows { history[r * capacity + position] = Int32(position * rowCapacity + r) }
        var x = model.embed(ids: ids, positions: [Int32](repeating: Int32(position), count: rows), batch: rows, length: 1,
                            table: model.decoderEmbedding, tape: tape)
        history.withUnsafeBufferPointer { history in
            crossTable.withUnsafeBufferPointer { sourceRows in
                keyPadding.withUnsafeBufferPointer { padding in
                    for (index, layer) in model.decoderLayers.enumerated() {
                        let cache = DecoderLayerCache(
                            selfAttention: SelfAttentionCache(storage: selfCache[index].data, newRows: position * rowCapacity,
                                                              history: history.baseAddress!, historyStride: capacity, positions: position + 1),
                            crossAttention: CrossAttentionMemory(keysAndValues: crossKeysAndValues[index].data, sourceRows: sourceRows.baseAddress!,
                                                                 keyPadding: padding.baseAddress!, sourceLength: sourceLength))
                        x = layer.step(x, cache: cache, tape: tape)  // (rows, 1, D)
                    }
                }
            }
        }
        length += 1
        return model.logits(x.reshaped([rows, width]), tape: tape)
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
