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

    func validate() throws {
        guard threads >= 1 else { throw CommandError("--threads must be at least 1, got \(threads)") }
    }

    /// Starts the worker threads and tunes the allocator; call once, before any computation.
    func configure() {
        Parallel.configure(threads: threads)
        Allocation.reuseFreedMemory()
    }
}
