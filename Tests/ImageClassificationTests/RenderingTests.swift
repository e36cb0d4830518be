import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import ImageClassification
import XCTest

/// The confusion matrix, the ranked classes and the attention map, as the image commands print them.
final class ConfusionMatrixTests: XCTestCase {
    func testCountsAccuracyAndPerClassAccuracy() {
        var matrix = ConfusionMatrix(classNames: ["cat", "dog", "bird"])
        // Rows of logits; the prediction is the largest (the first on a tie).
        let logits: [Float] = [
            3, 1, 0,   // cat → cat
            0, 2, 1,   // cat → dog
            0, 5, 5,   // dog → dog (tie goes to the first)
            1, 1, 9,   // bird → bird
            9, 1, 1,   // bird → cat
        ]
        matrix.add(labels: [0, 0, 1, 2, 2], logits: logits)
        XCTAssertEqual(matrix.counts, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
        XCTAssertEqual(matrix.total, 5)
        XCTAssertEqual(matrix.correct, 3)
        XCTAssertEqual(matrix.accuracy, 0.6, accuracy: 1e-12)
        XCTAssertEqual(matrix.classAccuracy, [0.5, 1.0, 0.5])
        XCTAssertEqual(ConfusionMatrix(classNames: ["a", "b"]).classAccuracy, [nil, nil])
    }

    func testText() {
        var matrix = ConfusionMatrix(classNames: ["cat", "dog", "bird"])
        for (label, predicted) in [(0, 0), (0, 0), (0, 1), (1, 1), (2, 0)] { matrix.add(label: label, predicted: predicted) }
        XCTAssertEqual(matrix.text(), """
            rows: true class, columns: predicted class
                   0 1 2  accuracy
            0 cat  2 1 0    66.67%
            1 dog  0 1 0   100.00%
            2 bird 1 0 0     0.00%

            accuracy 60.00% (3 of 5)

            """)
    }

    func testJSON() throws {
        var matrix = ConfusionMatrix(classNames: ["T-shirt/top", "Trouser"])
        matrix.add(label: 0, predicted: 0)
        matrix.add(label: 0, predicted: 1)
        let json = matrix.json()
        XCTAssertFalse(json.dropLast().contains("\n"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["accuracy"] as? Double, 0.5)
        XCTAssertEqual(object["correct"] as? Int, 1)
        XCTAssertEqual(object["count"] as? Int, 2)
        XCTAssertEqual(object["classes"] as? [String], ["T-shirt/top", "Trouser"])
        XCTAssertEqual(object["confusion_matrix"] as? [[Int]], [[1, 1], [0, 0]])
        let perClass = try XCTUnwrap(object["class_accuracy"] as? [Any])
        XCTAssertEqual(perClass[0] as? Double, 0.5)
        XCTAssertTrue(perClass[1] is NSNull)
    }
}

final class ClassProbabilitiesTests: XCTestCase {
    func testSoftmaxMatchesNumPy() {
        // numpy: np.exp(x) / np.exp(x).sum() for x = [1, 2, 3].
        let probabilities = ClassProbabilities.softmax([1, 2, 3])
        for (value, expected) in zip(probabilities, [0.09003057317038046, 0.24472847105479764, 0.6652409557748219]) {
            XCTAssertEqual(value, expected, accuracy: 1e-15)
        }
        // Large logits neither overflow nor lose the small class entirely.
        let sure = ClassProbabilities.softmax([1000, 0, 990])
        XCTAssertEqual(sure[0], 1 / (1 + exp(-1000) + exp(-10)), accuracy: 1e-15)
        XCTAssertEqual(sure[2], exp(-10) / (1 + exp(-1000) + exp(-10)), accuracy: 1e-18)
    }

    func testTopIsRankedAndBreaksTiesByIndex() {
        let top = ClassProbabilities.top(3, logits: [0, 2, 2, -1], classNames: ["a", "b", "c", "d"])
        XCTAssertEqual(top.map(\.index), [1, 2, 0])
        XCTAssertEqual(top.map(\.name), ["b", "c", "a"])
        XCTAssertEqual(top[0].probability, exp(2) / (1 + 2 * exp(2) + exp(-1)), accuracy: 1e-12)
        XCTAssertEqual(ClassProbabilities.top(10, logits: [1, 1], classNames: ["x", "y"]).count, 2)
    }

    func testText() {
        let ranked = [ClassProbability(index: 9, name: "Ankle boot", probability: 0.975),
                      ClassProbability(index: 7, name: "Sneaker", probability: 0.025)]
        XCTAssertEqual(ClassProbabilities.text(ranked), """
            1. Ankle boot   97.50%  ███████████████████▌
            2. Sneaker       2.50%  ▌

            """)
    }
}

final class AttentionMapTests: XCTestCase {
    /// A 2 × 2 feature map: 4 positions, each row a distribution.
    let map = AttentionMap(weights: [
        0.70, 0.10, 0.10, 0.10,
        0.25, 0.25, 0.25, 0.25,
        0.05, 0.05, 0.10, 0.80,
        0.40, 0.30, 0.20, 0.10,
    ])

    func testShapeLabelsAndSummaries() {
        XCTAssertEqual(map.side, 2)
        XCTAssertEqual(map.positions, 4)
        XCTAssertEqual((0..<4).map(map.label), ["(0,0)", "(0,1)", "(1,0)", "(1,1)"])
        XCTAssertEqual(map.rowMaxima, [0, 0, 3, 0])
        let received = map.received
        for (value, expected) in zip(received, [0.35, 0.175, 0.1625, 0.3125] as [Float]) { XCTAssertEqual(value, expected, accuracy: 1e-6) }
        XCTAssertEqual(received.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(AttentionMap.strongest(2, of: map.received), [0, 3])
        XCTAssertEqual(AttentionMap(weights: [Float](repeating: 1 / 49, count: 49 * 49)).side, 7)
    }

    func testTable() {
        XCTAssertEqual(map.table(), """
                  (0,0)  (0,1)  (1,0)  (1,1)
            (0,0)  0.70*  0.10   0.10   0.10
            (0,1)  0.25*  0.25   0.25   0.25
            (1,0)  0.05   0.05   0.10   0.80*
            (1,1)  0.40*  0.30   0.20   0.10

            """)
        // Narrow: one grid row's columns per block.
        let blocks = map.table(precision: 1, maxWidth: 20).components(separatedBy: "\n\n")
        XCTAssertEqual(blocks.count, 2)
        XCTAssertEqual(blocks[1].components(separatedBy: "\n")[0], "      (1,0)  (1,1)")
        XCTAssertEqual(blocks[1].components(separatedBy: "\n")[3], "(1,0)   0.1    0.8*")
    }

    func testGridBesideTheImage() {
        // A 4 × 4 image: dark left half, white right half.
        let pixels: [UInt8] = [0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255]
        XCTAssertEqual(map.grid(Array(map.row(2)), image: pixels, rows: 4, columns: 4, query: 2, marked: [3]), """
                           0     1
            +--+--+
            |  |@@|   0 0.05  0.05
            |  |@@|
            +--+--+
            |  |@@|   1[0.10] 0.80*
            |  |@@|
            +--+--+

            """)
    }

    func testCSVAndJSON() throws {
        let csv = map.csv(precision: 2).components(separatedBy: "\n")
        XCTAssertEqual(csv[0], "query,attended,query_position,attended_position,weight")
        XCTAssertEqual(csv[12], "2,3,\"(1,0)\",\"(1,1)\",0.80")
        XCTAssertEqual(csv.count, 1 + 16 + 1)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data("{\(map.jsonMembers())}".utf8)) as? [String: Any])
        XCTAssertEqual(object["side"] as? Int, 2)
        XCTAssertEqual(object["positions"] as? [String], ["(0,0)", "(0,1)", "(1,0)", "(1,1)"])
        let weights = try XCTUnwrap(object["weights"] as? [[Double]])
        XCTAssertEqual(weights.joined().map { Float($0) }, map.weights)
        XCTAssertEqual(try XCTUnwrap(object["received"] as? [Double]).map { Float($0) }, map.received)
    }

    func testSVG() {
        let pixels = [UInt8](repeating: 128, count: 16)
        let svg = AttentionMapSVG.render(map, image: pixels, rows: 4, columns: 4, values: Array(map.row(2)), query: 2,
                                         title: "test <image> 0", overlayCaption: "query (1,0)")
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        XCTAssertTrue(svg.contains("test &lt;image&gt; 0"))
        XCTAssertEqual(svg.components(separatedBy: "<rect class=\"cell\"").count - 1, 16)
        XCTAssertEqual(svg.components(separatedBy: "<rect class=\"overlay\"").count - 1, 4)
        XCTAssertEqual(svg.components(separatedBy: "<rect class=\"query\"").count - 1, 1)
        XCTAssertEqual(svg.components(separatedBy: "fill=\"#808080\"").count - 1, 16)
        // The scale runs from the smallest weight (white) to the largest (deep blue); the
        // overlay from clear to the most opaque likewise.
        XCTAssertTrue(svg.contains("fill=\"#08306b\"><title>(1,0) → (1,1): 0.8000</title>"))
        XCTAssertTrue(svg.contains("fill=\"#ffffff\"><title>(1,0) → (0,0): 0.0500</title>"))
        XCTAssertTrue(svg.contains("white = 0.050, deepest blue = 0.800"))
        XCTAssertEqual(svg.components(separatedBy: "fill-opacity=\"0.600\"").count - 1, 1)
        XCTAssertEqual(svg.components(separatedBy: "fill-opacity=\"0.000\"").count - 1, 2)
        // Well-formed XML.
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    }
}
