import Foundation
import Tensor
import XCTest

/// The C row summary (softmax normalizer and best tokens, `Kernels.summarizeRows`), both its
/// portable and its AVX2 + FMA path, against the Swift reference the search used before it.
final class RowSummaryTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    /// Paths to check on this processor (the AVX2 one only where it runs).
    private var paths: [Kernels.RowPath] {
        [.portable, .fastest] + (Kernels.RowPath.avx2Supported ? [.avx2] : [])
    }

    /// Rows with many ties (values on a grid of quarters), some −inf, and the excluded tokens holding
    /// the row's largest value so excluding them matters.
    private func randomRows(rows: Int, count: Int, seed: UInt64, excluding: [Int]) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        var x = [Float](repeating: 0, count: rows * count)
        for r in 0..<rows {
            for v in 0..<count {
                let u = generator.nextUnitFloat()
                x[r * count + v] = u < 0.05 ? -.infinity : (generator.nextNormal() * 12).rounded() / 4
            }
            for token in excluding where token < count { x[r * count + token] = 100 }
        }
        return x
    }

    /// The normalizer's error bound against the exact log Σ exp (computed in Double): the sum's
    /// relative error from the float additions the longest chain goes through (count/8 in a lane,
    /// 8 to add the lanes, the tail of count mod 8), plus 4 unit roundoffs for the exponential (2 ulp),
    /// all of which become absolute error in log S; plus the rounding of logf and of m + log S (1 ulp
    /// of the result each).
    private func tolerance(count: Int, normalizer: Double) -> Double {
        let unitRoundoff = Double(Float.ulpOfOne) / 2
        let additions = count / 8 + 8 + count % 8
        return Double(additions + 4) * unitRoundoff + 2 * Double(Float(abs(normalizer)).ulp)
    }

    private func exactNormalizer(_ row: ArraySlice<Float>) -> Double {
        let m = Double(row.max()!)
        return m + log(row.map { exp(Double($0) - m) }.reduce(0, +))
    }

    func testTopKIdenticalAndNormalizerWithinBound() {
        for count in [1, 5, 8, 13, 100, 1001, 8000] {
            for keep in [1, 3, 8, count + 3] {
                for excluding in [[], [0], [count / 2, count - 1]] {
                    let rows = count >= 1000 ? 5 : 17
                    let x = randomRows(rows: rows, count: count, seed: UInt64(count * 31 + keep), excluding: excluding)
                    let reference = Kernels.summarizeRows(x, rows: rows, count: count, keep: keep, excluding: excluding, path: .reference)
                    for path in paths {
                        let fast = Kernels.summarizeRows(x, rows: rows, count: count, keep: keep, excluding: excluding, path: path)
                        let label = "\(path) count \(count) keep \(keep) excluding \(excluding)"
                        for r in 0..<rows {
                            XCTAssertEqual(fast.count(r), reference.count(r), "\(label) row \(r)")
                            XCTAssertEqual(fast.best(r).map(\.token), reference.best(r).map(\.token), "\(label) row \(r)")
                            XCTAssertEqual(fast.best(r).map(\.logit.bitPattern), reference.best(r).map(\.logit.bitPattern), "\(label) row \(r)")
                            let row = x[r * count..<(r + 1) * count]
                            guard row.max()! > -.infinity else {
                                XCTAssertEqual(fast.normalizers[r], -.infinity, "\(label) row \(r): all −inf")
                                continue
                            }
                            let exact = exactNormalizer(row)
                            let bound = tolerance(count: count, normalizer: exact)
                            XCTAssertEqual(Double(fast.normalizers[r]), exact, accuracy: bound, "\(label) row \(r)")
                            XCTAssertEqual(Double(reference.normalizers[r]), exact, accuracy: bound, "reference \(label) row \(r)")
                            if path == .portable {
                                // The same operations in the same order as the Swift reference.
                                XCTAssertEqual(fast.normalizers[r].bitPattern, reference.normalizers[r].bitPattern, "\(label) row \(r)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The best pairs are the first `keep` of the row sorted by (logit descending, token ascending),
    /// checked directly rather than only against the other implementation.
    func testTopKIsTheSortedPrefix() {
        let count = 1003, rows = 4, keep = 9
        let x = randomRows(rows: rows, count: count, seed: 7, excluding: [3])
        for path in paths + [.reference] {
            let summaries = Kernels.summarizeRows(x, rows: rows, count: count, keep: keep, excluding: [3], path: path)
            for r in 0..<rows {
                let expected = (0..<count).filter { $0 != 3 && x[r * count + $0] > -.infinity }
                    .sorted { (x[r * count + $0], -$0) > (x[r * count + $1], -$1) }
                    .prefix(keep)
                XCTAssertEqual(summaries.best(r).map(\.token), Array(expected), "\(path) row \(r)")
            }
        }
    }

    func testEdgeRows() {
        let count = 11
        var x = [Float](repeating: -.infinity, count: 4 * count)   // row 0: all −inf
        x[count + 4] = 2; x[count + 9] = 2                          // row 1: one finite tie, the rest −inf
        for v in 0..<count { x[2 * count + v] = Float(v % 3) }     // row 2: NaN among values
        x[2 * count + 5] = .nan
        for v in 0..<count { x[3 * count + v] = 1 }                // row 3: all equal
        for path in paths + [.reference] {
            let s = Kernels.summarizeRows(x, rows: 4, count: count, keep: 3, excluding: [], path: path)
            XCTAssertEqual(s.normalizers[0], -.infinity, "\(path)")
            XCTAssertEqual(s.count(0), 0, "\(path)")
            XCTAssertEqual(s.best(1).map(\.token), [4, 9], "\(path)")
            XCTAssertEqual(Double(s.normalizers[1]), 2 + log(2.0), accuracy: 1e-6, "\(path)")
            XCTAssertTrue(s.normalizers[2].isNaN, "\(path): NaN propagates into the normalizer")
            XCTAssertEqual(s.best(2).map(\.token), [2, 8, 1], "\(path): NaN never among the best")
            XCTAssertEqual(s.best(3).map(\.token), [0, 1, 2], "\(path): ties by the lower token")
            XCTAssertEqual(Double(s.normalizers[3]), 1 + log(11.0), accuracy: 1e-6, "\(path)")
            let none = Kernels.summarizeRows(x, rows: 4, count: count, keep: 0, excluding: [], path: path)
            XCTAssertEqual((0..<4).map { none.count($0) }, [0, 0, 0, 0], "\(path): keep 0")
        }
    }
}
