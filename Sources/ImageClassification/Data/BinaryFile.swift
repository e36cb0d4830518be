import Foundation

/// Reads files through POSIX calls, in chunks, so a failure says what the system says
/// ("No such file or directory", "Permission denied", "Is a directory") rather than the
/// wording of Foundation's errors.
enum BinaryFile {
    /// Calls `body` with successive chunks of the file, at most `chunkSize` bytes each, until the
    /// end of the file.
    static func forEachChunk(of file: URL, chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let descriptor = open(file.path, O_RDONLY)
        guard descriptor >= 0 else { throw ImageDataError(file, String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw ImageDataError(file, String(cString: strerror(errno)))
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// The whole file.
    static func contents(of file: URL) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try forEachChunk(of: file) { bytes.append(contentsOf: $0) }
        return bytes
    }
}
