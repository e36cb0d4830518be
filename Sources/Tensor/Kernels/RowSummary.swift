import CKernels

/// What search needs of each row of logits: the softmax normalizer and the best few tokens.
public struct RowSummaries {
    /// Rows summarized, and the most pairs kept for each.
    public let rows: Int, keep: Int
    /// log Σ_v e^z[v] per row, so log p(v) = z[v] − normalizers[row]; −inf for a row whose largest
    /// value is −inf.
    public internal(set) var normalizers: [Float]
    /// Row r's best pairs at r·keep ..< r·keep + counts[r], largest logit first.
    var logits: [Float], tokens: [Int32], counts: [Int32]

    init(rows: Int, keep: Int) {
        self.rows = rows
        self.keep = keep
        normalizers = [Float](repeating: 0, count: rows)
        logits = [Float](repeating: 0, count: rows * keep)
        tokens = [Int32](repeating: 0, count: rows * keep)
        counts = [Int32](repeating: 0, count: rows)
    }

    /// How many pairs `row` has: `keep`, or fewer when the row has fewer eligible values.
    @inline(__always)
    public func count(_ row: Int) -> Int { Int(counts[row]) }

    /// The `rank`-th best (logit, token) of `row` (rank < count(row)).
    @inline(__always)
    public func best(_ row: Int, _ rank: Int) -> (logit: Float, token: Int) {
        precondition(rank < count(row), "row \(row) has \(count(row)) eligible logits (all others −inf or NaN)")
        return (logits[row * keep + rank], Int(tokens[row * keep + rank]))
    }

    /// All of `row`'s pairs, best first.
    public func best(_ row: Int) -> [(logit: Float, token: Int)] {
        (0..<count(row)).map { best(row, $0) }
    }
}

extension Kernels {
    /// Which code summarizes rows: `fastest` asks the processor (AVX2 + FMA where it has them);
    /// the others pin a path, for tests and benchmarks.
    public enum RowPath: Sendable {
        case fastest, portable, avx2, reference
        /// Whether this processor runs the AVX2 path.
        public static var avx2Supported: Bool { nmt_rows_avx2_supported() != 0 }
    }

    /// Per row of `logits` (rows × count, contiguous): log Σ exp, and the `keep` largest logits, best
    /// first (ties: the lower token first), never a token in `excluding`, never −inf or NaN. Rows are
    /// spread over `Parallel.threads`.
    public static func summarizeRows(_ logits: UnsafePointer<Float>, rows: Int, count: Int, keep: Int,
                                     excluding: [Int], path: RowPath = .fastest) -> RowSummaries {
        precondition(excluding.count <= 2 && keep >= 0 && count >= 0, "summarizeRows: at most two excluded tokens")
        precondition(path != .avx2 || RowPath.avx2Supported, "summarizeRows: this processor has no AVX2 + FMA")
        var summaries = RowSummaries(rows: rows, keep: keep)
        if path == .reference {
            for r in 0..<rows { summarizeRowReference(logits + r * count, count: count, keep: keep, excluding: excluding, into: &summaries, row: r) }
            return summaries
        }
        summaries.normalizers.withUnsafeMutableBufferPointer { normalizers in
            summaries.logits.withUnsafeMutableBufferPointer { bestLogits in
                summaries.tokens.withUnsafeMutableBufferPointer { bestTokens in
                    summaries.counts.withUnsafeMutableBufferPointer { bestCounts in
                        var task = nmt_row_summary(
                            logits: logits, count: count, stride: count, keep: keep,
                            excludedA: excluding.count > 0 ? excluding[0] : -1,
                            excludedB: excluding.count > 1 ? excluding[1] : -1,
                            normalizers: normalizers.baseAddress, bestLogits: bestLogits.baseAddress,
                            bestTokens: bestTokens.baseAddress, bestCounts: bestCounts.baseAddress)
                        withUnsafePointer(to: &task) { task in
                            Parallel.forEach(rows) { r in
                                switch path {
                                case .portable: nmt_rows_summarize_portable(task, r, 1)
                                case .avx2: nmt_rows_summarize_avx2(task, r, 1)
                                default: nmt_rows_summarize(task, r, 1)
                                }
                            }
                        }
                    }
                }
            }
        }
        return summaries
    }

    /// The reference the C paths must reproduce: `logSumExp` and an insertion into a sorted list,
    /// one logit at a time (the search's own code before the C kernel).
    static func summarizeRowReference(_ z: UnsafePointer<Float>, count V: Int, keep: Int, excluding: [Int],
                                      into summaries: inout RowSummaries, row: Int) {
        let m = maximum(z, count: V)
        summaries.normalizers[row] = m == -.infinity ? -.infinity : m + logf(sumOfExponentials(z, count: V, shift: m))
        var top: [(logit: Float, token: Int)] = []
        top.reserveCapacity(keep + 1)
        var bar = keep > 0 ? -Float.infinity : .infinity
        for v in 0..<V where z[v] > bar && !excluding.contains(v) {
            var position = top.count
            while position > 0 && top[position - 1].logit < z[v] { position -= 1 }
            top.insert((z[v], v), at: position)
            if top.count > keep { top.removeLast() }
            if top.count == keep { bar = top[keep - 1].logit }
        }
        for (rank, pair) in top.enumerated() {
            summaries.logits[row * keep + rank] = pair.logit
            summaries.tokens[row * keep + rank] = Int32(pair.token)
        }
        summaries.counts[row] = Int32(top.count)
    }
}
