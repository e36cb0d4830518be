import ArgumentParser
import Foundation
import NMT
import TextIO
import Tokenizers

/// `nmt tokenize --tokenizer vocab/en-fr.json "I am a student."`: the pieces and ids of a text,
/// or with `--decode` the text of ids. `--model DIR` takes a model directory's tokenizer instead
/// (tokenizer.json, or an OPUS-MT folder's SentencePiece files) and shows what the model reads.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the pieces and ids of text, or (--decode) the text of ids.",
        discussion: """
        With no TEXT arguments, reads one text (or id list) a line from standard input. Text \
        output: the pieces on one line, the ids on the next. JSON output: one object a line, \
        {"text": …, "tokens": […], "ids": […]}.
        """
    )

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "The tokenizer.json file.")
    var tokenizer: String?

    @Option(help: ArgumentHelp("A model directory instead of --tokenizer: its source side as the model reads it (</s> included); --decode uses its target side.", valueName: "dir"))
    var model: String?

    @Flag(help: "Read ids (separated by spaces or commas) and print their text.")
    var decode = false

    @Option(help: "Output format: text or json (one object a line).")
    var format: OutputFormat = .text

    @Flag(help: "With --decode, keep special tokens such as </s> in the text.")
    var keepSpecialTokens = false

    @Flag(help: "Fail at an input line that is not valid UTF-8 instead of reporting and skipping it.")
    var strict = false

    @Argument(help: "Texts to tokenize (with --decode: id lists). None: read lines from standard input.")
    var texts: [String] = []

    private struct Output {
        var text: String
        var tokens: [String]?
        var ids: [Int]
    }

    func validate() throws {
        guard (tokenizer == nil) != (model == nil) else { throw ValidationError("give either --tokenizer FILE or --model DIR") }
    }

    /// The ids and pieces of `text` (with --model, as the model reads it: `</s>` last).
    private func encode(_ text: String, with tokenizer: any TranslationTokenizer) -> (ids: [Int], pieces: [String]) {
        if model == nil, let bpe = tokenizer as? Tokenizer { return bpe.encodeWithPieces(text) }
        let tokens = tokenizer.sourceTokens(text)
        let eos = tokenizer.eosId
        return (tokens.map(\.id) + [eos], tokens.map(\.piece) + [tokenizer.sourcePiece(for: eos) ?? "</s>"])
    }

    func run() throws {
        let tokenizer: any TranslationTokenizer
        if let model {
            tokenizer = try ModelDirectory.loadTokenizer(from: URL(fileURLWithPath: model))
        } else {
            tokenizer = try Tokenizer(contentsOf: URL(fileURLWithPath: self.tokenizer!))
        }

        func handle(_ input: String, source: String) throws {
            let output: Output
            if decode {
                let ids = try parseIds(input, source: source, vocabularySize: tokenizer.targetVocabularySize)
                output = Output(text: tokenizer.decodeTarget(ids, skipSpecialTokens: !keepSpecialTokens), tokens: nil, ids: ids)
            } else {
                let (ids, pieces) = encode(input, with: tokenizer)
                output = Output(text: input, tokens: pieces, ids: ids)
            }
            switch format {
            case .json:
                // text, tokens, ids: in this order, as the help says.
                var members: [(key: String, value: JSON)] = [("text", .string(output.text))]
                if let tokens = output.tokens { members.append(("tokens", .array(tokens.map(JSON.string)))) }
                members.append(("ids", .array(output.ids.map { .number($0) })))
                print(JSON.object(members).compact)
            case .text where decode:
                print(output.text)
            case .text:
                print(output.tokens?.joined(separator: " ") ?? "")
                print(output.ids.map(String.init).joined(separator: " "))
            }
        }

        if !texts.isEmpty {
            for (index, text) in texts.enumerated() { try handle(text, source: "argument \(index + 1)") }
            return
        }
        try LineReader.forEachLine(of: STDIN_FILENO, source: "<stdin>",
                                   { line, number in try handle(line, source: "<stdin>:\(number)") },
                                   invalid: { number in try reportInvalidLine(source: "<stdin>", line: number, strict: strict) })
    }

    /// Ids written as `387 677 375`, `387,677` or `[387, 677]`.
    private func parseIds(_ text: String, source: String, vocabularySize: Int) throws -> [Int] {
        let separators = Set<Character>(" \t,[]")
        return try text.split(whereSeparator: { separators.contains($0) }).map { field in
            guard let id = Int(field), id >= 0 else {
                throw TokenizerError(source: source, message: "expected ids separated by spaces or commas, found \"\(field)\"")
            }
            guard id < vocabularySize else {
                throw TokenizerError(source: source, message: "id \(id) is out of range (the vocabulary has \(vocabularySize))")
            }
            return id
        }
    }
}
