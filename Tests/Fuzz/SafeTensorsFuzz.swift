import Foundation
import Tensor

/// libFuzzer target: arbitrary bytes as a safetensors file (scripts/fuzz.sh builds and runs it).
///
/// Beyond "no crash", what the parser accepts must hold up: every entry's bytes lie inside the
/// data and match its shape, its values can be read, and the floats written back by
/// `SafeTensorsWriter` (with the same metadata and names) read back bit for bit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    guard let file = try? SafeTensorsFile(data: data, source: "fuzz") else { return 0 }
    var writer = SafeTensorsWriter(dtype: .f32, metadata: file.metadata)
    var floats: [String: [Float]] = [:]
    for name in file.names {
        let entry = try! file.entry(name)
        precondition(entry.byteRange.lowerBound >= 8 && entry.byteRange.upperBound <= count, "\(name): bytes outside the file")
        precondition(entry.byteRange.count == entry.elementCount * entry.dtype.byteSize, "\(name): byte count ≠ shape")
        switch entry.dtype {
        case .i64, .i32:
            precondition(try! file.int64s(name).count == entry.elementCount)
        case .i8:
            let codes = try! file.int8s(name)
            precondition(codes.count == entry.elementCount && try! file.int64s(name) == codes.map(Int64.init))
        case .f32, .f16, .bf16, .f64:
            let values = try! file.floats(name)
            precondition(values.count == entry.elementCount)
            writer.add(name, shape: entry.shape, values: values)
            floats[name] = values
        }
    }
    let copy = try! SafeTensorsFile(data: writer.data(), source: "copy")
    precondition(copy.metadata == file.metadata, "metadata changed in the round trip")
    precondition(Set(copy.names) == Set(floats.keys), "names changed in the round trip")
    for (name, values) in floats {
        precondition(try! copy.shape(name) == file.shape(name), "\(name): shape changed in the round trip")
        precondition(try! copy.floats(name).map(\.bitPattern) == values.map(\.bitPattern), "\(name): values changed in the round trip")
    }
    return 0
}
