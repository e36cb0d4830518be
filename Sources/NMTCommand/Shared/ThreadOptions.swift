import ArgumentParser
import Foundation
import Tensor

/// `--threads`, the one declaration for every command that computes. nmt splits its own work
/// over this many threads (OpenBLAS runs single-threaded: docs/DESIGN.md, "Threads").
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for the matrix products and the row-wise kernels.")
    var threads: Int = ThreadOptions.defaultCount

    /// Two, or the cores there are when fewer: the machines nmt is measured on have two.
    static var defaultCount: Int { min(2, ProcessInfo.processInfo.activeProcessorCount) }

    /// More threads than cores only make the threads wait for each other (a 2-core machine
    /// translated in 48 s with 1000 threads instead of 32 s with 2): such a count is lowered to
    /// the cores, with a warning.
    mutating func validate() throws {
        guard threads >= 1 else { throw CommandError("--threads must be at least 1, got \(threads)") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if threads > cores {
            printError("warning: --threads \(threads) is more than the \(cores) cores here; using \(cores)")
            threads = cores
        }
    }

    /// Starts the worker threads and tunes the allocator; call once, before any computation.
    func configure() {
        Parallel.configure(threads: threads)
        Allocation.reuseFreedMemory()
    }
}
