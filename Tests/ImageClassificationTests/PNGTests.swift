import Foundation
import ImageClassification
import TestSupport
import XCTest

/// The PNG fixtures of Tests/Fixtures/images, written by Tests/Fixtures/scripts/make_png_fixtures.py
/// with its own encoder (every colour type, bit depths 1–16, all five filters, two IDAT chunks)
/// and the gray values computed there from the pixels before encoding.
final class PNGTests: XCTestCase {
    struct Expected: Decodable {
        var width: Int
        var height: Int
        var gray: [UInt8]
    }

    let images = Fixtures.url("images")

    func expected() throws -> [String: Expected] {
        try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: images.appendingPathComponent("expected.json")))
    }

    func testEveryColourTypeAndDepthDecodesToTheExpectedGray() throws {
        let expected = try expected()
        XCTAssertEqual(expected.count, 16)
        for (name, picture) in expected.sorted(by: { $0.key < $1.key }) {
            let image = try PNG.read(images.appendingPathComponent(name))
            XCTAssertEqual(image.width, picture.width, name)
            XCTAssertEqual(image.height, picture.height, name)
            let differing = zip(image.pixels, picture.gray).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(name): \(differing) of \(picture.gray.count) pixels differ")
        }
    }

    /// The first test image of Fashion-MNIST as a PNG decodes to the IDX file's bytes; its
    /// inverted 84×84 RGB copy, shrunk by area averaging and inverted back, too.
    func testFashionMNISTPictureMatchesTheIDXData() throws {
        let directory = FashionMNIST.defaultDirectory
        try XCTSkipUnless(FileManager.default.fileExists(atPath: directory.appendingPathComponent(FashionMNIST.Split.test.imagesFile).path))
        let first = Array(try FashionMNIST.load(.test, from: directory).pixels(of: 0))
        XCTAssertEqual(try PNG.read(images.appendingPathComponent("ankle-boot.png")).pixels, first)
        let big = try PNG.read(images.appendingPathComponent("ankle-boot-inverted-rgb84.png"))
        XCTAssertEqual(big.width, 84)
        XCTAssertEqual(big.resized(width: 28, height: 28).pixels.map { 255 - $0 }, first)
    }

    func testBrokenFilesAreOneLineErrors() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = [UInt8](try Data(contentsOf: images.appendingPathComponent("gray8.png")))
        // The first IDAT's data starts after the signature, IHDR (25 bytes) and tEXt chunk.
        let tEXtLength = Int(good[33]) << 24 | Int(good[34]) << 16 | Int(good[35]) << 8 | Int(good[36])
        let firstIDAT = 8 + 25 + 12 + tEXtLength
        XCTAssertEqual(String(decoding: good[firstIDAT + 4..<firstIDAT + 8], as: UTF8.self), "IDAT")
        var flippedData = good
        flippedData[firstIDAT + 10] ^= 0x40
        var badFilter = good
        // The zlib data of a filtered row stream can be rewritten only by re-encoding, so instead
        // the IHDR width shrinks: the data no longer fits the picture's size.
        badFilter[19] = 5
        badFilter.replaceSubrange(29..<33, with: crc(Array(badFilter[12..<29])))
        var widened = good
        widened[19] = 20
        widened.replaceSubrange(29..<33, with: crc(Array(widened[12..<29])))
        var sixteenBitPalette = good
        sixteenBitPalette[24] = 16
        sixteenBitPalette[25] = 3
        sixteenBitPalette.replaceSubrange(29..<33, with: crc(Array(sixteenBitPalette[12..<29])))
        let cases: [([UInt8], String)] = [
            ([], "not a PNG file (it does not start with the PNG signature)"),
            (Array("GIF89a........".utf8), "not a PNG file (it does not start with the PNG signature)"),
            (Array(good.prefix(45)), "truncated PNG: chunk tEXt of \(tEXtLength) bytes runs past the end of the file"),
            (Array(good.dropLast(12)), "truncated PNG: the file ends before its IEND chunk"),
            (flippedData, "corrupt PNG: the checksum of chunk IDAT does not match its data"),
            (badFilter, "corrupt PNG: more image data than 5×7 needs 42 bytes"),
            (widened, "corrupt PNG: 84 bytes of image data, 20×7 needs 147"),
            (handMade(width: 2, height: 1, colorType: 0, rows: [5, 1, 2]), "corrupt PNG: row 0 has filter type 5 (0–4 exist)"),
            (handMade(width: 2, height: 1, colorType: 3, rows: [0, 1, 5], palette: [0, 0, 0, 255, 255, 255]),
             "corrupt PNG: pixel (1, 0) uses palette entry 5 of 2"),
            (handMade(width: 2, height: 1, colorType: 3, rows: [0, 1, 0]), "corrupt PNG: a palette picture without a PLTE chunk"),
            (handMade(width: 2, height: 1, colorType: 0, rows: [UInt8](repeating: 0, count: 100_000)), "corrupt PNG: more image data than 2×1 needs 3 bytes"),
            (sixteenBitPalette, "corrupt PNG: bit depth 16 is not allowed with colour type 3"),
            ([UInt8](try Data(contentsOf: images.appendingPathComponent("interlaced.png"))),
             "interlaced (Adam7) PNG is not supported; save the picture without interlacing"),
        ]
        for (index, (bytes, problem)) in cases.enumerated() {
            let url = directory.appendingPathComponent("case\(index).png")
            try Data(bytes).write(to: url)
            XCTAssertThrowsError(try PNG.read(url), "case \(index)") { error in
                XCTAssertEqual("\(error)", "\(url.path): \(problem)")
            }
        }
        XCTAssertThrowsError(try PNG.read(directory)) { error in
            XCTAssertEqual("\(error)", "\(directory.path): Is a directory")
        }
    }

    /// The area average against a slow reference: both pictures blown up by whole factors to a
    /// common grid, where each new pixel is the plain mean of a block of equal old pixels.
    func testResizeAveragesTheCoveredArea() {
        var generator = SystemRandomNumberGenerator()
        for (width, height, newWidth, newHeight) in [(56, 56, 28, 28), (42, 30, 28, 28), (20, 12, 28, 28), (28, 28, 28, 28), (7, 5, 3, 2), (3, 9, 28, 28), (100, 1, 28, 28)] {
            let image = GrayImage(width: width, height: height, pixels: (0..<(width * height)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let resized = image.resized(width: newWidth, height: newHeight)
            let reference = blockMeanReference(image, width: newWidth, height: newHeight)
            XCTAssertEqual(resized.width, newWidth)
            XCTAssertEqual(resized.height, newHeight)
            let largest = zip(resized.pixels, reference).map { abs(Double($0) - $1) }.max() ?? 0
            // Rounding to a byte is off by at most one half.
            XCTAssertLessThanOrEqual(largest, 0.5 + 1e-9, "\(width)×\(height) → \(newWidth)×\(newHeight)")
        }
    }

    func blockMeanReference(_ image: GrayImage, width newWidth: Int, height newHeight: Int) -> [Double] {
        func lcm(_ a: Int, _ b: Int) -> Int { a / gcd(a, b) * b }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let gridWidth = lcm(image.width, newWidth), gridHeight = lcm(image.height, newHeight)
        var result: [Double] = []
        for y in 0..<newHeight {
            for x in 0..<newWidth {
                var sum = 0.0, count = 0
                for gy in (y * gridHeight / newHeight)..<((y + 1) * gridHeight / newHeight) {
                    for gx in (x * gridWidth / newWidth)..<((x + 1) * gridWidth / newWidth) {
                        sum += Double(image.pixels[(gy * image.height / gridHeight) * image.width + gx * image.width / gridWidth])
                        count += 1
                    }
                }
                result.append(sum / Double(count))
            }
        }
        return result
    }

    /// A PNG of 8-bit samples whose image data (`rows`: filter bytes and samples) is stored
    /// uncompressed in the zlib stream, so the tests can write any bytes they like there.
    func handMade(width: Int, height: Int, colorType: UInt8, rows: [UInt8], palette: [UInt8]? = nil) -> [UInt8] {
        func bigEndian(_ value: Int) -> [UInt8] { [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return bigEndian(data.count) + body + crc(body)
        }
        // zlib: header 78 01, stored deflate blocks of at most 65,535 bytes, then the Adler-32 of the data.
        var stream: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let end = min(start + 65_535, rows.count)
            let length = end - start
            stream += [end == rows.count ? 1 : 0, UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8(~length >> 8 & 0xff)]
            stream += rows[start..<end]
            start = end
        } while start < rows.count
        var (a, b): (UInt32, UInt32) = (1, 0)
        for byte in rows { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        stream += bigEndian(Int(b << 16 | a))
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        file += chunk("IHDR", bigEndian(width) + bigEndian(height) + [8, colorType, 0, 0, 0])
        if let palette { file += chunk("PLTE", palette) }
        return file + chunk("IDAT", stream) + chunk("IEND", [])
    }

    func testHandMadePNGReads() throws {
        // Filter 1 (Sub) on a gray row: 10, 10 + 20.
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("hand.png")
        try Data(handMade(width: 2, height: 2, colorType: 0, rows: [1, 10, 20, 2, 5, 5])).write(to: url)
        XCTAssertEqual(try PNG.read(url), GrayImage(width: 2, height: 2, pixels: [10, 30, 15, 35]))
    }

    /// CRC-32 of PNG (the polynomial 0xEDB88320, reflected), bit by bit, for rewriting a chunk.
    func crc(_ bytes: [UInt8]) -> [UInt8] {
        var c: UInt32 = 0xffff_ffff
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        c ^= 0xffff_ffff
        return [UInt8(c >> 24), UInt8(c >> 16 & 0xff), UInt8(c >> 8 & 0xff), UInt8(c & 0xff)]
    }
}
