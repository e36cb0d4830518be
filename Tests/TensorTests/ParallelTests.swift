import Dispatch
import Foundation
import XCTest
@testable import Tensor

/// `Parallel.forEach` on `WorkerPool`: every index once, whatever the split; regions that start
/// while one runs (another thread, or a region inside a region) still complete; workers that fell
/// asleep wake for the next region; a new thread count replaces the pool.
final class ParallelTests: XCTestCase {
    override func tearDown() {
        Parallel.configure(threads: 1)
    }

    /// Counts the visits of each index of `count`.
    private func visits(_ count: Int, minimumPerWorker: Int = 1) -> [Int] {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: max(1, count))
        Parallel.forEach(count, minimumPerWorker: minimumPerWorker) { i in counts[i] += 1 }
        return Array(UnsafeBufferPointer(start: counts, count: count))
    }

    func testEveryIndexIsVisitedOnceAtEveryThreadCount() {
        for threads in [1, 2, 3, 4, 7] {
            Parallel.configure(threads: threads)
            for count in [0, 1, 2, 3, 5, 8, 13, 64, 1000, 4097] {
                for minimum in [1, 3, 64] {
                    XCTAssertEqual(visits(count, minimumPerWorker: minimum), Array(repeating: 1, count: count),
                                   "threads \(threads), count \(count), minimum \(minimum)")
                }
            }
        }
    }

    func testManyShortRegionsInARow() {
        // A decoder step's pattern: thousands of regions microseconds apart, each reading what the
        // one before wrote.
        Parallel.configure(threads: 2)
        var values = [Double](repeating: 1, count: 256)
        values.withUnsafeMutableBufferPointer { values in
            for _ in 0..<20_000 {
                Parallel.forEach(values.count) { i in values[i] = values[i] * 1.0001 + 1 }
            }
        }
        var expected = 1.0
        for _ in 0..<20_000 { expected = expected * 1.0001 + 1 }
        XCTAssertEqual(values, Array(repeating: expected, count: 256))
    }

    func testWorkersThatFellAsleepWakeForTheNextRegion() {
        Parallel.configure(threads: 3)
        for _ in 0..<5 {
            usleep(5_000)  // longer than the workers spin
            XCTAssertEqual(visits(9), Array(repeating: 1, count: 9))
        }
    }

    func testARegionInsideARegionAndRegionsFromSeveralThreads() {
        Parallel.configure(threads: 2)
        let outer = 6, inner = 50
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: outer * inner)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: outer * inner)
        Parallel.forEach(outer) { o in
            Parallel.forEach(inner) { i in counts[o * inner + i] += 1 }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: counts, count: outer * inner)), Array(repeating: 1, count: outer * inner))

        // Four threads at once, each running its own regions: one holds the pool, the others run
        // theirs on the system's pool; every sum comes out whole.
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for _ in 0..<500 {
                let parts = UnsafeMutablePointer<Int>.allocate(capacity: 100)
                parts.initialize(repeating: 0, count: 100)
                Parallel.forEach(100) { i in parts[i] = i }
                sums[caller] += UnsafeBufferPointer(start: parts, count: 100).reduce(0, +)
                parts.deallocate()
            }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: sums, count: 4)), Array(repeating: 500 * 4950, count: 4))
    }

    func testEachJobRunsOnceWholeOnOneThreadWithItsRegionsSerial() {
        for threads in [1, 2, 3] {
            Parallel.configure(threads: threads)
            for count in [0, 1, 2, 5, 17] {
                // Per job: how often it ran, the threads its regions saw, and whether a region
                // inside it ran on the job's own thread.
                let runs = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
                let seen = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
                let ownThread = UnsafeMutablePointer<Bool>.allocate(capacity: max(1, count))
                defer { runs.deallocate(); seen.deallocate(); ownThread.deallocate() }
                runs.initialize(repeating: 0, count: max(1, count))
                Parallel.eachOnOneThread(count) { job in
                    runs[job] += 1
                    seen[job] = Parallel.threads
                    let caller = pthread_self()
                    var same = true
                    Parallel.forEach(8) { _ in same = same && pthread_equal(pthread_self(), caller) != 0 }
                    ownThread[job] = same
                }
                XCTAssertEqual(Array(UnsafeBufferPointer(start: runs, count: count)), Array(repeating: 1, count: count), "threads \(threads), count \(count)")
                let expectedThreads = count > 1 ? 1 : threads
                XCTAssertEqual(Array(UnsafeBufferPointer(start: seen, count: count)), Array(repeating: expectedThreads, count: count))
                if count > 1 { XCTAssertTrue(UnsafeBufferPointer(start: ownThread, count: count).allSatisfy { $0 }) }
                // Outside, regions have every thread again.
                XCTAssertEqual(Parallel.threads, threads)
            }
        }
    }

    func testANewThreadCountReplacesThePool() {
        for threads in [2, 4, 2, 1, 3] {
            Parallel.configure(threads: threads)
            XCTAssertEqual(visits(31), Array(repeating: 1, count: 31), "threads \(threads)")
        }
    }
}
