import Foundation

/// Reads a run's `training-log.jsonl` (one JSON object a line) for tests of training.
public enum TrainingLog {
    /// step → the value of `key` in each training-progress line ("event": "train") of the log.
    public static func trainingValues(_ key: String, in url: URL) throws -> [Int: Double] {
        var values: [Int: Double] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            if object["event"] as? String == "train", let step = object["step"] as? Int, let value = object[key] as? Double {
                values[step] = value
            }
        }
        return values
    }
}
