import Foundation
import Tensor

/// libFuzzer target: `pytorch_model.bin` (scripts/fuzz.sh builds and runs it). The first byte
/// picks what the rest is: with its low bit clear, a whole file (the zip reader's turn); set, the
/// pickle alone, which this target stores as data.pkl in an archive with storages data/0 …
/// data/15 of 1 KiB each, so every input reaches the unpickler.
///
/// Beyond "no crash", what loads must read: every tensor gives as many values as its shape says.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPyTorch(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let body = Data(bytes: bytes + 1, count: count - 1)
    let data = bytes[0] & 1 == 0 ? body : storedZip(pickle: body)
    guard let checkpoint = try? PyTorchCheckpoint(data: data, source: "fuzz") else { return 0 }
    for name in checkpoint.names {
        let entry = try! checkpoint.entry(name)
        let values = entry.dtype.isFloatingPoint ? try! checkpoint.floats(name).count : try! checkpoint.int64s(name).count
        precondition(values == entry.elementCount && values == entry.shape.reduce(1, *), "\(name): value count ≠ shape")
    }
    return 0
}

/// A zip of stored entries: archive/byteorder, archive/data/0 … 15, then archive/data.pkl =
/// `pickle`. Everything but the pickle is made once.
func storedZip(pickle: Data) -> Data {
    var archive = ZipTemplate.shared.files
    archive.reserveCapacity(archive.count + pickle.count + ZipTemplate.shared.directory.count + 200)
    let pickleOffset = archive.count
    ZipTemplate.appendLocalHeader(name: ZipTemplate.pickleName, size: pickle.count, to: &archive)
    archive += pickle
    let directoryOffset = archive.count
    archive += ZipTemplate.shared.directory
    ZipTemplate.appendDirectoryEntry(name: ZipTemplate.pickleName, size: pickle.count, offset: pickleOffset, to: &archive)
    let directorySize = archive.count - directoryOffset
    ZipTemplate.append(0x0605_4B50, bytes: 4, to: &archive)
    for value in [0, 0, 18, 18] { ZipTemplate.append(value, bytes: 2, to: &archive) }
    ZipTemplate.append(directorySize, bytes: 4, to: &archive)
    ZipTemplate.append(directoryOffset, bytes: 4, to: &archive)
    ZipTemplate.append(0, bytes: 2, to: &archive)
    return Data(archive)
}

/// The fixed entries of `storedZip`'s archives and their central directory records.
struct ZipTemplate {
    static let shared = ZipTemplate()
    static let pickleName = "archive/data.pkl"
    var files: [UInt8] = []
    var directory: [UInt8] = []

    init() {
        var entries: [(String, [UInt8])] = [("archive/byteorder", Array("little".utf8))]
        for key in 0..<16 { entries.append(("archive/data/\(key)", (0..<1024).map { UInt8(truncatingIfNeeded: $0 * 7 + key) })) }
        for (name, content) in entries {
            let offset = files.count
            Self.appendLocalHeader(name: name, size: content.count, to: &files)
            files += content
            Self.appendDirectoryEntry(name: name, size: content.count, offset: offset, to: &directory)
        }
    }

    static func append(_ value: Int, bytes: Int, to data: inout [UInt8]) {
        for k in 0..<bytes { data.append(UInt8(value >> (8 * k) & 0xFF)) }
    }

    static func appendLocalHeader(name: String, size: Int, to data: inout [UInt8]) {
        append(0x0403_4B50, bytes: 4, to: &data)
        for value in [20, 0, 0, 0, 0] { append(value, bytes: 2, to: &data) }  // version, flags, stored, time, date
        for value in [0, size, size] { append(value, bytes: 4, to: &data) }  // CRC-32 (not checked), sizes
        for value in [name.utf8.count, 0] { append(value, bytes: 2, to: &data) }
        data += Array(name.utf8)
    }

    static func appendDirectoryEntry(name: String, size: Int, offset: Int, to data: inout [UInt8]) {
        append(0x0201_4B50, bytes: 4, to: &data)
        for value in [20, 20, 0, 0, 0, 0] { append(value, bytes: 2, to: &data) }
        for value in [0, size, size] { append(value, bytes: 4, to: &data) }
        for value in [name.utf8.count, 0, 0, 0, 0] { append(value, bytes: 2, to: &data) }
        for value in [0, offset] { append(value, bytes: 4, to: &data) }
        data += Array(name.utf8)
    }
}
