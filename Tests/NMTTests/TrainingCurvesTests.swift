import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NMT
import XCTest

final class TrainingCurvesTests: XCTestCase {
    let log = """
        {"elapsed_seconds":10,"epoch":1,"event":"train","loss":8.5,"step":100}
        {"elapsed_seconds":20,"epoch":1,"event":"train","loss":7.25,"step":200}
        {"event":"checkpoint","path":"x","step":200}
        {"best":true,"bleu":12.5,"chrf":30,"epoch":1,"event":"validation","loss":6.5,"step":200}
        {"elapsed_seconds":30,"epoch":2,"event":"train","loss":6,"step":300}

        """

    func testReadsEachSeries() throws {
        let curves = try TrainingCurves(log: log, source: "log")
        XCTAssertEqual(curves.trainingLoss.map(\.step), [100, 200, 300])
        XCTAssertEqual(curves.trainingLoss.map(\.value), [8.5, 7.25, 6])
        XCTAssertEqual(curves.validationLoss, [.init(step: 200, value: 6.5)])
        XCTAssertEqual(curves.bleu, [.init(step: 200, value: 12.5)])
        XCTAssertEqual(curves.chrf, [.init(step: 200, value: 30)])
    }

    func testSVGIsWellFormedWithOnePolylineASeries() throws {
        let svg = try TrainingCurves(log: log, source: "log").svg(title: "a <run> & more")
        final class Counter: NSObject, XMLParserDelegate {
            var polylines: [String] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == "polyline" { polylines.append(attributes["class"] ?? "") }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8)), counter = Counter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "\(String(describing: parser.parserError))")
        XCTAssertEqual(counter.polylines, ["training-loss", "validation-loss", "BLEU", "chrF"])
    }

    func testALineThatIsNotJSONIsNamed() {
        XCTAssertThrowsError(try TrainingCurves(log: "{\"event\":\"train\",\"step\":1,\"loss\":2}\nnot json\n", source: "run/log")) {
            XCTAssertEqual("\($0)", "run/log:2: not a training-log line")
        }
    }
}
