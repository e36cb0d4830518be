/// Where the rows of one (batch, position) live: element (b, t, c) is at
/// `base[b · batchStride + t · rowStride + c]`. This lets attention read q, k and v straight out of
/// a fused projection (row stride 3D) or a key/value cache (batch stride = capacity · D) without
/// copying heads apart.
public struct StridedRows {
    public var base: UnsafeMutablePointer<Float>
    public var rowStride: Int
    public var batchStride: Int

    public init(base: UnsafeMutablePointer<Float>, rowStride: Int, batchStride: Int) {
        self.base = base
        self.rowStride = rowStride
        self.batchStride = batchStride
    }

    @inline(__always)
    func head(batch b: Int, head h: Int, width: Int) -> UnsafeMutablePointer<Float> {
        base + b * batchStride + h * width
    }
}

/// Keys and values found through a table: key s of batch item b is the row
/// `rowIndex[b · rowIndexStride + s]` of `base` (row stride `rowStride`); its value starts
/// `valueOffset` elements into the same row.
public struct KeyValueRows {
    public var base: UnsafePointer<Float>
    public var rowStride: Int
    public var valueOffset: Int
    public var rowIndex: UnsafePointer<Int32>
    public var rowIndexStride: Int

    public init(base: UnsafePointer<Float>, rowStride: Int, valueOffset: Int, rowIndex: UnsafePointer<Int32>, rowIndexStride: Int) {
        self.base = base
        self.rowStride = rowStride
        self.valueOffset = valueOffset
        self.rowIndex = rowIndex
        self.rowIndexStride = rowIndexStride
    }
}

/// The sizes of one attention call: B batch, T queries, S keys, H heads, Dh head width.
public struct AttentionShape: Equatable, Sendable {
    public var batch: Int
    public var queries: Int
    public var keys: Int
    public var heads: Int
    public var headWidth: Int

    public init(batch: Int, queries: Int, keys: Int, heads: Int, headWidth: Int) {
        self.batch = batch
        self.queries = queries
        self.keys = keys
        self.heads = heads
        self.headWidth = headWidth
    }

    /// Elements of the probability tensor (B, H, T, S).
    public var probabilityCount: Int { batch * heads * queries * keys }
}

/// Which keys a query may not see.
public struct AttentionMask {
    /// (B, S): nonzero where the key is padding. Nil: no padding.
    public var keyPadding: UnsafePointer<UInt8>?
    /// Query t may attend keys 0 … t + causalOffset only (decoder self-attention; the offset is the
    /// number of cached positions when decoding one step at a time). Nil: no causal mask.
    public var causalOffset: Int?

    public init(keyPadding: UnsafePointer<UInt8>? = nil, causalOffset: Int? = nil) {
        self.keyPadding = keyPadding
        self.causalOffset = causalOffset
    }

    @inline(__always)
    func visibleKeys(batch b: Int, query t: Int, keys: Int) -> Int {
        guard let offset = causalOffset else { return keys }
        return min(keys, t + offset + 1)
    }
}

/// Dropout on the attention probabilities (training only): probability (b, h, t, s) is kept and
/// scaled by `scale` = 1 / (1 − p) where `mask` is 1, and dropped where it is 0.
public struct AttentionDropout {
    /// (B, H, T, S), 1 = keep.
    public var mask: UnsafePointer<UInt8>
    public var scale: Float

    public init(mask: UnsafePointer<UInt8>, scale: Float) {
        self.mask = mask
        self.scale = scale
    }

    /// row (count) = probabilities ⊙ mask · scale, for the block of (b, h) starting at `offset`.
    @inline(__always)
    func apply(_ probabilities: UnsafePointer<Float>, offset: Int, count: Int, into row: UnsafeMutablePointer<Float>) {
        let m = mask + offset
        for i in 0..<count { row[i] = m[i] != 0 ? probabilities[i] * scale : 0 }
    }
}

