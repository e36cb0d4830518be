import ArgumentParser
import NMT

@main
struct NMTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nmt",
        abstract: "Transformer translation: translate, train, and look inside the model.",
        subcommands: [Translate.self, Serve.self, Train.self, AttentionCommand.self, WalkthroughCommand.self, Vocab.self, Tokenize.self, Evaluate.self, Export.self, Average.self, Plot.self, Bench.self, Image.self]
    )

    static func main() {
        main(NegativeValues.joined(Array(CommandLine.arguments.dropFirst())))
    }
}
