import Foundation
import ImageClassification
import TestSupport
import XCTest

/// gzip files: the real labels file of Fashion-MNIST's test split, and broken copies of it.
final class InflateTests: XCTestCase {
    var directory: URL!
    var labelsFile: URL!

    override func setUpWithError() throws {
        labelsFile = FashionMNIST.defaultDirectory.appendingPathComponent(FashionMNIST.Split.test.labelsFile)
        try XCTSkipUnless(FileManager.default.fileExists(atPath: labelsFile.path), "Fashion-MNIST is not installed")
        directory = try Fixtures.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func testDecompressesTheLabels() throws {
        let bytes = try Inflate.gunzip(contentsOf: labelsFile)
        XCTAssertEqual(bytes.count, 8 + 10_000)
        XCTAssertEqual(Array(bytes.prefix(12)), [0, 0, 8, 1, 0, 0, 0x27, 0x10, 9, 2, 1, 1])
        // The same bytes when the whole file is handed over at once.
        let compressed = [UInt8](try Data(contentsOf: labelsFile))
        XCTAssertEqual(try Inflate.decompress(compressed, wrapper: .gzip, file: labelsFile), bytes)
    }

    /// Concatenated members read as one file, as gunzip reads them.
    func testConcatenatedMembers() throws {
        let compressed = [UInt8](try Data(contentsOf: labelsFile))
        let twice = try write(compressed + compressed, "twice.gz")
        let single = try Inflate.gunzip(contentsOf: labelsFile)
        XCTAssertEqual(try Inflate.gunzip(contentsOf: twice), single + single)
    }

    func testBrokenFilesAreOneLineErrorsNamingTheFile() throws {
        let compressed = [UInt8](try Data(contentsOf: labelsFile))
        var flipped = compressed
        flipped[compressed.count / 2] ^= 0xff
        var badTrailer = compressed
        badTrailer[compressed.count - 6] ^= 0x01  // the CRC-32 of the uncompressed data
        let cases: [([UInt8], String, String)] = [
            ([], "empty.gz", "the file is empty, not gzip data"),
            (Array("just text\n".utf8), "text.gz", "corrupt gzip data (incorrect header check)"),
            (Array(compressed.prefix(compressed.count / 2)), "half.gz", "truncated gzip data: the compressed stream ends early"),
            (Array(compressed.dropLast()), "short.gz", "truncated gzip data: the compressed stream ends early"),
            (badTrailer, "crc.gz", "corrupt gzip data (incorrect data check)"),
            (compressed + Array("junk".utf8), "junk.gz", "corrupt gzip data (incorrect header check)"),
        ]
        for (bytes, name, problem) in cases {
            let url = try write(bytes, name)
            XCTAssertThrowsError(try Inflate.gunzip(contentsOf: url)) { error in
                XCTAssertEqual("\(error)", "\(url.path): \(problem)")
            }
        }
        // A flipped byte in the middle breaks the deflate data or its check; which one zlib notices
        // first depends on the byte, so only the start of the message is fixed.
        let url = try write(flipped, "flipped.gz")
        XCTAssertThrowsError(try Inflate.gunzip(contentsOf: url)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(url.path): corrupt gzip data ("), "\(error)")
        }
    }

    func testUnreadablePathsSayWhy() {
        XCTAssertThrowsError(try Inflate.gunzip(contentsOf: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory.path): Is a directory")
        }
        let missing = directory.appendingPathComponent("missing.gz")
        XCTAssertThrowsError(try Inflate.gunzip(contentsOf: missing)) { error in
            XCTAssertEqual("\(error)", "\(missing.path): No such file or directory")
        }
    }
}
