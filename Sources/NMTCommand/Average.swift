import ArgumentParser
import Foundation
import NMT

/// `nmt average`: the element-wise mean of several models or checkpoints of one architecture,
/// written as a model directory — usually the last checkpoints of a run.
struct Average: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Average the parameters of several models or checkpoints into one model.",
        discussion: """
            The inputs must share their architecture (config.json) and tokenizer files \
            (tokenizer.json, or an OPUS-MT folder's SentencePiece files and vocabularies); the \
            output's config.json is the last input's. Averaging the last checkpoints of a run \
            usually gains a fraction of a BLEU point over the newest one alone; train with \
            --keep-checkpoints N to have them.

              nmt train … --output runs/en-fr --keep-checkpoints 5
              nmt average --last 5 runs/en-fr --output runs/en-fr-avg5
              nmt average runs/a runs/b --output runs/ab --dtype f16
            """
    )

    @Argument(help: ArgumentHelp("The model or checkpoint directories to average; with --last, the one training output (or its checkpoints folder).",
                                 valueName: "dir"))
    var inputs: [String] = []

    @Option(help: ArgumentHelp("Average the N newest checkpoints of the training output given.", valueName: "n"))
    var last: Int?

    @Option(help: ArgumentHelp("The model directory to write.", valueName: "dir"))
    var output: String

    @Option(help: "Weight type of the average: f32, f16 or int8 (the inputs must be float32 or float16).")
    var dtype: Export.FileType = .f32

    @OptionGroup var replacing: OverwriteOption

    func validate() throws {
        if let last {
            guard last >= 2 else { throw CommandError("--last must be at least 2, got \(last)") }
            guard inputs.count == 1 else {
                throw CommandError("--last \(last) takes one training output directory, got \(inputs.count)")
            }
        } else if inputs.count < 2 {
            throw CommandError("average needs at least 2 model directories (or --last N RUN), got \(inputs.count)")
        }
    }

    func run() throws {
        try OutputLocation.checkModelDirectory(output, option: "--output", overwrite: replacing.overwrite)
        let directories: [URL]
        if let last {
            directories = try CheckpointAveraging.newestCheckpoints(last, in: URL(fileURLWithPath: inputs[0]))
        } else {
            directories = inputs.map { URL(fileURLWithPath: $0) }
        }
        let result = try CheckpointAveraging.average(directories) { directory in
            print("read \(directory.path)")
        }
        try ModelDirectory.save(result.model, to: URL(fileURLWithPath: output), tokenizerFiles: result.tokenizer,
                                weightType: dtype.storage)
        print("wrote \(output): the average of \(result.count) models")
    }
}
