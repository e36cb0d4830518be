import ArgumentParser
import Foundation
import NMT

/// `nmt walkthrough`: the classic Transformer walkthrough, computed by the model on a sentence.
struct WalkthroughCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "walkthrough",
        abstract: "Walk through how the model translates a sentence, step by step.",
        discussion: """
            Five steps, with the model's own numbers: 1) the pieces, their ids, embeddings and \
            position vectors; 2) the encoder self-attention; 3) the decoder's masked \
            self-attention as the output grows; 4) the encoder–decoder attention behind each \
            output word; 5) generation step by step, the most probable next pieces at each step. \
            The output is greedy search's, so the last line is what nmt translate --beam 1 prints.

              nmt walkthrough "I am a student."
              nmt walkthrough "I am a student." --format markdown > walkthrough.md
            """
    )

    @Argument(help: "The sentence to walk through.")
    var text: String

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "text (for an 80-column terminal) or markdown (a document).")
    var format: Format = .text

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown }

    func run() throws {
        let walkthrough = try Walkthrough(translator: try modelOptions.loadTranslator(), sentence: text)
        switch format {
        case .text: print(walkthrough.text(shading: Terminal.shading), terminator: "")
        case .markdown: print(walkthrough.markdown(), terminator: "")
        }
    }
}
