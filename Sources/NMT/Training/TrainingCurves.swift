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

    /// Two stacked panels, 720 × 520 pixels, and a shorter third for the learning rate. Each axis
    /// is marked at round values (steps of 1, 2 or 5 × a power of ten) with faint grid lines; the
    /// loss axis spans the losses only (from 0 it would squash a run's last, most telling part
    /// into a few pixels), the scores and the rate start at 0.
    public func svg(title: String) -> String {
        let width = 720.0, panelHeight = 220.0, rateHeight = 100.0, left = 60.0, right = 120.0, top = 40.0, gap = 50.0
        let allSteps = (trainingLoss + validationLoss + bleu + chrf + learningRate).map(\.step)
        let lastStep = max(allSteps.max() ?? 1, 1)
        // Whole updates only: a run of 3 is marked 0, 1, 2, 3, not every 0.5.
        let stepAxis = Axis(low: 0, high: Double(lastStep), marks: min(6, lastStep))
        let plotWidth = width - left - right
        func x(_ step: Double) -> Double { left + (step - stepAxis.low) / (stepAxis.high - stepAxis.low) * plotWidth }
        var body = ""
        func panel(_ y0: Double, _ label: String, _ series: [(name: String, color: String, points: [Point])],
                   height panelHeight: Double = panelHeight, fromZero: Bool = true) {
            let values = series.flatMap { $0.points.map(\.value) }
            let axis = Axis(low: fromZero ? min(values.min() ?? 0, 0) : values.min() ?? 0, high: values.max() ?? 1,
                            marks: panelHeight > 150 ? 5 : 3)
            func y(_ value: Double) -> Double { y0 + panelHeight - (value - axis.low) / (axis.high - axis.low) * panelHeight }
            for mark in axis.values {
                body += String(format: "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", left, y(mark), left + plotWidth, y(mark))
                body += String(format: "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 8, y(mark) + 4, axis.label(mark))
            }
            for mark in stepAxis.values {
                body += String(format: "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", x(mark), y0, x(mark), y0 + panelHeight)
            }
            body += "  <rect x=\"\(left)\" y=\"\(y0)\" width=\"\(plotWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#999\"/>\n"
            body += "  <text x=\"\(left)\" y=\"\(y0 - 8)\">\(label)</text>\n"
            for (index, line) in series.enumerated() where !line.points.isEmpty {
                let coordinates = line.points.map { String(format: "%.1f,%.1f", x(Double($0.step)), y($0.value)) }.joined(separator: " ")
                body += "  <polyline class=\"\(line.name)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(coordinates)\"/>\n"
                for point in line.points where line.points.count <= 60 {
                    body += String(format: "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%@\"/>\n", x(Double(point.step)), y(point.value), line.color)
                }
                let ly = y0 + 16 + Double(index) * 18
                body += "  <text x=\"\(width - right + 12)\" y=\"\(ly)\" fill=\"\(line.color)\">\(line.name.replacingOccurrences(of: "-", with: " "))</text>\n"
            }
        }
        panel(top, "loss (label-smoothed cross-entropy)", [("training-loss", "#1f77b4", trainingLoss), ("validation-loss", "#d62728", validationLoss)],
              fromZero: false)
        panel(top + panelHeight + gap, "validation BLEU and chrF", [("BLEU", "#2ca02c", bleu), ("chrF", "#9467bd", chrf)])
        var bottom = top + 2 * panelHeight + gap
        if !learningRate.isEmpty {
            panel(bottom + gap, "learning rate", [("learning-rate", "#ff7f0e", learningRate)], height: rateHeight)
            bottom += gap + rateHeight
        }
        for mark in stepAxis.values {
            body += String(format: "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", x(mark), bottom + 20, stepAxis.label(mark))
        }
        body += "  <text x=\"\(width - right + 12)\" y=\"\(bottom + 20)\">updates</text>\n"
        let escapedTitle = title.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(bottom + 40))" font-family="sans-serif" font-size="12">
              <text x="\(left)" y="18" font-size="14">\(escapedTitle)</text>
            \(body)</svg>

            """
    }

    /// A plot axis over [low, high] widened to round values, marked every `step`: 1, 2 or 5 times
    /// a power of ten, chosen so that about `marks` intervals cover the data.
    struct Axis {
        let low: Double, high: Double, step: Double

        init(low: Double, high: Double, marks: Int) {
            let span = high > low ? high - low : max(abs(high), 1) * 0.1
            let rough = span / Double(marks)
            let power = pow(10, (log10(rough)).rounded(.down))
            step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough * 0.999 } ?? 10 * power
            let low = (low / step).rounded(.down) * step
            var high = (high / step).rounded(.up) * step
            if high <= low { high = low + step }
            (self.low, self.high) = (low, high)
        }

        /// The marked values, low to high.
        var values: [Double] {
            let count = Int(((high - low) / step).rounded())
            return (0...count).map { low + Double($0) * step }
        }

        /// A mark as text, with the decimals its step needs (scientific below 0.01: rates).
        func label(_ value: Double) -> String {
            if abs(value) < step / 2 { return "0" }
            if step < 0.01 { return String(format: "%.1e", value) }
            let decimals = max(0, Int((-log10(step)).rounded(.up)))
            return String(format: "%.\(decimals)f", value)
        }
    }
}

public struct TrainingCurvesError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