extension Kernels {
    /// Scaled dot-product attention (Vaswani et al. 2017, §3.2.1), all heads at once:
    /// probs (B, H, T, S) = softmax(scale · q·kᵀ + mask), out (B, T, H·Dh) = probs · v, heads side by side.
    /// Masked keys get probability exactly 0 (transformers adds the most negative float, which
    /// underflows to the same 0). Parallel over batch × heads.
    ///
    /// With `dropout`, out = dropout(probs) · v, while `probabilities` keeps the undropped values:
    /// the softmax backward needs them, and inspection shows what the model attends to.
    public static func attentionForward(
        shape: AttentionShape, scale: Float,
        q: StridedRows, k: StridedRows, v: StridedRows, mask: AttentionMask,
        probabilities: UnsafeMutablePointer<Float>, out: StridedRows, dropout: AttentionDropout? = nil
    ) {
        let (T, S, H, Dh) = (shape.queries, shape.keys, shape.heads, shape.headWidth)
        Parallel.forEach(shape.batch * H) { bh in
            let b = bh / H, h = bh % H
            let p = probabilities + bh * T * S
            BLAS.gemm(transposeA: false, transposeB: true, m: T, n: S, k: Dh, alpha: scale,
                      a: q.head(batch: b, head: h, width: Dh), lda: q.rowStride,
                      b: k.head(batch: b, head: h, width: Dh), ldb: k.rowStride,
                      beta: 0, c: p, ldc: S)
            for t in 0..<T {
                maskedSoftmaxRow(p + t * S, count: S, visible: mask.visibleKeys(batch: b, query: t, keys: S),
                                 padding: mask.keyPadding.map { $0 + b * S })
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: dropout == nil ? 0 : T * S) { scratch in
                var weights = UnsafePointer(p)
                if let dropout {
                    dropout.apply(p, offset: bh * T * S, count: T * S, into: scratch.baseAddress!)
                    weights = UnsafePointer(scratch.baseAddress!)
                }
                BLAS.gemm(transposeA: false, transposeB: false, m: T, n: Dh, k: S,
                          a: weights, lda: S,
                          b: v.head(batch: b, head: h, width: Dh), ldb: v.rowStride,
                          beta: 0, c: out.head(batch: b, head: h, width: Dh), ldc: out.rowStride)
            }
        }
    }

