import ArgumentParser
import Foundation
import TextIO
import Tokenizers

/// `nmt vocab`: vocabularies (Hugging Face tokenizer.json files).
struct Vocab: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn BPE vocabularies (tokenizer.json files).",
        subcommands: [Learn.self]
    )
}

extension Vocab {
    /// `nmt vocab learn --size 8000 --output vocab/en-fr.json FILE...`
    struct Learn: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn one joint BPE vocabulary from corpus files.",
            discussion: """
            Every sentence of every file counts: each tab-separated field of a TSV file \
            (src<TAB>tgt…), each line of a plain-text file. Ids: </s> 0, <unk> 1, the byte \
            tokens <0x00>…<0xFF> 2–257, the characters, the learned pieces, <pad> last. The same \
            files and options always give the same tokenizer.json.
            """
        )

        @Option(help: "Ids in the vocabulary, special and byte tokens included.")
        var size = 8000

        @Option(name: .shortAndLong, help: "The tokenizer.json file to write.")
        var output: String

        @Option(help: "Merge no pair seen fewer times than this (the vocabulary may then come out smaller).")
        var minPairFrequency = 2

        @Option(help: "Characters seen fewer times than this get no piece; they are encoded as bytes.")
        var minCharacterFrequency = 2

        @OptionGroup var corpus: CorpusOptions

        @Flag(help: "Print no progress.")
        var quiet = false

        @Argument(help: "Corpus files: .tsv (src<TAB>tgt…) or plain text, one sentence a line.")
        var files: [String]

        /// </s>, <unk>, the 256 byte tokens and <pad>: the ids every vocabulary has.
        static let minimumSize = 259

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("give at least one corpus file") }
            guard size >= Self.minimumSize else { throw CommandError("--size \(size) is too small: every vocabulary has </s>, <unk>, the 256 byte tokens and <pad> (\(Self.minimumSize) ids)") }
            guard minPairFrequency >= 1, minCharacterFrequency >= 1 else {
                throw CommandError("--min-pair-frequency and --min-character-frequency must be at least 1, got \(minPairFrequency) and \(minCharacterFrequency)")
            }
        }

        func run() throws {
            let start = DispatchTime.now().uptimeNanoseconds
            var learner = BPELearner(options: .init(
                vocabularySize: size, minPairFrequency: minPairFrequency, minCharacterFrequency: minCharacterFrequency))
            let reading = ProgressLine(label: "reading", quiet: quiet)
            for (index, file) in files.enumerated() {
                try corpus.forEachSentence(in: file) { learner.add($0) }
                reading.update(index + 1, of: files.count)
            }
            reading.finish()
            let progress = ProgressLine(label: "merging", quiet: quiet)
            let tokenizer = try learner.learn { progress.update($0.merges, of: $0.totalMerges) }
            progress.finish()
            try tokenizer.write(to: URL(fileURLWithPath: output))

            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            var summary = "\(output): \(tokenizer.vocabularySize) ids from \(learner.sentenceCount) sentences "
                + "(\(learner.distinctWordCount) distinct words) in \(String(format: "%.2f", seconds)) s"
            if tokenizer.vocabularySize < size {
                summary += "; fewer than \(size): no pair left seen \(minPairFrequency) times or more"
            }
            print(summary)
        }
    }
}

/// How corpus files are read; shared by the commands that read them.
struct CorpusOptions: ParsableArguments {
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

/// Reports a line that is not valid UTF-8 on stderr as `file:line`, or fails if `strict`.
func reportInvalidLine(source: String, line: Int, strict: Bool) throws {
    let location = "\(source):\(line)"
    if strict { throw TokenizerError(source: location, message: "invalid UTF-8 (--strict)") }
    printError("\(location): invalid UTF-8, line skipped")
}

/// A progress bar redrawn in place on a terminal; on a pipe or file, a plain line every 10 %.
final class ProgressLine {
    let label: String
    let quiet: Bool
    let isTerminal = isatty(STDERR_FILENO) == 1
    private var shown = -1

    init(label: String, quiet: Bool) {
        self.label = label
        self.quiet = quiet
    }

    func update(_ done: Int, of total: Int) {
        guard !quiet, total > 0 else { return }
        let percent = min(100, done * 100 / total)
        if isTerminal {
            guard percent != shown else { return }
            let filled = percent * 30 / 100
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 30 - filled)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)% \(done)/\(total)".utf8))
        } else {
            guard percent / 10 != shown / 10 || shown < 0 else { return }
            printError("\(label): \(percent)% (\(done)/\(total))")
        }
        shown = percent
    }

    func finish() {
        if !quiet, isTerminal, shown >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
