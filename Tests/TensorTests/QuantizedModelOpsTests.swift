import Tensor
import XCTest

/// What the int8 model adds on top of the product (QuantizedLinearTests): the residual fused into
/// its store, row views of a packed weight (q alone, k and v of a fused projection), the reused
/// workspace, embeddings looked up from codes, and the `LinearWeight` forms of the tape's ops.
final class QuantizedModelOpsTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }
    override func tearDown() { Parallel.configure(threads: 1) }

    let shapes = [(1, 1, 1), (3, 5, 7), (5, 33, 9), (17, 31, 129), (70, 257, 300)]

    func weight(_ N: Int, _ K: Int, seed: UInt64) throws -> QuantizedWeight {
        try QuantizedWeight(weight: GradientCheck.randomArray(N * K, seed: seed, scale: 0.1), outFeatures: N, inFeatures: K)
    }

    /// y (rows, N) through `Kernels.quantizedLinearForward`.
    func product(_ x: [Float], rows: Int, _ w: QuantizedWeight, bias: [Float]? = nil, relu: Bool = false, residual: [Float]? = nil,
                 path: Int8Path = .best, workspace: QuantizationWorkspace? = nil) -> [Float] {
        var y = [Float](repeating: .nan, count: rows * w.outFeatures)
        let b = bias ?? [], r = residual ?? []
        x.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { b in
                r.withUnsafeBufferPointer { r in
                    y.withUnsafeMutableBufferPointer { y in
                        Kernels.quantizedLinearForward(x: x.baseAddress!, rows: rows, weight: w, bias: bias == nil ? nil : b.baseAddress,
                                                       relu: relu, residual: residual == nil ? nil : r.baseAddress, y: y.baseAddress!,
                                                       path: path, workspace: workspace)
                    }
                }
            }
        }
        return y
    }

    /// The residual is added last, after bias and ReLU: bit for bit the unfused product plus the
    /// residual, on every path and thread count.
    func testResidualIsAddedLastOnEveryPath() throws {
        let paths = Int8Path.allCases.filter(\.isSupported)
        for (index, (rows, K, N)) in shapes.enumerated() {
            let x = GradientCheck.randomArray(rows * K, seed: UInt64(10 + index), scale: 2)
            let w = try weight(N, K, seed: UInt64(20 + index))
            let bias = GradientCheck.randomArray(N, seed: UInt64(30 + index))
            let residual = GradientCheck.randomArray(rows * N, seed: UInt64(40 + index), scale: 3)
            for relu in [false, true] {
                Parallel.configure(threads: 1)
                let unfused = zip(product(x, rows: rows, w, bias: bias, relu: relu, path: .reference), residual).map { $0 + $1 }
                for path in paths {
                    for threads in [1, 2] {
                        Parallel.configure(threads: threads)
                        let fused = product(x, rows: rows, w, bias: bias, relu: relu, residual: residual, path: path)
                        XCTAssertEqual(fused.map(\.bitPattern), unfused.map(\.bitPattern), "\(path) \(threads) threads \(rows)×\(K)×\(N) relu \(relu)")
                    }
                }
            }
        }
    }

    /// Rows of a packed weight: a view when they start on a panel (k and v of q/k/v), a copy
    /// otherwise; either gives exactly the columns of the whole product, and the codes and scales
    /// of those rows.
    func testRowsOfAWeightGiveTheirColumnsOfTheProduct() throws {
        let (rows, K, N) = (13, 37, 72)
        let whole = try weight(N, K, seed: 50)
        let x = GradientCheck.randomArray(rows * K, seed: 51, scale: 2)
        let bias = GradientCheck.randomArray(N, seed: 52)
        let all = product(x, rows: rows, whole, bias: bias)
        for range in [0..<24, 24..<72, 48..<72, 8..<13, 5..<20, 71..<72] {
            let part = whole.rows(range)
            XCTAssertEqual([part.outFeatures, part.inFeatures], [range.count, K])
            XCTAssertEqual(Array(part.codes), Array(whole.codes[range.lowerBound * K ..< range.upperBound * K]), "\(range)")
            XCTAssertEqual(Array(part.scales), Array(whole.scales[range]), "\(range)")
            let y = product(x, rows: rows, part, bias: Array(bias[range]))
            for r in 0..<rows {
                XCTAssertEqual(y[r * range.count ..< (r + 1) * range.count].map(\.bitPattern),
                               all[r * N + range.lowerBound ..< r * N + range.upperBound].map(\.bitPattern), "rows \(range), row \(r)")
            }
        }
        // Stacking parts back gives the whole.
        let stacked = QuantizedWeight.stacking([whole.rows(0..<24), whole.rows(24..<48), whole.rows(48..<72)])
        XCTAssertEqual(product(x, rows: rows, stacked, bias: bias).map(\.bitPattern), all.map(\.bitPattern))
    }

    /// One workspace across products of growing and shrinking sizes gives what a fresh one does.
    func testAReusedWorkspaceChangesNothing() throws {
        let workspace = QuantizationWorkspace()
        for (index, (rows, K, N)) in (shapes + shapes.reversed()).enumerated() {
            let x = GradientCheck.randomArray(rows * K, seed: UInt64(60 + index), scale: 2)
            let w = try weight(N, K, seed: UInt64(70 + index))
            XCTAssertEqual(product(x, rows: rows, w, workspace: workspace).map(\.bitPattern), product(x, rows: rows, w).map(\.bitPattern),
                           "\(rows)×\(K)×\(N)")
        }
    }

    /// An int8 embedding row is its codes / scale, then × scale + position, exactly as the float
    /// embedding of the dequantized table computes it.
    func testEmbeddingFromCodesEqualsTheDequantizedTable() throws {
        let (V, D, maxPositions) = (11, 6, 9)
        let table = try weight(V, D, seed: 80)
        let positions = Tensor(GradientCheck.randomArray(maxPositions * D, seed: 81), shape: [maxPositions, D])
        let ids: [Int32] = [3, 0, 10, 7, 7, 1], at: [Int32] = [0, 1, 2, 0, 8, 4]
        let tape = Tape(recording: false)
        let int8 = tape.embedding(ids: ids, positions: at, batch: 2, length: 3, table: .int8(table), scale: 2.5,
                                  positionTable: positions, padId: 0)
        let float = tape.embedding(ids: ids, positions: at, batch: 2, length: 3, table: Tensor(table.dequantized(), shape: [V, D]),
                                   scale: 2.5, positionTable: positions, padId: 0)
        XCTAssertEqual(int8.shape, [2, 3, D])
        XCTAssertEqual(int8.values.map(\.bitPattern), float.values.map(\.bitPattern))
        var row = [Float](repeating: 0, count: D)
        row.withUnsafeMutableBufferPointer { LinearWeight.int8(table).row(7, into: $0.baseAddress!) }
        XCTAssertEqual(row, Array(table.dequantized()[7 * D ..< 8 * D]))
    }

    /// The tape's linear ops on an int8 weight are the int8 product with ReLU or the residual fused.
    func testTapeOpsOnAnInt8Weight() throws {
        let (rows, K, N) = (2 * 5, 33, 19)
        let w = try weight(N, K, seed: 90)
        let xValues = GradientCheck.randomArray(rows * K, seed: 91, scale: 2)
        let x = Tensor(xValues, shape: [2, 5, K])
        let bias = Tensor(GradientCheck.randomArray(N, seed: 92), shape: [N])
        let residualValues = GradientCheck.randomArray(rows * N, seed: 93)
        let tape = Tape(recording: false)
        let plain = product(xValues, rows: rows, w, bias: bias.values)
        XCTAssertEqual(tape.linear(x, weight: .int8(w), bias: bias).values, plain)
        XCTAssertEqual(tape.linearReLU(x, weight: .int8(w), bias: bias, dropout: 0).values, plain.map { max($0, 0) })
        let withResidual = tape.residualLinear(x, weight: .int8(w), bias: bias, dropout: 0, residual: Tensor(residualValues, shape: [2, 5, N]))
        XCTAssertEqual(withResidual.shape, [2, 5, N])
        XCTAssertEqual(withResidual.values, zip(plain, residualValues).map { $0 + $1 })
        // A float32 LinearWeight takes the float op unchanged.
        let floatWeight = Tensor(w.dequantized(), shape: [N, K])
        XCTAssertEqual(tape.linear(x, weight: .float32(floatWeight), bias: bias).values, tape.linear(x, weight: floatWeight, bias: bias).values)
    }
}
