import CZlib
import Foundation

/// A grayscale picture, one byte a pixel, row by row.
public struct GrayImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// (height, width).
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height, "GrayImage: \(pixels.count) pixels for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The picture as `width` × `height`, each new pixel the mean of the area of the old
    /// picture it covers (pixels partly covered count in proportion): a box filter, the
    /// resampling that keeps a stroke's ink when shrinking. The aspect ratio is not kept.
    public func resized(width newWidth: Int, height newHeight: Int) -> GrayImage {
        precondition(newWidth > 0 && newHeight > 0, "GrayImage.resized: \(newWidth)×\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        let horizontal = GrayImage.coverage(from: width, to: newWidth)
        let vertical = GrayImage.coverage(from: height, to: newHeight)
        var result = [UInt8](repeating: 0, count: newWidth * newHeight)
        for (y, rowsCovered) in vertical.enumerated() {
            for (x, columnsCovered) in horizontal.enumerated() {
                var sum = 0.0
                for (row, rowWeight) in rowsCovered {
                    for (column, columnWeight) in columnsCovered {
                        sum += rowWeight * columnWeight * Double(pixels[row * width + column])
                    }
                }
                result[y * newWidth + x] = UInt8(min(255, max(0, sum.rounded())))
            }
        }
        return GrayImage(width: newWidth, height: newHeight, pixels: result)
    }

    /// For each of `newCount` cells along one axis, the old pixels it covers and the share of
    /// the cell each covers (the shares sum to 1). Cell i spans [i, i + 1) · count / newCount
    /// in old pixels; measured in units of 1 / newCount, so the bounds are whole numbers.
    static func coverage(from count: Int, to newCount: Int) -> [[(index: Int, weight: Double)]] {
        (0..<newCount).map { i in
            let start = i * count, end = (i + 1) * count  // in units of 1 / newCount
            var covered: [(index: Int, weight: Double)] = []
            for pixel in (start / newCount)...((end - 1) / newCount) {
                let overlap = min(end, (pixel + 1) * newCount) - max(start, pixel * newCount)
                if overlap > 0 { covered.append((pixel, Double(overlap) / Double(count))) }
            }
            return covered
        }
    }
}