    /// One decoding step of attention: a single query per row over keys and values that are
    /// found through a table of row indices (`KeyValueRows`) — a cache whose beams were reordered
    /// without moving it, or encoder keys shared by the beams of a sentence.
    /// probs (B, H, 1, S) and out (B, H·Dh) as in `attentionForward`, which it equals for T = 1.
    /// Plain vector loops rather than BLAS: per (row, head) the work is 2·S·Dh multiply-adds,
    /// less than a BLAS call costs in overhead.
    public static func attentionStep(
        shape: AttentionShape, scale: Float, q: StridedRows, keyValues: KeyValueRows,
        keyPadding: UnsafePointer<UInt8>?, probabilities: UnsafeMutablePointer<Float>, out: StridedRows
    ) {
        precondition(shape.queries == 1, "attentionStep takes one query per row")
        let (S, H, Dh) = (shape.keys, shape.heads, shape.headWidth)
        Parallel.forEach(shape.batch, minimumPerWorker: 8) { b in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: S) { keyRows in
                let table = keyValues.rowIndex + b * keyValues.rowIndexStride
                for s in 0..<S { keyRows[s] = UnsafePointer(keyValues.base + Int(table[s]) * keyValues.rowStride) }
                let padding = keyPadding.map { $0 + b * S }
                for h in 0..<H {
                    let p = probabilities + (b * H + h) * S
                    let query = q.head(batch: b, head: h, width: Dh)
                    for s in 0..<S { p[s] = scale * dot(query, keyRows[s] + h * Dh, count: Dh) }
                    maskedSoftmaxRow(p, count: S, visible: S, padding: padding)
                    weightedSum(p, rows: keyRows, offset: keyValues.valueOffset + h * Dh, count: S, width: Dh,
                                into: out.head(batch: b, head: h, width: Dh))
                }
            }
        }
    }

    /// out (width) = Σ_s weights[s] · rows[s][offset ..< offset + width], eight lanes at a time with
    /// the accumulator held in a register across the keys.
    @inline(__always)
    static func weightedSum(_ weights: UnsafePointer<Float>, rows: UnsafeMutableBufferPointer<UnsafePointer<Float>>, offset: Int,
                            count: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        var d = 0
        while d + 8 <= width {
            var accumulator = SIMD8<Float>(repeating: 0)
            for s in 0..<count where weights[s] != 0 {
                accumulator += weights[s] * UnsafeRawPointer(rows[s] + offset + d).loadUnaligned(as: SIMD8<Float>.self)
            }
            UnsafeMutableRawPointer(out + d).storeBytes(of: accumulator, as: SIMD8<Float>.self)
            d += 8
        }
        while d < width {
            var sum: Float = 0
            for s in 0..<count { sum += weights[s] * rows[s][offset + d] }
            out[d] = sum
            d += 1
        }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>(repeating: 0)
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 8 <= count {
            lanes += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = lanes.sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// Backward of `attentionForward`, accumulating into dq, dk, dv (which may be column ranges
    /// of one fused gradient; different (b, h) pairs write disjoint blocks, so this runs in parallel):
    ///   dP = dOut·vᵀ;  dv += Pᵀ·dOut;  dScores = P ⊙ (dP − Σ_s dP ⊙ P);
    ///   dq += scale · dScores·k;  dk += scale · dScoresᵀ·q.
    /// With `dropout` (the same mask as the forward), Pᵀ in dv is the dropped P, and dP passes
    /// through the mask before the softmax backward, which uses the undropped P.
    public static func attentionBackward(
        shape: AttentionShape, scale: Float,
        q: StridedRows, k: StridedRows, v: StridedRows,
        probabilities: UnsafePointer<Float>, dOut: StridedRows,
        dq: StridedRows?, dk: StridedRows?, dv: StridedRows?, dropout: AttentionDropout? = nil
    ) {
        let (T, S, H, Dh) = (shape.queries, shape.keys, shape.heads, shape.headWidth)
        Parallel.forEach(shape.batch * H) { bh in
            let b = bh / H, h = bh % H
            let p = probabilities + bh * T * S
            let dOutHead = dOut.head(batch: b, head: h, width: Dh)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: (dropout == nil ? 1 : 2) * T * S) { scratch in
                let dScores = scratch.baseAddress!
                BLAS.gemm(transposeA: false, transposeB: true, m: T, n: S, k: Dh,
                          a: dOutHead, lda: dOut.rowStride,
                          b: v.head(batch: b, head: h, width: Dh), ldb: v.rowStride,
                          beta: 0, c: dScores, ldc: S)
                if let dropout {
                    // d(dropped P) → dP: the same mask and scale.
                    let dropped = scratch.baseAddress! + T * S
                    dropout.apply(dScores, offset: bh * T * S, count: T * S, into: dScores)
                    if dv != nil { dropout.apply(p, offset: bh * T * S, count: T * S, into: dropped) }
                }
                if let dv {
                    BLAS.gemm(transposeA: true, transposeB: false, m: S, n: Dh, k: T,
                              a: dropout == nil ? p : UnsafePointer(scratch.baseAddress! + T * S), lda: S,
                              b: dOutHead, ldb: dOut.rowStride,
                              beta: 1, c: dv.head(batch: b, head: h, width: Dh), ldc: dv.rowStride)
                }
                for t in 0..<T {
                    let pr = p + t * S, dr = dScores + t * S
                    var dot: Float = 0
                    for s in 0..<S { dot += pr[s] * dr[s] }
                    for s in 0..<S { dr[s] = pr[s] * (dr[s] - dot) }
                }
                if let dq {
                    BLAS.gemm(transposeA: false, transposeB: false, m: T, n: Dh, k: S, alpha: scale,
                              a: dScores, lda: S, b: k.head(batch: b, head: h, width: Dh), ldb: k.rowStride,
                              beta: 1, c: dq.head(batch: b, head: h, width: Dh), ldc: dq.rowStride)
                }
                if let dk {
                    BLAS.gemm(transposeA: true, transposeB: false, m: S, n: Dh, k: T, alpha: scale,
                              a: dScores, lda: S, b: q.head(batch: b, head: h, width: Dh), ldb: q.rowStride,
                              beta: 1, c: dk.head(batch: b, head: h, width: Dh), ldc: dk.rowStride)
                }
            }
        }
    }

    /// Softmax over the first `visible` entries of a row that are not padding; the others get 0.
    @inline(__always)
    static func maskedSoftmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, visible: Int, padding: UnsafePointer<UInt8>?) {
        var maximum = -Float.infinity
        for s in 0..<visible where padding == nil || padding![s] == 0 { maximum = max(maximum, row[s]) }
        guard maximum > -Float.infinity else {
            row.update(repeating: 0, count: count)  // nothing visible: attend to nothing
            return
        }
        var sum: Float = 0
        for s in 0..<visible {
            if let padding, padding[s] != 0 {
                row[s] = 0
            } else {
                let e = expf(row[s] - maximum)
                row[s] = e
                sum += e
            }
        }
        let inverse = 1 / sum
        for s in 0..<visible { row[s] *= inverse }
        for s in visible..<count { row[s] = 0 }
    }
}

