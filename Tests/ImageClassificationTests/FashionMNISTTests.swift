import Foundation
import ImageClassification
import TestSupport
import XCTest

/// The real Fashion-MNIST files of Debian's dataset-fashion-mnist; the expected numbers were read
/// once with Python's gzip and numpy (`np.frombuffer(gzip.open(f).read(), np.uint8, offset=…)`).
final class FashionMNISTTests: XCTestCase {
    func installedDirectory() throws -> URL {
        let directory = FashionMNIST.defaultDirectory
        try XCTSkipUnless(FileManager.default.fileExists(atPath: directory.appendingPathComponent(FashionMNIST.Split.test.imagesFile).path),
                          "Fashion-MNIST is not installed (\(FashionMNIST.installCommand))")
        return directory
    }

    func testTestSplitMatchesNumPy() throws {
        let set = try FashionMNIST.load(.test, from: try installedDirectory())
        XCTAssertEqual(set.count, 10_000)
        XCTAssertEqual(set.rows, 28)
        XCTAssertEqual(set.columns, 28)
        XCTAssertEqual(set.images.count, 10_000 * 784)
        XCTAssertEqual(Array(set.labels.prefix(20)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0])
        XCTAssertEqual(Array(set.labels.suffix(5)), [9, 1, 8, 1, 5])
        XCTAssertEqual((0..<10).map { c in set.labels.filter { $0 == c }.count }, Array(repeating: 1000, count: 10))
        XCTAssertEqual(set.pixels(of: 0).reduce(0) { $0 + Int($1) }, 33456)
        XCTAssertEqual(set.pixels(of: 9999).reduce(0) { $0 + Int($1) }, 24390)
        XCTAssertEqual(Array(set.pixels(of: 0)[(14 * 28)..<(15 * 28)]),
                       [0, 0, 0, 0, 0, 0, 2, 4, 1, 0, 0, 0, 98, 136, 110, 109, 110, 162, 135, 144, 149, 159, 167, 144, 158, 169, 119, 0])
        XCTAssertEqual(set.images.reduce(0) { $0 + Int($1) }, 573_469_082)
    }

    func testTrainSplitMatchesNumPy() throws {
        let set = try FashionMNIST.load(.train, from: try installedDirectory())
        XCTAssertEqual(set.count, 60_000)
        XCTAssertEqual(Array(set.labels.prefix(20)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4])
        XCTAssertEqual(Array(set.labels.suffix(5)), [5, 1, 3, 0, 5])
        XCTAssertEqual(set.pixels(of: 0).reduce(0) { $0 + Int($1) }, 76247)
        XCTAssertEqual(set.pixels(of: 59_999).reduce(0) { $0 + Int($1) }, 16684)
        XCTAssertEqual(set.images.reduce(0) { $0 + Int($1) }, 3_431_114_169)
    }

    func testClassNamesInLabelOrder() {
        XCTAssertEqual(FashionMNIST.classNames, ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
        XCTAssertEqual(FashionMNIST.Split.test.imagesFile, "t10k-images-idx3-ubyte.gz")
        XCTAssertEqual(FashionMNIST.Split.train.labelsFile, "train-labels-idx1-ubyte.gz")
    }

    func testMissingDataSaysHowToInstallIt() throws {
        let empty = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try FashionMNIST.load(.test, from: empty)) { error in
            XCTAssertEqual("\(error)", "\(empty.path)/t10k-images-idx3-ubyte.gz: not found; install the data with `apt-get install dataset-fashion-mnist` or pass --data DIR")
        }
        let nowhere = empty.appendingPathComponent("nowhere")
        XCTAssertThrowsError(try FashionMNIST.load(.train, from: nowhere)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(nowhere.path)/train-images-idx3-ubyte.gz: not found; install"), "\(error)")
        }
    }

    /// Decompressed files (without .gz) are read too; labels beyond the ten classes are refused.
    func testUncompressedFilesAndLabelRange() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pixels = (0..<(3 * 784)).map { UInt8($0 % 251) }
        try Data(IDX.encode(dimensions: [3, 28, 28], values: pixels)).write(to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(IDX.encode(dimensions: [3], values: [4, 0, 9])).write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        let set = try FashionMNIST.load(.test, from: directory)
        XCTAssertEqual(set, ImageSet(images: pixels, labels: [4, 0, 9], rows: 28, columns: 28))

        try Data(IDX.encode(dimensions: [3], values: [4, 10, 9])).write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        XCTAssertThrowsError(try FashionMNIST.load(.test, from: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory.path)/t10k-labels-idx1-ubyte.gz: label 10 of image 1 is not a class (0–9)")
        }
        try Data(IDX.encode(dimensions: [2], values: [4, 1])).write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        XCTAssertThrowsError(try FashionMNIST.load(.test, from: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory.path)/t10k-labels-idx1-ubyte: 2 labels for the 3 images of t10k-images-idx3-ubyte")
        }
        try Data(IDX.encode(dimensions: [1, 14, 56], values: Array(pixels.prefix(784)))).write(to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Data(IDX.encode(dimensions: [1], values: [4])).write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        XCTAssertThrowsError(try FashionMNIST.load(.test, from: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory.path)/t10k-images-idx3-ubyte.gz: images of 14×56 pixels; Fashion-MNIST's are 28×28")
        }
    }
}
