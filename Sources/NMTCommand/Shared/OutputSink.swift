import Foundation
import TextIO

/// Writes to a file through a temporary name that is renamed into place once everything is
/// written, so a failed run leaves no partial output; or to standard output.
final class OutputSink {
    private let destination: URL?
    private let temporary: URL?
    private let handle: FileHandle

    init(path: String?) throws {
        // Past a file-size limit (ulimit -f) a write then fails with EFBIG and is reported in one
        // line, instead of SIGXFSZ ending the process.
        signal(SIGXFSZ, SIG_IGN)
        guard let path else {
            destination = nil
            temporary = nil
            handle = FileHandle.standardOutput
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporary.path) else {
            throw CommandError("\(path): cannot create the output file")
        }
        self.destination = url
        self.temporary = temporary
        self.handle = handle
    }

    /// Writes a line; a failed write (a full disk, a closed pipe) is an error naming the output,
    /// where FileHandle's own `write(_:)` would crash.
    func write(_ line: String) throws {
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch {
            throw CommandError("\(destination?.path ?? "<stdout>"): cannot write (\(FileError.reason(for: error)))")
        }
    }

    /// Moves a file output into place.
    func finish() throws {
        guard let destination, let temporary else { return }
        try handle.close()
        guard rename(temporary.path, destination.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw CommandError("\(destination.path): cannot write the output file")
        }
    }

    /// Removes a partial file output.
    func abandon() {
        guard let temporary else { return }
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
    }
}
