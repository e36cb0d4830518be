import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NMT
import XCTest

final class TrainingCurvesTests: XCTestCase {
    let log = """
        {"elapsed_seconds":10,"epoch":1,"event":"train","learning_rate":0.0005,"loss":8.5,"step":100}
        {"elapsed_seconds":20,"epoch":1,"event":"train","learning_rate":0.00035,"loss":7.25,"step":200}
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
        XCTAssertEqual(curves.learningRate, [.init(step: 100, value: 0.0005), .init(step: 200, value: 0.00035)])
    }

    func testSVGIsWellFormedWithOnePolylineASeries() throws {
        func polylines(_ svg: String) -> [String] {
            let parser = XMLParser(data: Data(svg.utf8)), counter = Counter()
            parser.delegate = counter
            XCTAssertTrue(parser.parse(), "\(String(describing: parser.parserError))")
            return counter.polylines
        }
        final class Counter: NSObject, XMLParserDelegate {
            var polylines: [String] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == "polyline" { polylines.append(attributes["class"] ?? "") }
            }
        }
        let svg = try TrainingCurves(log: log, source: "log").svg(title: "a <run> & more")
        XCTAssertEqual(polylines(svg), ["training-loss", "validation-loss", "BLEU", "chrF", "learning-rate"])
        XCTAssertTrue(svg.contains(">4.0e-04<"), "the rate axis reads in scientific notation")
        // A log without rates (written before they were logged) has no rate panel.
        let withoutRates = log.replacing(#/"learning_rate":[0-9.]+,/#, with: "")
        XCTAssertEqual(polylines(try TrainingCurves(log: withoutRates, source: "log").svg(title: "old")),
                       ["training-loss", "validation-loss", "BLEU", "chrF"])
    }

    /// Issue 20, item 9: the plot read only its axes' ends, and the loss axis began at 0, which
    /// squashed the curves into the panel's top. Now each axis is marked at round values, and the
    /// loss axis spans the losses (6…8.5 here) while the scores' axis starts at 0.
    func testAxesAreMarkedAtRoundValuesAndTheLossAxisSpansTheLosses() throws {
        let svg = try TrainingCurves(log: log, source: "log").svg(title: "run")
        func labels(anchor: String) -> [String] {
            svg.split(separator: "\n").filter { $0.contains("text-anchor=\"\(anchor)\"") }.compactMap { line in
                line.firstMatch(of: #/>([^<]*)</text>/#).map { String($0.output.1) }
            }
        }
        let vertical = labels(anchor: "end")
        // Loss 6 to 8.5 every 0.5; BLEU and chrF 0 to 30 every 10; the rate panel last.
        XCTAssertEqual(Array(vertical.prefix(6)), ["6.0", "6.5", "7.0", "7.5", "8.0", "8.5"])
        XCTAssertEqual(Array(vertical.dropFirst(6).prefix(4)), ["0", "10", "20", "30"])
        XCTAssertEqual(labels(anchor: "middle"), ["0", "50", "100", "150", "200", "250", "300"], "the updates axis")
        // The lowest loss sits on the panel's bottom edge (y = top 40 + height 220), not 6/8.5 of the way up.
        let points = try XCTUnwrap(svg.firstMatch(of: #/class="training-loss"[^>]*points="([^"]*)"/#)?.output.1)
        XCTAssertEqual(points.split(separator: " ").last, "600.0,260.0")
    }

    func testALineThatIsNotJSONIsNamed() {
        XCTAssertThrowsError(try TrainingCurves(log: "{\"event\":\"train\",\"step\":1,\"loss\":2}\nnot json\n", source: "run/log")) {
            XCTAssertEqual("\($0)", "run/log:2: not a training-log line")
        }
    }
}
