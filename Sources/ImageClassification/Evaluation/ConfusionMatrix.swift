import Foundation

/// How often each true class was predicted as each class: row = true class, column = predicted.
/// The diagonal holds the correct predictions.
public struct ConfusionMatrix: Equatable, Sendable {
    public let classNames: [String]
    /// (classes, classes).
    public private(set) var counts: [[Int]]

    public init(classNames: [String]) {
        precondition(!classNames.isEmpty, "ConfusionMatrix: no classes")
        self.classNames = classNames
        counts = Array(repeating: Array(repeating: 0, count: classNames.count), count: classNames.count)
    }

    public var classCount: Int { classNames.count }

    public mutating func add(label: Int, predicted: Int) {
        precondition(counts.indices.contains(label) && counts.indices.contains(predicted),
                     "ConfusionMatrix: class \(label) predicted as \(predicted), of \(classCount)")
        counts[label][predicted] += 1
    }

    /// Adds a batch: `logits` is (labels.count, classes); the prediction is each row's largest
    /// logit (the first on a tie).
    public mutating func add(labels: ArraySlice<UInt8>, logits: [Float]) {
        precondition(logits.count == labels.count * classCount, "ConfusionMatrix: \(logits.count) logits for \(labels.count) labels")
        for (row, label) in labels.enumerated() {
            add(label: Int(label), predicted: Self.argmax(logits[row * classCount..<(row + 1) * classCount]))
        }
    }

    static func argmax(_ values: ArraySlice<Float>) -> Int {
        var best = values.startIndex
        for i in values.indices where values[i] > values[best] { best = i }
        return best - values.startIndex
    }

    public var total: Int { counts.joined().reduce(0, +) }
    public var correct: Int { counts.indices.reduce(0) { $0 + counts[$1][$1] } }
    /// Correct over all; 0 when empty.
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    /// For each class, the share of its examples predicted right (its recall); nil for a class
    /// with no examples.
    public var classAccuracy: [Double?] {
        counts.indices.map { c in
            let examples = counts[c].reduce(0, +)
            return examples == 0 ? nil : Double(counts[c][c]) / Double(examples)
        }
    }

    // MARK: rendering

    /// The matrix as a table: a row per true class with its name, a column per predicted class
    /// headed by its index (the names would make it too wide), each class's accuracy at the
    /// end, and the totals under it.
    public func text() -> String {
        let nameWidth = classNames.map(\.count).max() ?? 0
        let indexWidth = String(classCount - 1).count
        let cellWidth = max(String(counts.joined().max() ?? 0).count, indexWidth) + 1
        let label = { (c: Int) in Self.padded(String(c), indexWidth, right: true) + " " + Self.padded(self.classNames[c], nameWidth) }
        var lines = ["rows: true class, columns: predicted class"]
        lines.append(Self.padded("", indexWidth + 1 + nameWidth)
            + counts.indices.map { Self.padded(String($0), cellWidth, right: true) }.joined() + "  accuracy")
        let perClass = classAccuracy
        for (c, row) in counts.enumerated() {
            let cells = row.map { Self.padded(String($0), cellWidth, right: true) }.joined()
            let accuracy = perClass[c].map { Self.percent($0) } ?? "–"
            lines.append(label(c) + cells + "  " + Self.padded(accuracy, "accuracy".count, right: true))
        }
        lines.append("")
        lines.append("accuracy \(Self.percent(accuracy)) (\(correct) of \(total))")
        return lines.map { $0.replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression) }.joined(separator: "\n") + "\n"
    }

    /// One line of JSON: `{"accuracy", "correct", "count", "classes", "class_accuracy",
    /// "confusion_matrix"}`, accuracies as fractions (null for a class without examples) and the
    /// matrix with rows = true classes.
    public func json() -> String {
        struct Report: Encodable {
            var accuracy: Double
            var correct: Int
            var count: Int
            var classes: [String]
            var class_accuracy: [Double?]
            var confusion_matrix: [[Int]]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let report = Report(accuracy: accuracy, correct: correct, count: total, classes: classNames,
                            class_accuracy: classAccuracy, confusion_matrix: counts)
        // Encoding plain numbers, strings and arrays cannot fail.
        return String(decoding: try! encoder.encode(report), as: UTF8.self) + "\n"
    }

    /// 0.9213 → "92.13%".
    static func percent(_ fraction: Double) -> String { String(format: "%.2f%%", 100 * fraction) }

    static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
