import ArgumentParser
import NMT

@main
struct NMTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nmt",
        abstract: "Transformer translation: translate, train, and look inside the model.",
        version: "nmt \(version)",
        subcommands: [Translate.self, Serve.self, Train.self, AttentionCommand.self, WalkthroughCommand.self, Vocab.self, Tokenize.self, Evaluate.self, Export.self, Average.self, Plot.self, Bench.self, Image.self]
    )

    /// The toolkit's version: raised by hand when what a user meets changes (commands, options,
    /// files written). 0.20: issue 20's first-contact changes.
    static let version = "0.20.0"

    /// ArgumentParser's `main`, with the command names checked first (`CommandNames`) and every
    /// error said in one line through `CommandError.plain`.
    static func main() {
        let arguments = NegativeValues.joined(Array(CommandLine.arguments.dropFirst()))
        do {
            try CommandNames.check(arguments, root: self)
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withError: CommandError.plain(error))
        }
    }
}
