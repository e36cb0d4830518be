#if MPI
import Foundation
import MPI
import NMT

/// A `TrainingGroup` over MPI's world communicator: the processes one `mpirun` started.
///
/// Failures end the job rather than leave ranks waiting for each other. The communicator returns
/// errors instead of aborting inside the library (MPI_ERRORS_RETURN), so every call's code is
/// checked and a failure becomes one line on standard error followed by `MPI_Abort`, which makes
/// `mpirun` kill every rank. A rank that dies outright (a crash, SIGKILL) is noticed by `mpirun`,
/// which then kills the others. MPI has no time limit on a blocking collective, so a watchdog
/// thread gives the per-step collectives one: a rank that waits longer than `collectiveTimeout`
/// for the others (a peer stuck in I/O, or ranks that took different paths through the program)
/// aborts the job with a message.
public final class MPITrainingGroup: TrainingGroup {
    public let rank: Int
    public let size: Int
    private let communicator: MPI_Comm
    private let watchdog: CollectiveWatchdog

    /// Initialises MPI (once per process) and joins the world communicator.
    public init(collectiveTimeout: Double) throws {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            // Only the main thread calls MPI; the watchdog calls MPI_Abort, which Open MPI allows
            // from any thread.
            var provided: Int32 = 0
            guard MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided) == MPI_SUCCESS else {
                throw LaunchError(description: "MPI_Init_thread failed: is this process started by mpirun from the same Open MPI?")
            }
            // A normal exit (including exit status 130 after an agreed interrupt) finalises MPI, as
            // mpirun expects of every rank; errors leave through `abort` instead.
            atexit {
                var finalized: Int32 = 0
                MPI_Finalized(&finalized)
                if finalized == 0 { MPI_Finalize() }
            }
        }
        communicator = nmt_mpi_comm_world()
        MPI_Comm_set_errhandler(communicator, nmt_mpi_errors_return())
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(communicator, &rank)
        MPI_Comm_size(communicator, &size)
        self.rank = Int(rank)
        self.size = Int(size)
        watchdog = CollectiveWatchdog(rank: Int(rank), timeout: collectiveTimeout)
    }

    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        watchdog.guarding("MPI_Allreduce of \(count) gradients") {
            // MPI counts are 32-bit; a model of more than 2^31 parameters goes in pieces.
            var offset = 0
            while offset < count {
                let piece = min(count - offset, Int(Int32.max))
                check(MPI_Allreduce(nmt_mpi_in_place(), buffer + offset, Int32(piece), nmt_mpi_float(), nmt_mpi_sum(), communicator),
                      "MPI_Allreduce")
                offset += piece
            }
        }
    }

    public func allReduceSum(_ values: [Double]) -> [Double] {
        var result = values
        watchdog.guarding("MPI_Allreduce of \(values.count) numbers") {
            result.withUnsafeMutableBufferPointer { buffer in
                check(MPI_Allreduce(nmt_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), nmt_mpi_double(), nmt_mpi_sum(), communicator),
                      "MPI_Allreduce")
            }
        }
        return result
    }

    public func broadcastFromFirst(_ values: [Double]) -> [Double] {
        var result = values
        result.withUnsafeMutableBufferPointer { buffer in
            var request = nmt_mpi_request_null()
            check(MPI_Ibcast(buffer.baseAddress, Int32(buffer.count), nmt_mpi_double(), 0, communicator, &request), "MPI_Ibcast")
            // Blocking MPI calls spin; the ranks waiting here for rank 0 (validating, writing a
            // checkpoint) would take its cores. Poll with short sleeps instead.
            var done: Int32 = 0
            while true {
                check(MPI_Test(&request, &done, nmt_mpi_status_ignore()), "MPI_Test")
                if done != 0 { break }
                usleep(200)
            }
        }
        return result
    }

    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        MPI_Abort(communicator, 1)
        exit(1)  // MPI_Abort does not return; this satisfies the compiler.
    }

    /// Ends the job when an MPI call failed.
    private func check(_ code: Int32, _ call: String) {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        abort("rank \(rank): \(call) failed: \(String(cString: text)) (another rank has probably failed; see its message)")
    }
}

/// Gives blocking collectives a time limit: the main thread marks when it enters and leaves one;
/// a background thread checks once a second and aborts the job when a collective has lasted
/// longer than `timeout`.
final class CollectiveWatchdog: @unchecked Sendable {
    private let rank: Int
    private let timeout: Double
    private let lock = NSLock()
    private var entered: (call: String, at: Date)?

    init(rank: Int, timeout: Double) {
        self.rank = rank
        self.timeout = timeout
        let thread = Thread { [weak self] in
            while let watchdog = self {
                watchdog.check()
                Thread.sleep(forTimeInterval: 1)
            }
        }
        thread.name = "nmt-collective-watchdog"
        thread.start()
    }

    func guarding(_ call: String, _ body: () -> Void) {
        lock.withLock { entered = (call, Date()) }
        body()
        lock.withLock { entered = nil }
    }

    private func check() {
        guard let (call, start) = lock.withLock({ entered }) else { return }
        let waited = Date().timeIntervalSince(start)
        guard waited > timeout else { return }
        let message = String(format: "rank %d: %@ waited %.0f s for the other ranks (NMT_COLLECTIVE_TIMEOUT %.0f s); a rank is stuck or the ranks ran different steps. Ending the job.",
                             rank, call, waited, timeout)
        FileHandle.standardError.write(Data((message + "\n").utf8))
        MPI_Abort(nmt_mpi_comm_world(), 1)
        _exit(1)
    }
}
#endif
