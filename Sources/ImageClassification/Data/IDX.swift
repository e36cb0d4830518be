import Foundation

/// The IDX format of the MNIST family (yann.lecun.com/exdb/mnist): a magic number — two zero
/// bytes, a type byte (0x08 for unsigned bytes) and the number of dimensions — then each
/// dimension as a big-endian 32-bit count, then the values in row-major order.
public enum IDX {
    /// Magic number of a file of images: unsigned bytes, 3 dimensions (count, rows, columns).
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// Magic number of a file of labels: unsigned bytes, 1 dimension (count).
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// The dimensions and values of an IDX file of unsigned bytes with `magic`; `file` names
    /// the file in errors, `what` says what it should hold ("images", "labels").
    public static func parse(_ bytes: [UInt8], magic: UInt32, what: String, file: URL) throws -> (dimensions: [Int], values: [UInt8]) {
        let dimensionCount = Int(magic & 0xff)
        let headerSize = 4 + 4 * dimensionCount
        guard bytes.count >= 4 else {
            throw ImageDataError(file, "\(bytes.count) bytes is too short for an IDX file of \(what)")
        }
        let found = bigEndian32(bytes, at: 0)
        guard found == magic else {
            throw ImageDataError(file, String(format: "not an IDX file of %@: magic number 0x%08x, expected 0x%08x", what, found, magic))
        }
        guard bytes.count >= headerSize else {
            throw ImageDataError(file, "truncated IDX header: \(bytes.count) bytes, the header of \(what) takes \(headerSize)")
        }
        let dimensions = (0..<dimensionCount).map { Int(bigEndian32(bytes, at: 4 + 4 * $0)) }
        // Each dimension is below 2^32, so the product of three stays far inside Int.
        let valueCount = dimensions.reduce(1, *)
        let shape = dimensions.map(String.init).joined(separator: "×")
        guard bytes.count - headerSize == valueCount else {
            let problem = bytes.count - headerSize < valueCount ? "truncated" : "too long"
            throw ImageDataError(file, "\(problem): the header gives \(shape) \(what) = \(valueCount) bytes of data, the file has \(bytes.count - headerSize)")
        }
        return (dimensions, Array(bytes[headerSize...]))
    }

    /// The bytes of an IDX file of unsigned bytes: the inverse of `parse`.
    public static func encode(dimensions: [Int], values: [UInt8]) -> [UInt8] {
        precondition(dimensions.reduce(1, *) == values.count, "IDX.encode: \(values.count) values for dimensions \(dimensions)")
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for dimension in dimensions {
            bytes += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init)
        }
        return bytes + values
    }

    static func bigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
