import Foundation
import ImageClassification
import XCTest

final class IDXTests: XCTestCase {
    let file = URL(fileURLWithPath: "/data/x-idx3-ubyte")

    func testHeaderIsBigEndian() {
        let bytes = IDX.encode(dimensions: [2, 3, 258], values: [UInt8](repeating: 7, count: 2 * 3 * 258))
        XCTAssertEqual(Array(bytes.prefix(16)), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 1, 2])
    }

    func testRoundTrip() throws {
        let values = (0..<60).map { UInt8($0 * 4) }
        let parsed = try IDX.parse(IDX.encode(dimensions: [5, 3, 4], values: values), magic: IDX.imagesMagic, what: "images", file: file)
        XCTAssertEqual(parsed.dimensions, [5, 3, 4])
        XCTAssertEqual(parsed.values, values)
    }

    func testErrorsNameTheFileAndTheProblem() {
        let images = IDX.encode(dimensions: [2, 2, 2], values: [1, 2, 3, 4, 5, 6, 7, 8])
        let labels = IDX.encode(dimensions: [2], values: [1, 2])
        let cases: [([UInt8], String)] = [
            ([0, 0], "/data/x-idx3-ubyte: 2 bytes is too short for an IDX file of images"),
            (labels, "/data/x-idx3-ubyte: not an IDX file of images: magic number 0x00000801, expected 0x00000803"),
            (Array("PK\u{3}\u{4}....".utf8), "/data/x-idx3-ubyte: not an IDX file of images: magic number 0x504b0304, expected 0x00000803"),
            (Array(images.prefix(10)), "/data/x-idx3-ubyte: truncated IDX header: 10 bytes, the header of images takes 16"),
            (Array(images.dropLast()), "/data/x-idx3-ubyte: truncated: the header gives 2×2×2 images = 8 bytes of data, the file has 7"),
            (images + [0], "/data/x-idx3-ubyte: too long: the header gives 2×2×2 images = 8 bytes of data, the file has 9"),
        ]
        for (bytes, message) in cases {
            XCTAssertThrowsError(try IDX.parse(bytes, magic: IDX.imagesMagic, what: "images", file: file)) { error in
                XCTAssertEqual("\(error)", message)
            }
        }
    }
}
