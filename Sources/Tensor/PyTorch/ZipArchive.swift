import Foundation

/// The entries of a zip archive whose files are stored uncompressed — the container of PyTorch's
/// `torch.save` format. Read from the central directory (zip64 included); every offset and size is
/// checked against the file, so a malformed archive is an error, never a read out of bounds.
/// Compressed or encrypted entries are refused: PyTorch never writes them, and reading them
/// would need an inflater for no real file. (CRC-32s are not verified.)
struct ZipArchive {
    struct Entry {
        var name: String
        /// The entry's bytes within the archive.
        var data: Range<Int>
    }

    /// The entries in central-directory order.
    let entries: [Entry]

    /// Reads the directory of `bytes`; a problem is a message in words (the caller names the file).
    init(_ bytes: UnsafeRawBufferPointer) throws {
        let reader = ByteReader(bytes: bytes)
        let end = try Self.endOfCentralDirectory(reader)
        var entries: [Entry] = []
        var position = end.directoryOffset
        for index in 0..<end.entryCount {
            guard try reader.uint32(position) == 0x0201_4B50 else {
                throw ZipProblem("central directory entry \(index) at byte \(position) has no signature")
            }
            let flags = try reader.uint16(position + 8)
            let method = try reader.uint16(position + 10)
            var compressedSize = Int(try reader.uint32(position + 20))
            var size = Int(try reader.uint32(position + 24))
            let nameLength = Int(try reader.uint16(position + 28))
            let extraLength = Int(try reader.uint16(position + 30))
            let commentLength = Int(try reader.uint16(position + 32))
            var localOffset = Int(try reader.uint32(position + 42))
            let name = String(decoding: try reader.bytes(position + 46, count: nameLength), as: UTF8.self)
            // Zip64: the sizes and offset that do not fit 32 bits follow in extra field 0x0001.
            var extra = position + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try reader.uint16(extra), length = Int(try reader.uint16(extra + 2))
                if id == 1 {
                    var field = extra + 4
                    if size == 0xFFFF_FFFF { size = try reader.int64(field, limit: bytes.count); field += 8 }
                    if compressedSize == 0xFFFF_FFFF { compressedSize = try reader.int64(field, limit: bytes.count); field += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try reader.int64(field, limit: bytes.count); field += 8 }
                    guard field <= extra + 4 + length else { throw ZipProblem("entry \(name): its zip64 field is too short") }
                }
                extra += 4 + length
            }
            guard flags & 1 == 0 else { throw ZipProblem("entry \(name) is encrypted") }
            guard method == 0 else {
                throw ZipProblem("entry \(name) is compressed (method \(method)); PyTorch archives store their entries uncompressed")
            }
            guard compressedSize == size else { throw ZipProblem("entry \(name): stored with \(compressedSize) bytes but \(size) uncompressed") }
            guard try reader.uint32(localOffset) == 0x0403_4B50 else {
                throw ZipProblem("entry \(name): no local header at byte \(localOffset)")
            }
            let dataStart = localOffset + 30 + Int(try reader.uint16(localOffset + 26)) + Int(try reader.uint16(localOffset + 28))
            guard dataStart <= bytes.count, size <= bytes.count - dataStart else {
                throw ZipProblem("entry \(name): its \(size) bytes at byte \(dataStart) run past the end of the file (\(bytes.count) bytes)")
            }
            entries.append(Entry(name: name, data: dataStart..<dataStart + size))
            position = extraEnd + commentLength
        }
        self.entries = entries
    }

    /// The entry called `name`, or nil.
    func entry(_ name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// Where the central directory is and how many entries it has, from the end record (and the
    /// zip64 end record when the numbers do not fit the classic one).
    private static func endOfCentralDirectory(_ reader: ByteReader) throws -> (entryCount: Int, directoryOffset: Int) {
        let count = reader.bytes.count
        guard count >= 22 else { throw ZipProblem("not a zip archive (\(count) bytes, too short)") }
        // The end record is 22 bytes plus a comment of up to 65,535 bytes.
        var end = count - 22
        while try reader.uint32(end) != 0x0605_4B50 {
            guard end > 0, end > count - 22 - 65535 else {
                throw ZipProblem("not a zip archive (no end-of-central-directory record: truncated, or another format)")
            }
            end -= 1
        }
        var entryCount = Int(try reader.uint16(end + 10))
        var directoryOffset = Int(try reader.uint32(end + 16))
        if entryCount == 0xFFFF || directoryOffset == 0xFFFF_FFFF {
            guard end >= 20, try reader.uint32(end - 20) == 0x0706_4B50 else {
                throw ZipProblem("the end record points to a zip64 record that is not there")
            }
            let record = try reader.int64(end - 12, limit: count)
            guard try reader.uint32(record) == 0x0606_4B50 else { throw ZipProblem("no zip64 end record at byte \(record)") }
            entryCount = try reader.int64(record + 32, limit: count)
            directoryOffset = try reader.int64(record + 48, limit: count)
        }
        guard directoryOffset <= count else { throw ZipProblem("the central directory offset \(directoryOffset) is past the end") }
        return (entryCount, directoryOffset)
    }
}

/// What is wrong with an archive, in words.
struct ZipProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Little-endian reads at absolute offsets, each checked against the buffer.
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer

    private func check(_ offset: Int, _ count: Int) throws {
        guard offset >= 0, count <= bytes.count, offset <= bytes.count - count else {
            throw ZipProblem("a record at byte \(offset) runs past the end of the file (\(bytes.count) bytes): truncated?")
        }
    }

    func uint16(_ offset: Int) throws -> UInt16 {
        try check(offset, 2)
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    func uint32(_ offset: Int) throws -> UInt32 {
        try check(offset, 4)
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// An unsigned 64-bit size or offset, which must be at most `limit` (the file's size).
    func int64(_ offset: Int, limit: Int) throws -> Int {
        try check(offset, 8)
        let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        guard value <= UInt64(limit) else { throw ZipProblem("a zip64 size or offset (\(value)) is larger than the file") }
        return Int(value)
    }

    func bytes(_ offset: Int, count: Int) throws -> UnsafeRawBufferPointer {
        try check(offset, count)
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }
}
