import ArgumentParser
import Foundation
import NMT
import TextIO

/// `nmt plot`: a training run's curves, from its JSON-lines log, as an SVG.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw the training curves of a run (its training-log.jsonl) as an SVG.",
        discussion: """
              nmt plot runs/tatoeba/training-log.jsonl --output docs/tatoeba-curves.svg
            """
    )

    @Argument(help: ArgumentHelp("The training log (training-log.jsonl in a training output).", valueName: "log"))
    var log: String

    @Option(help: ArgumentHelp("The SVG file to write.", valueName: "file"))
    var output: String

    @Option(help: "The title above the plot (default: the log's path).")
    var title: String?

    @OptionGroup var replacing: OverwriteOption

    func run() throws {
        try OutputLocation.checkFile(output, option: "--output", overwrite: replacing.overwrite)
        let text: String
        do { text = String(decoding: try TextLines.read(URL(fileURLWithPath: log)), as: UTF8.self) } catch let error as FileError {
            throw CommandError(error.description)
        }
        let curves: TrainingCurves
        do { curves = try TrainingCurves(log: text, source: log) } catch let error as TrainingCurvesError {
            throw CommandError(error.description)
        }
        guard !curves.trainingLoss.isEmpty || !curves.validationLoss.isEmpty else {
            throw CommandError("\(log): no training or validation lines to plot")
        }
        try ModelDirectory.writeAtomically(Data(curves.svg(title: title ?? log).utf8), to: URL(fileURLWithPath: output))
    }
}
