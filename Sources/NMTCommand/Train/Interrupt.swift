import Foundation

/// SIGINT and SIGTERM set a flag that the trainer reads between updates, so the update in flight
/// (or the checkpoint being written) is finished and saved; the process then exits with 128 + the
/// signal's number, as a shell reports a process killed by it: 130 for SIGINT, 143 for SIGTERM.
/// A second one ends the process at once (a checkpoint being written then stays a temporary
/// directory, never read, and the previous checkpoint stays).
enum Interrupt {
    /// The signal received, or 0.
    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    static var requested: Bool { received != 0 }
    static var signalName: String {
        switch received {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "a signal to another rank"  // a rank of an mpirun job stopping with the others
        }
    }
    static var exitCode: Int32 { received == 0 ? 130 : 128 + Int32(received) }

    static func install() {
        received = 0  // initialises the static before any handler can read it
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { signalNumber in
                if Interrupt.received != 0 { _exit(128 + signalNumber) }
                Interrupt.received = signalNumber
            }
        }
        // Past a file-size limit (ulimit -f), write(2) then fails with EFBIG, which the checkpoint
        // writer reports in one line, keeping the previous checkpoint, instead of dying at once.
        signal(SIGXFSZ, SIG_IGN)
    }
}
