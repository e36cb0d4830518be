import ArgumentParser
import Foundation
import Tokenizers

/// `nmt tokenize --tokenizer vocab/en-fr.json "I am a student."`: the pieces and ids of a text,
/// or with `--decode` the text of ids.
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
    var tokenizer: String

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

    func run() throws {
        let tokenizer = try Tokenizer(contentsOf: URL(fileURLWithPath: self.tokenizer))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]

        func handle(_ input: String, source: String) throws {
            let output: Output
            if decode {
                let ids = try parseIds(input, source: source, vocabularySize: tokenizer.vocabularySize)
                output = Output(text: tokenizer.decode(ids, skipSpecialTokens: !keepSpecialTokens), tokens: nil, ids: ids)
            } else {
                let (ids, pieces) = tokenizer.encodeWithPieces(input)
                output = Output(text: input, tokens: pieces, ids: ids)
            }
            switch format {
            case .json:
                // Fields one by one: JSONEncoder would not keep this order.
                func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
                let tokens = try output.tokens.map { ",\"tokens\":\(try json($0))" } ?? ""
                print("{\"text\":\(try json(output.text))\(tokens),\"ids\":\(try json(output.ids))}")
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
        try forEachStandardInputLine(
            { line, number in try handle(line, source: "<stdin>:\(number)") },
            invalid: { number in try reportInvalidLine(source: "<stdin>", line: number, strict: strict) }
        )
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

/// Reads standard input a line at a time as bytes (so invalid UTF-8 is seen, not repaired):
/// valid lines go to `body` with their 1-based number, the numbers of invalid ones to `invalid`.
func forEachStandardInputLine(
    _ body: (_ line: String, _ number: Int) throws -> Void,
    invalid: (_ number: Int) throws -> Void
) throws {
    var buffer: UnsafeMutablePointer<CChar>?
    var capacity = 0
    defer { free(buffer) }
    var number = 0
    while true {
        let count = getline(&buffer, &capacity, stdin)
        guard count > 0, let buffer else { break }
        number += 1
        var length = count
        let bytes = UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self)
        if length > 0, bytes[length - 1] == 0x0A { length -= 1 }
        if length > 0, bytes[length - 1] == 0x0D { length -= 1 }
        if let line = TextLines.string(utf8: UnsafeBufferPointer(start: bytes, count: length)) {
            try body(line, number)
        } else {
            try invalid(number)
        }
    }
}
