import Foundation

/// A class and the probability the model gives it.
public struct ClassProbability: Equatable, Sendable, Encodable {
    public var index: Int
    public var name: String
    public var probability: Double

    public init(index: Int, name: String, probability: Double) {
        self.index = index
        self.name = name
        self.probability = probability
    }
}

public enum ClassProbabilities {
    /// The softmax of one image's logits, in Double so that even a very sure model's small
    /// probabilities keep their digits: exp(l − max) / Σ exp(l − max).
    public static func softmax(_ logits: ArraySlice<Float>) -> [Double] {
        guard let largest = logits.max() else { return [] }
        let exponentials = logits.map { exp(Double($0) - Double(largest)) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }

    /// The `count` most probable classes, most probable first (the lower index first on a tie).
    public static func top(_ count: Int, logits: ArraySlice<Float>, classNames: [String]) -> [ClassProbability] {
        precondition(logits.count == classNames.count, "ClassProbabilities.top: \(logits.count) logits for \(classNames.count) classes")
        let probabilities = softmax(logits)
        let ranked = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        return ranked.prefix(count).map { ClassProbability(index: $0, name: classNames[$0], probability: probabilities[$0]) }
    }

    /// A line per class: rank, name, probability in percent and a bar of its share.
    ///
    ///     1. Ankle boot    97.31%  ███████████████████▌
    public static func text(_ ranked: [ClassProbability]) -> String {
        let nameWidth = ranked.map(\.name.count).max() ?? 0
        let rankWidth = String(ranked.count).count
        return ranked.enumerated().map { rank, entry in
            let rankLabel = String(repeating: " ", count: rankWidth - String(rank + 1).count) + "\(rank + 1)."
            let name = entry.name + String(repeating: " ", count: nameWidth - entry.name.count)
            let percent = String(format: "%6.2f%%", 100 * entry.probability)
            return "\(rankLabel) \(name)  \(percent)  \(bar(entry.probability))".replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }

    /// A bar 20 characters long at probability 1, in eighths of a character.
    static func bar(_ probability: Double, width: Int = 20) -> String {
        let eighths = Int((min(max(probability, 0), 1) * Double(width * 8)).rounded())
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
        return String(repeating: "█", count: eighths / 8) + partial
    }
}
