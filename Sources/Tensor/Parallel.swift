import CKernels
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How many threads the toolkit's own loops (attention heads, row-wise kernels) and the BLAS
/// library use. Set once at start-up from `--threads`.
public enum Parallel {
    /// The threads a region started on this thread may use: `configure`'s count, or 1 inside
    /// `serially`.
    @inlinable
    public static var threads: Int { nmt_serial_region_depth() > 0 ? 1 : configuredThreads }
    @usableFromInline
    nonisolated(unsafe) static var configuredThreads: Int = 1
    /// The workers that run regions at `threads` > 1 (`WorkerPool`); nil: the system's pool.
    nonisolated(unsafe) private static var pool: WorkerPool?

    /// Sets the number of threads for our loops, which also split the large matrix products
    /// (`BLAS.gemm`); the BLAS library itself runs single-threaded. NMT_WORKER_POOL=0 in the
    /// environment runs every region on the system's pool instead of `WorkerPool` (to measure one
    /// against the other with one binary).
    public static func configure(threads: Int) {
        configuredThreads = max(1, threads)
        BLAS.threads = 1
        let wanted = configuredThreads > 1 && getenv("NMT_WORKER_POOL").map { String(cString: $0) != "0" } ?? true
            ? configuredThreads - 1 : 0
        if pool?.workerCount != wanted {
            pool?.stop()
            pool = wanted > 0 ? WorkerPool(workerCount: wanted) : nil
        }
    }

    /// Runs `body(i)` for i in 0..<count, spread over `threads` workers in contiguous chunks.
    /// Iterations must touch disjoint memory.
    @inlinable
    public static func forEach(_ count: Int, minimumPerWorker: Int = 1, _ body: (Int) -> Void) {
        let workers = min(threads, count / max(1, minimumPerWorker))
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        func chunk(_ worker: Int) {
            for i in (count * worker / workers)..<(count * (worker + 1) / workers) { body(i) }
        }
        if runOnPool(parts: workers, chunk) { return }
        DispatchQueue.concurrentPerform(iterations: workers, execute: chunk)
    }

    /// Runs `body` with every region it starts on this thread kept to this thread.
    @inlinable
    public static func serially<T>(_ body: () throws -> T) rethrows -> T {
        nmt_serial_region_enter()
        defer { nmt_serial_region_leave() }
        return try body()
    }

    /// Runs `job(i)` for i in 0..<count, each job whole on one thread (its regions serial), the
    /// threads taking the next job as they finish one, in order. For independent jobs far larger
    /// than a region, such as batches of sentences: splitting every product of a decoder step
    /// across two threads costs some thirty handoffs a step and leaves the serial parts (search
    /// bookkeeping, detokenization) on one core; a batch per thread costs one handoff and splits
    /// everything. Jobs must touch disjoint memory; the last ones run while other threads idle, so
    /// the longest should come first.
    public static func eachOnOneThread(_ count: Int, _ job: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 {
            for i in 0..<count { job(i) }
            return
        }
        let next = Atomic<Int>(0)
        forEach(workers) { _ in
            serially {
                while case let i = next.add(1, ordering: .relaxed).oldValue, i < count { job(i) }
            }
        }
    }

    /// Runs the region on `WorkerPool`; false when there is none or it is running another region.
    @usableFromInline
    static func runOnPool(parts: Int, _ body: (Int) -> Void) -> Bool {
        guard let pool, parts <= pool.workerCount + 1 else { return false }
        return pool.run(parts: parts, body)
    }
}