/// Reads PNG files (www.w3.org/TR/png) into grayscale: every colour type (grayscale, grayscale
/// with alpha, RGB, RGBA, palette) at every bit depth the format allows, all five row filters;
/// not interlaced ones (Adam7), which few tools write by default.
///
/// Colour becomes gray by the luma of ITU-R BT.601, rounded as Pillow's `convert("L")` does;
/// a transparent pixel is blended onto black, the background of Fashion-MNIST.
public enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func read(_ file: URL) throws -> GrayImage {
        try decode(try BinaryFile.contents(of: file), file: file)
    }

    /// `bytes` hold a PNG file; `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: URL) throws -> GrayImage {
        guard bytes.count >= signature.count, Array(bytes[0..<signature.count]) == signature else {
            throw ImageDataError(file, "not a PNG file (it does not start with the PNG signature)")
        }
        var header: Header?
        var palette: [UInt8] = []
        var transparency: [UInt8] = []
        var compressed: [UInt8] = []
        var sawEnd = false
        var offset = signature.count
        while !sawEnd {
            guard offset + 8 <= bytes.count else {
                throw ImageDataError(file, "truncated PNG: the file ends before its IEND chunk")
            }
            let length = Int(IDX.bigEndian32(bytes, at: offset))
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            guard length <= Int(Int32.max), offset + 12 + length <= bytes.count else {
                throw ImageDataError(file, "truncated PNG: chunk \(type) of \(length) bytes runs past the end of the file")
            }
            let data = bytes[offset + 8..<offset + 8 + length]
            let storedCRC = IDX.bigEndian32(bytes, at: offset + 8 + length)
            // The CRC covers the chunk's type and data.
            let computedCRC = bytes[offset + 4..<offset + 8 + length].withUnsafeBufferPointer {
                UInt32(crc32(0, $0.baseAddress, uInt($0.count)))
            }
            guard storedCRC == computedCRC else {
                throw ImageDataError(file, "corrupt PNG: the checksum of chunk \(type) does not match its data")
            }
            switch type {
            case "IHDR": header = try Header(Array(data), file: file)
            case "PLTE": palette = Array(data)
            case "tRNS": transparency = Array(data)
            case "IDAT": compressed += data
            case "IEND": sawEnd = true
            default:
                // Ancillary chunks (first letter lower case) carry nothing a gray picture needs;
                // an unknown critical one means the picture cannot be read right.
                if let first = type.unicodeScalars.first, first.properties.isUppercase {
                    throw ImageDataError(file, "unsupported PNG: unknown critical chunk \(type)")
                }
            }
            if header == nil && type != "IHDR" {
                throw ImageDataError(file, "corrupt PNG: the first chunk is \(type), not IHDR")
            }
            offset += 12 + length
        }
        guard let header else { throw ImageDataError(file, "corrupt PNG: no IHDR chunk") }
        guard !compressed.isEmpty else { throw ImageDataError(file, "corrupt PNG: no IDAT chunk") }
        if header.colorType == 3 && palette.isEmpty {
            throw ImageDataError(file, "corrupt PNG: a palette picture without a PLTE chunk")
        }
        let rowBytes = (header.width * header.bitsPerPixel + 7) / 8
        let expected = header.height * (1 + rowBytes)
        let size = "\(header.width)×\(header.height) needs \(expected)"
        var rows = try Inflate.decompress(compressed, wrapper: .zlib, file: file,
                                          limit: (expected, "corrupt PNG: more image data than \(size) bytes"))
        guard rows.count == expected else {
            throw ImageDataError(file, "corrupt PNG: \(rows.count) bytes of image data, \(size)")
        }
        try unfilter(&rows, rowBytes: rowBytes, height: header.height, bytesPerPixel: max(1, header.bitsPerPixel / 8), file: file)
        return try grayscale(rows, header: header, rowBytes: rowBytes, palette: palette, transparency: transparency, file: file)
    }

    struct Header {
        var width: Int
        var height: Int
        var bitDepth: Int
        var colorType: Int
        var channels: Int
        var bitsPerPixel: Int { channels * bitDepth }

        init(_ data: [UInt8], file: URL) throws {
            guard data.count == 13 else { throw ImageDataError(file, "corrupt PNG: IHDR has \(data.count) bytes, not 13") }
            width = Int(IDX.bigEndian32(data, at: 0))
            height = Int(IDX.bigEndian32(data, at: 4))
            bitDepth = Int(data[8])
            colorType = Int(data[9])
            guard width > 0, height > 0 else { throw ImageDataError(file, "corrupt PNG: \(width)×\(height) pixels") }
            // More than 2^26 pixels is not a picture of clothes; refuse before allocating for it.
            guard width * height <= 1 << 26 else {
                throw ImageDataError(file, "unsupported PNG: \(width)×\(height) pixels is too large (at most 2^26)")
            }
            let allowedDepths: [Int: (channels: Int, depths: [Int])] = [
                0: (1, [1, 2, 4, 8, 16]), 2: (3, [8, 16]), 3: (1, [1, 2, 4, 8]), 4: (2, [8, 16]), 6: (4, [8, 16]),
            ]
            guard let allowed = allowedDepths[colorType] else {
                throw ImageDataError(file, "corrupt PNG: colour type \(colorType) does not exist")
            }
            guard allowed.depths.contains(bitDepth) else {
                throw ImageDataError(file, "corrupt PNG: bit depth \(bitDepth) is not allowed with colour type \(colorType)")
            }
            channels = allowed.channels
            guard data[10] == 0, data[11] == 0 else {
                throw ImageDataError(file, "unsupported PNG: compression method \(data[10]), filter method \(data[11]) (only 0 exists)")
            }
            guard data[12] == 0 else {
                throw ImageDataError(file, data[12] == 1
                    ? "interlaced (Adam7) PNG is not supported; save the picture without interlacing"
                    : "corrupt PNG: interlace method \(data[12])")
            }
        }
    }

    /// Undoes the row filters (PNG specification, section 9) in place: each row is its filter
    /// type, then its bytes stored as differences from a prediction made from the byte
    /// `bytesPerPixel` to the left (a), the byte above (b) and the one above-left (c). A row is
    /// restored before the next one reads it, so one buffer serves (a photo's bytes are not
    /// held twice).
    static func unfilter(_ rows: inout [UInt8], rowBytes: Int, height: Int, bytesPerPixel: Int, file: URL) throws {
        let stride = rowBytes + 1
        for y in 0..<height {
            let filter = rows[y * stride]
            let row = y * stride + 1, above = row - stride
            for i in 0..<rowBytes {
                let a = i >= bytesPerPixel ? Int(rows[row + i - bytesPerPixel]) : 0
                let b = y > 0 ? Int(rows[above + i]) : 0
                let c = y > 0 && i >= bytesPerPixel ? Int(rows[above + i - bytesPerPixel]) : 0
                let prediction: Int
                switch filter {
                case 0: prediction = 0
                case 1: prediction = a
                case 2: prediction = b
                case 3: prediction = (a + b) / 2
                case 4: prediction = paeth(a, b, c)
                default: throw ImageDataError(file, "corrupt PNG: row \(y) has filter type \(filter) (0–4 exist)")
                }
                rows[row + i] &+= UInt8(truncatingIfNeeded: prediction)
            }
        }
    }

    /// Of a, b and c, the one closest to a + b − c (ties to a, then b).
    static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    /// Gray bytes from unfiltered rows (each after its filter-type byte) of any colour type and depth.
    static func grayscale(_ raw: [UInt8], header: Header, rowBytes: Int, palette: [UInt8], transparency: [UInt8], file: URL) throws -> GrayImage {
        let depth = header.bitDepth
        let maximum = (1 << depth) - 1
        // The transparent colour of a grayscale or RGB picture without alpha, in samples.
        let key: [Int]? = {
            guard header.colorType == 0 || header.colorType == 2, transparency.count == 2 * header.channels else { return nil }
            return (0..<header.channels).map { Int(transparency[2 * $0]) << 8 | Int(transparency[2 * $0 + 1]) }
        }()
        var pixels = [UInt8](repeating: 0, count: header.width * header.height)
        var samples = [Int](repeating: 0, count: header.channels)
        for y in 0..<header.height {
            let row = y * (rowBytes + 1) + 1
            for x in 0..<header.width {
                for channel in 0..<header.channels {
                    let index = x * header.channels + channel
                    switch depth {
                    case 16: samples[channel] = Int(raw[row + 2 * index]) << 8 | Int(raw[row + 2 * index + 1])
                    case 8: samples[channel] = Int(raw[row + index])
                    default:
                        // Several samples in a byte, the leftmost in the high bits.
                        let bit = index * depth
                        samples[channel] = Int(raw[row + bit / 8]) >> (8 - depth - bit % 8) & maximum
                    }
                }
                var gray: Int, alpha = 255
                switch header.colorType {
                case 3:
                    let entry = samples[0]
                    guard 3 * entry + 2 < palette.count else {
                        throw ImageDataError(file, "corrupt PNG: pixel (\(x), \(y)) uses palette entry \(entry) of \(palette.count / 3)")
                    }
                    gray = luma(Int(palette[3 * entry]), Int(palette[3 * entry + 1]), Int(palette[3 * entry + 2]))
                    if entry < transparency.count { alpha = Int(transparency[entry]) }
                case 0, 4:
                    gray = scaled(samples[0], depth: depth)
                    if header.colorType == 4 { alpha = scaled(samples[1], depth: depth) }
                default:
                    gray = luma(scaled(samples[0], depth: depth), scaled(samples[1], depth: depth), scaled(samples[2], depth: depth))
                    if header.colorType == 6 { alpha = scaled(samples[3], depth: depth) }
                }
                if let key, Array(samples[0..<header.channels]) == key { alpha = 0 }
                // Blend onto black: gray · alpha / 255, rounded.
                pixels[y * header.width + x] = UInt8((gray * alpha + 127) / 255)
            }
        }
        return GrayImage(width: header.width, height: header.height, pixels: pixels)
    }

    /// A sample of `depth` bits as 0…255: the high byte of 16 bits, or a low depth stretched
    /// (a 1-bit 1 is 255, a 4-bit 15 is 255).
    static func scaled(_ sample: Int, depth: Int) -> Int {
        switch depth {
        case 16: return sample >> 8
        case 8: return sample
        default: return sample * 255 / ((1 << depth) - 1)
        }
    }

    /// ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B, in Pillow's fixed point (16 fraction
    /// bits, rounded) so a picture converted by `Image.convert("L")` gives the same bytes.
    static func luma(_ r: Int, _ g: Int, _ b: Int) -> Int {
        (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
    }
}
