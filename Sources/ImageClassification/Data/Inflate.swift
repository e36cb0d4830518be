import CZlib
import Foundation

/// Deflate-compressed data through zlib, in the two wrappers nmt meets: gzip files (the IDX files
/// of Fashion-MNIST) and zlib streams (the image data of a PNG).
public enum Inflate {
    public enum Wrapper: Sendable {
        /// RFC 1952: a gzip file, possibly several members one after another (as `cat a.gz b.gz`
        /// makes, which gunzip reads as one file).
        case gzip
        /// RFC 1950: one zlib stream.
        case zlib

        /// zlib's `windowBits`: 16 + the largest window selects the gzip header and trailer.
        var windowBits: Int32 { self == .gzip ? 16 + MAX_WBITS : MAX_WBITS }
        var name: String { self == .gzip ? "gzip" : "zlib" }
    }

    /// The decompressed contents of a gzip file, read in chunks (a 26 MB file is never held
    /// compressed and decompressed at once beyond one chunk).
    public static func gunzip(contentsOf file: URL) throws -> [UInt8] {
        let stream = try InflateStream(wrapper: .gzip, file: file)
        var output: [UInt8] = []
        var sawInput = false
        try BinaryFile.forEachChunk(of: file) { chunk in
            sawInput = true
            try stream.inflate(chunk, into: &output)
        }
        guard sawInput else { throw ImageDataError(file, "the file is empty, not gzip data") }
        try stream.finish()
        return output
    }

    /// The decompressed bytes of a complete zlib or gzip stream held in memory; `file` names
    /// where it came from in errors. With a `limit`, inflating stops with its `problem` as soon
    /// as the output passes `bytes`, so a small file cannot inflate into gigabytes.
    public static func decompress(_ bytes: [UInt8], wrapper: Wrapper, file: URL, limit: (bytes: Int, problem: String)? = nil) throws -> [UInt8] {
        let stream = try InflateStream(wrapper: wrapper, file: file)
        var output: [UInt8] = []
        output.reserveCapacity(min(bytes.count * 4, limit?.bytes ?? .max))
        try bytes.withUnsafeBytes { try stream.inflate($0, into: &output, limit: limit) }
        try stream.finish()
        return output
    }
}

/// One z_stream fed chunk by chunk. zlib remembers the address of its z_stream, so the struct
/// lives on the heap and never moves.
final class InflateStream {
    private let stream: UnsafeMutablePointer<z_stream>
    private let wrapper: Inflate.Wrapper
    private let file: URL
    /// Whether the last member ended and no byte of a new one has arrived since.
    private var atMemberEnd = false

    init(wrapper: Inflate.Wrapper, file: URL) throws {
        self.wrapper = wrapper
        self.file = file
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // inflateInit2 is a macro that Swift cannot call; it expands to this.
        let status = inflateInit2_(stream, wrapper.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw ImageDataError(file, "zlib could not start inflating (status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates `input`, appending what comes out to `output`.
    func inflate(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], limit: (bytes: Int, problem: String)? = nil) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        let outputChunk = 1 << 18
        var scratch = [UInt8](repeating: 0, count: outputChunk)
        // A full output chunk may leave more output inside zlib even when all input is taken.
        var outputFull = false
        while stream.pointee.avail_in > 0 || (outputFull && !atMemberEnd) {
            if atMemberEnd {
                guard wrapper == .gzip else {
                    throw ImageDataError(file, "\(stream.pointee.avail_in) bytes after the end of the \(wrapper.name) stream")
                }
                // Another gzip member follows.
                inflateReset(stream)
                atMemberEnd = false
            }
            let status: Int32 = scratch.withUnsafeMutableBufferPointer { buffer in
                stream.pointee.next_out = buffer.baseAddress
                stream.pointee.avail_out = uInt(outputChunk)
                return CZlib.inflate(stream, Z_NO_FLUSH)
            }
            let produced = outputChunk - Int(stream.pointee.avail_out)
            outputFull = produced == outputChunk
            output.append(contentsOf: scratch[0..<produced])
            if let limit, output.count > limit.bytes { throw ImageDataError(file, limit.problem) }
            switch status {
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress was possible: all input is taken and zlib holds no more output.
                return
            case Z_STREAM_END:
                atMemberEnd = true
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                throw ImageDataError(file, "corrupt \(wrapper.name) data (\(reason))")
            }
        }
    }

    /// Checks that the input ended with the end of a stream.
    func finish() throws {
        guard atMemberEnd else {
            throw ImageDataError(file, "truncated \(wrapper.name) data: the compressed stream ends early")
        }
    }
}
