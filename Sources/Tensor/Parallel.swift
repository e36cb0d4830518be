import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// How many threads the toolkit's own loops (attention heads, row-wise kernels) and the BLAS
/// library use. Set once at start-up from `--threads`.
public enum Parallel {
    nonisolated(unsafe) public private(set) static var threads: Int = 1
    /// The workers that run regions at `threads` > 1 (`WorkerPool`); nil: the system's pool.
    nonisolated(unsafe) private static var pool: WorkerPool?

    /// Sets the number of threads for our loops, which also split the large matrix products
    /// (`BLAS.gemm`); the BLAS library itself runs single-threaded. NMT_WORKER_POOL=0 in the
    /// environment runs every region on the system's pool instead of `WorkerPool` (to measure one
    /// against the other with one binary).
    public static func configure(threads: Int) {
        Parallel.threads = max(1, threads)
        BLAS.threads = 1
        let wanted = Parallel.threads > 1 && getenv("NMT_WORKER_POOL").map { String(cString: $0) != "0" } ?? true
            ? Parallel.threads - 1 : 0
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

    /// Runs the region on `WorkerPool`; false when there is none or it is running another region.
    @usableFromInline
    static func runOnPool(parts: Int, _ body: (Int) -> Void) -> Bool {
        guard let pool, parts <= pool.workerCount + 1 else { return false }
        return pool.run(parts: parts, body)
    }
}
