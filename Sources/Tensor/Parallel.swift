import Dispatch

/// How many threads the toolkit's own loops (attention heads, row-wise kernels) and the BLAS
/// library use. Set once at start-up from `--threads`.
public enum Parallel {
    nonisolated(unsafe) public private(set) static var threads: Int = 1

    /// Sets the number of threads for our loops, which also split the large matrix products
    /// (`BLAS.gemm`); the BLAS library itself runs single-threaded.
    public static func configure(threads: Int) {
        Parallel.threads = max(1, threads)
        BLAS.threads = 1
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
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let start = count * worker / workers
            let end = count * (worker + 1) / workers
            for i in start..<end { body(i) }
        }
    }
}
