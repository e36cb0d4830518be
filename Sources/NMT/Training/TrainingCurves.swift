import Foundation
import TextIO

/// The curves of a training run read back from its JSON-lines log (`training-log.jsonl`), and
/// drawn as an SVG: loss against updates (training and validation) above, validation BLEU and
/// chrF against updates below, and the learning rate under them when the log has it (warm-up,
/// decay and any cool-down, where the other curves' bends usually come from).
public struct TrainingCurves: Equatable {
    public struct Point: Equatable {
        public var step: Int
        public var value: Double

        public init(step: Int, value: Double) {
            self.step = step
            self.value = value
        }
    }

    public var trainingLoss: [Point] = []
    public var validationLoss: [Point] = []
    public var bleu: [Point] = []
    public var chrf: [Point] = []
    public var learningRate: [Point] = []

    public init() {}

    /// Reads a training log; a line that is not a JSON object is an error naming the line.
    public init(log: String, source: String) throws {
        let records = try TrainingLog.records(in: Data(log.utf8), onBadLine: { number in
            throw TrainingCurvesError("\(source):\(number): not a training-log line")
        })
        for (number, _, object) in records {
            guard let event = object["event"]?.string else { throw TrainingCurvesError("\(source):\(number): not a training-log line") }
            guard let step = object["step"]?.integer else { continue }
            func add(_ key: String, to points: inout [Point]) {
                if let value = object[key]?.double, value.isFinite { points.append(Point(step: step, value: value)) }
            }
            switch event {
            case "train":
                add("loss", to: &trainingLoss)
                add("learning_rate", to: &learningRate)
            case "validation":
                add("loss", to: &validationLoss)
                add("bleu", to: &bleu)
                add("chrf", to: &chrf)
            default: continue
            }
        }
    }

    /// Two stacked panels, 720 × 520 pixels, and a shorter third for the learning rate.
    public func svg(title: String) -> String {
        let width = 720.0, panelHeight = 220.0, rateHeight = 100.0, left = 60.0, right = 120.0, top = 40.0, gap = 50.0
        let allSteps = (trainingLoss + validationLoss + bleu + chrf + learningRate).map(\.step)
        let maxStep = Double(max(allSteps.max() ?? 1, 1))
        var body = ""
        func panel(_ y0: Double, _ label: String, _ series: [(name: String, color: String, points: [Point])],
                   height panelHeight: Double = panelHeight) {
            let values = series.flatMap { $0.points.map(\.value) }
            let low = min(values.min() ?? 0, 0), high = max(values.max() ?? 1, low + 1e-9)
            let plotWidth = width - left - right
            func x(_ step: Int) -> Double { left + Double(step) / maxStep * plotWidth }
            func y(_ value: Double) -> Double { y0 + panelHeight - (value - low) / (high - low) * panelHeight }
            body += "  <rect x=\"\(left)\" y=\"\(y0)\" width=\"\(plotWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#999\"/>\n"
            body += "  <text x=\"\(left - 8)\" y=\"\(y0 + 4)\" text-anchor=\"end\">\(Self.number(high))</text>\n"
            body += "  <text x=\"\(left - 8)\" y=\"\(y0 + panelHeight + 4)\" text-anchor=\"end\">\(Self.number(low))</text>\n"
            body += "  <text x=\"\(left)\" y=\"\(y0 - 8)\">\(label)</text>\n"
            for (index, line) in series.enumerated() where !line.points.isEmpty {
                let coordinates = line.points.map { String(format: "%.1f,%.1f", x($0.step), y($0.value)) }.joined(separator: " ")
                body += "  <polyline class=\"\(line.name)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(coordinates)\"/>\n"
                for point in line.points where line.points.count <= 60 {
                    body += String(format: "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%@\"/>\n", x(point.step), y(point.value), line.color)
                }
                let ly = y0 + 16 + Double(index) * 18
                body += "  <text x=\"\(width - right + 12)\" y=\"\(ly)\" fill=\"\(line.color)\">\(line.name.replacingOccurrences(of: "-", with: " "))</text>\n"
            }
        }
        panel(top, "loss (label-smoothed cross-entropy)", [("training-loss", "#1f77b4", trainingLoss), ("validation-loss", "#d62728", validationLoss)])
        panel(top + panelHeight + gap, "validation BLEU and chrF", [("BLEU", "#2ca02c", bleu), ("chrF", "#9467bd", chrf)])
        var bottom = top + 2 * panelHeight + gap
        if !learningRate.isEmpty {
            panel(bottom + gap, "learning rate", [("learning-rate", "#ff7f0e", learningRate)], height: rateHeight)
            bottom += gap + rateHeight
        }
        body += "  <text x=\"\(left)\" y=\"\(bottom + 20)\">0</text>\n"
        body += "  <text x=\"\(width - right)\" y=\"\(bottom + 20)\" text-anchor=\"end\">\(Int(maxStep)) updates</text>\n"
        let escapedTitle = title.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(bottom + 40))" font-family="sans-serif" font-size="12">
              <text x="\(left)" y="18" font-size="14">\(escapedTitle)</text>
            \(body)</svg>

            """
    }

    private static func number(_ value: Double) -> String {
        // Learning rates are 1e-5…1e-3: fixed point would show them all as 0.00.
        if value != 0 && abs(value) < 0.01 { return String(format: "%.1e", value) }
        return String(format: abs(value) >= 100 ? "%.0f" : "%.2f", value)
    }
}

public struct TrainingCurvesError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
