import ArgumentParser
import Foundation
import ImageClassification

/// `nmt image classify`: the most probable classes of one picture.
struct ImageClassify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Print the most probable classes of a picture.",
        discussion: """
            The picture is a PNG file or, with --index, an image of Fashion-MNIST's test split \
            (whose true class is printed too). Fashion-MNIST shows light clothes on a black \
            background: a picture of dark on light needs --invert. A PNG is made gray (ITU-R \
            601 luma, transparent parts black) and resized to 28×28 by area averaging, without \
            keeping its aspect ratio. --format json prints {"image", "label", "predictions": \
            [{"class", "index", "probability"}]}.

              nmt image classify --index 0
              nmt image classify --top 3 shirt.png
              nmt image classify --invert --format json drawing.png
            """
    )

    @OptionGroup var picture: ImageInputOptions

    @Option(help: "How many classes to print, most probable first.")
    var top: Int = 3

    @Option(help: "text or json (one object).")
    var format: EvaluationFormat = .text

    @OptionGroup var modelOptions: ImageModelOptions
    @OptionGroup var dataOptions: ImageDataOptions

    func validate() throws {
        guard top >= 1 else { throw CommandError("--top must be at least 1, got \(top)") }
    }

    func run() throws {
        let model = try modelOptions.loadModel()
        let config = model.config
        let input = try picture.load(data: dataOptions, rows: config.imageRows, columns: config.imageColumns)
        let logits = model.logits(pixels: input.pixels, count: 1)
        let ranked = ClassProbabilities.top(top, logits: logits[...], classNames: config.classNames)
        let label = input.label.map { $0 < config.classNames.count ? config.classNames[$0] : String($0) }
        switch format {
        case .text:
            print(input.description + (label.map { ", labelled \($0)" } ?? ""))
            print(ClassProbabilities.text(ranked), terminator: "")
        case .json:
            struct Prediction: Encodable {
                var `class`: String
                var index: Int
                var probability: Double
            }
            struct Report: Encodable {
                var image: String
                var label: String?
                var predictions: [Prediction]

                func encode(to encoder: Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    try container.encode(image, forKey: .image)
                    // null rather than absent for a file, so every report has the same keys.
                    try container.encode(label, forKey: .label)
                    try container.encode(predictions, forKey: .predictions)
                }
                enum CodingKeys: String, CodingKey { case image, label, predictions }
            }
            let report = Report(image: input.description, label: label,
                                predictions: ranked.map { Prediction(class: $0.name, index: $0.index, probability: $0.probability) })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
    }
}
