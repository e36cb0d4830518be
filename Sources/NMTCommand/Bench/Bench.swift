import ArgumentParser
import Foundation

/// `nmt bench NAME`: speed measurements of the toolkit's hot paths. Each benchmark prints its
/// figures as a table, or with `--format json` one object a line:
/// `{"benchmark": …, "metric": …, "value": …, "unit": …}`.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the speed of tokenization, decoding, training, image classification and the int8 product.",
        subcommands: [BenchTokenize.self, BenchDecode.self, BenchTrain.self, BenchImage.self, BenchInt8.self]
    )
}

/// One measured number.
struct BenchmarkFigure: Codable {
    var benchmark: String
    var metric: String
    var value: Double
    var unit: String
}

enum BenchmarkFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Options every benchmark shares.
struct BenchmarkOptions: ParsableArguments {
    @Option(help: "Output format: text or json (one object a figure).")
    var format: BenchmarkFormat = .text

    @Option(help: "Timed repetitions; the median is reported.")
    var repeats: Int = 5

    func validate() throws {
        guard repeats >= 1 else { throw CommandError("--repeats must be at least 1") }
    }

    /// Prints the figures in the chosen format.
    func report(_ figures: [BenchmarkFigure]) {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for figure in figures {
                if let data = try? encoder.encode(figure), let line = String(data: data, encoding: .utf8) {
                    print(line)
                }
            }
        case .text:
            let width = figures.map { "\($0.benchmark) \($0.metric)".count }.max() ?? 0
            for figure in figures {
                let label = "\(figure.benchmark) \(figure.metric)"
                let padded = label + String(repeating: " ", count: width - label.count)
                print("\(padded)  \(String(format: "%.4g", figure.value)) \(figure.unit)")
            }
        }
    }
}

/// Runs `body` `repeats` times and returns the median wall-clock seconds.
func medianSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    times.sort()
    return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
}
