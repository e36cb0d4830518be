import ArgumentParser
import Foundation
import TextIO

/// How files of sentences are read (`nmt vocab learn`): their layout and what an invalid line does.
struct SentenceFileOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case auto, tsv, text
    }

    @Option(help: "Input layout: tsv (every tab-separated field is a sentence), text (every line), or auto (tsv for .tsv files).")
    var inputFormat: Format = .auto

    @Flag(help: "Fail at a line that is not valid UTF-8 instead of reporting and skipping it.")
    var strict = false

    /// Calls `body` with every sentence of the file (non-empty TSV fields, or non-empty lines).
    func forEachSentence(in path: String, _ body: (String) throws -> Void) throws {
        let data = try TextLines.read(URL(fileURLWithPath: path))
        let tsv = inputFormat == .tsv || (inputFormat == .auto && path.lowercased().hasSuffix(".tsv"))
        try TextLines.forEachLine(in: data, separator: tsv ? UInt8(ascii: "\t") : nil, { text, _ in
            if !text.isEmpty { try body(text) }
        }, invalid: { number in try reportInvalidLine(source: path, line: number, strict: strict) })
    }
}