extension ReferenceKernels {
    /// Splits (B·T, H·Dh) rows into heads: (B, H, T, Dh).
    public static func splitHeads(_ x: [Float], batch: Int, length: Int, heads: Int, headWidth: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for b in 0..<batch { for t in 0..<length { for h in 0..<heads { for d in 0..<headWidth {
            out[((b * heads + h) * length + t) * headWidth + d] = x[(b * length + t) * heads * headWidth + h * headWidth + d]
        } } } }
        return out
    }

    /// Merges (B, H, T, Dh) back into rows (B·T, H·Dh).
    public static func mergeHeads(_ x: [Float], batch: Int, length: Int, heads: Int, headWidth: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for b in 0..<batch { for t in 0..<length { for h in 0..<heads { for d in 0..<headWidth {
            out[(b * length + t) * heads * headWidth + h * headWidth + d] = x[((b * heads + h) * length + t) * headWidth + d]
        } } } }
        return out
    }

    /// Attention the textbook way: split heads, scores = scale · q·kᵀ, add −∞ where masked,
    /// softmax, weighted sum of values, merge heads. q (B·T, H·Dh), k and v (B·S, H·Dh), packed.
    public static func attention(
        shape: AttentionShape, scale: Float, q: [Float], k: [Float], v: [Float],
        keyPadding: [UInt8]?, causal: Bool
    ) -> (out: [Float], probabilities: [Float]) {
        let (B, T, S, H, Dh) = (shape.batch, shape.queries, shape.keys, shape.heads, shape.headWidth)
        let qh = splitHeads(q, batch: B, length: T, heads: H, headWidth: Dh)
        let kh = splitHeads(k, batch: B, length: S, heads: H, headWidth: Dh)
        let vh = splitHeads(v, batch: B, length: S, heads: H, headWidth: Dh)
        var probabilities = [Float](repeating: 0, count: B * H * T * S)
        var outHeads = [Float](repeating: 0, count: B * H * T * Dh)
        for b in 0..<B { for h in 0..<H { for t in 0..<T {
            var scores = [Double](repeating: -.infinity, count: S)
            for s in 0..<S {
                let masked = (keyPadding?[b * S + s] ?? 0) != 0 || (causal && s > t)
                if masked { continue }
                var dot = 0.0
                for d in 0..<Dh { dot += Double(qh[((b * H + h) * T + t) * Dh + d]) * Double(kh[((b * H + h) * S + s) * Dh + d]) }
                scores[s] = dot * Double(scale)
            }
            let m = scores.max()!
            let e = scores.map { $0 == -.infinity ? 0 : exp($0 - m) }
            let total = e.reduce(0, +)
            for s in 0..<S {
                let p = e[s] / total
                probabilities[((b * H + h) * T + t) * S + s] = Float(p)
                for d in 0..<Dh { outHeads[((b * H + h) * T + t) * Dh + d] += Float(p) * vh[((b * H + h) * S + s) * Dh + d] }
            }
        } } }
        return (mergeHeads(outHeads, batch: B, length: T, heads: H, headWidth: Dh), probabilities)
    }
}

