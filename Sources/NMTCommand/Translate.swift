import ArgumentParser
import Foundation
import NMT
import TextIO
import Tokenizers

/// `nmt translate`: a sentence from the command line, or lines from standard input or a file.
struct Translate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Translate text with a model (by default the shipped English→French one).",
        discussion: """
            With a sentence as argument, prints its translation. Without one, translates standard \
            input (or --input) line by line, writing one line per input line in order; an empty \
            line gives an empty line. A line of several sentences is translated one sentence at \
            a time (--no-split: whole), and a translation that goes into a loop is cut and \
            reported on standard error (--no-repetition-guard: left to run to --max-length).

              nmt translate "I am a student."
              nmt translate --beam 5 --n-best 3 --format json < sentences.txt
            """
    )

    @Argument(help: "The sentence to translate; without it, lines are read from standard input or --input.")
    var text: String?

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Read sentences from this file, one a line.", valueName: "file"))
    var input: String?

    @Option(help: ArgumentHelp("Write translations to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var replacing: OverwriteOption

    @Option(help: "Beam size; 1 is greedy search.")
    var beam: Int = 4

    @Option(help: "Translations per sentence, best first (at most the beam size).")
    var nBest: Int = 1

    @Option(help: "Rank hypotheses by log-probability / length^A, A from -1 to 2: 1 is the mean per token, less favours shorter translations, more longer ones.")
    var lengthPenalty: Float = 1

    @Option(help: "At most this many generated tokens per sentence (also at most 3 × the source length).")
    var maxLength: Int = 256

    @Option(help: "Sentences translated together.")
    var batchSize: Int = 32

    @Option(help: "text: the translation (with --n-best > 1: 'line ||| translation ||| score'); json: one object a line.")
    var format: TranslationFormat = .text

    @Flag(inversion: .prefixedNo, help: "Translate a line of several sentences one sentence at a time, and put them back together (a model trained on single sentences drops some otherwise).")
    var split = true

    @Flag(inversion: .prefixedNo, help: "End a translation that goes into a loop (a stretch repeated 4 times or more, a token 8 times) after its first round, with a warning.")
    var repetitionGuard = true

    enum TranslationFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func validate() throws {
        guard beam >= 1 else { throw CommandError("--beam must be at least 1, got \(beam)") }
        guard nBest >= 1, nBest <= beam else { throw CommandError("--n-best must be between 1 and --beam (\(beam)), got \(nBest)") }
        guard maxLength >= 1 else { throw CommandError("--max-length must be at least 1, got \(maxLength)") }
        guard batchSize >= 1 else { throw CommandError("--batch-size must be at least 1, got \(batchSize)") }
        // Past these the penalty outweighs the model: at -5 the shortest hypothesis always wins,
        // at 5 the longest.
        guard (-1...2).contains(lengthPenalty) else {
            throw CommandError("--length-penalty must be between -1 and 2 (1 ranks by the mean log-probability per token), got \(lengthPenalty)")
        }
        if text != nil && input != nil { throw ValidationError("give either a sentence or --input, not both") }
    }

    func run() throws {
        if let output { try OutputLocation.checkFile(output, option: "--output", overwrite: replacing.overwrite) }
        let translator = try modelOptions.loadTranslator()
        let options = SearchOptions(beamSize: beam, nBest: nBest, lengthPenalty: lengthPenalty, maxNewTokens: maxLength,
                                    repetitionGuard: repetitionGuard ? RepetitionGuard() : nil)
        let sink = try OutputSink(path: output)
        do {
            if let text {
                try emit(translate([text], with: translator, options: options, firstLine: 1), sources: [text], firstLine: 1, to: sink)
            } else {
                try translateLines(translator: translator, options: options, sink: sink)
            }
            try sink.finish()
        } catch {
            sink.abandon()
            throw error
        }
    }

    /// Streams the input: lines are translated in chunks of at most `chunkSize` (memory stays
    /// bounded whatever the file's size), and a partial chunk as soon as the input has nothing
    /// more ready, so lines typed or piped in one at a time are answered one at a time.
    private func translateLines(translator: Translator, options: SearchOptions, sink: OutputSink) throws {
        let source = input ?? "<stdin>"
        let handle: FileHandle
        if let input {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else { throw CommandError("\(input): no such file") }
            guard !isDirectory.boolValue else { throw CommandError("\(input): is a directory, not a text file") }
            guard let opened = FileHandle(forReadingAtPath: input) else { throw CommandError("\(input): cannot be read") }
            handle = opened
        } else {
            handle = FileHandle.standardInput
        }
        // A window of 32 batches: sorted by length, its batches pad little, and the threads, which
        // take its batches one each (`Generator.generate(batches:)`), wait for each other only at
        // its end, where the shortest batch runs last. With 8 batches a window, Tatoeba test's
        // 2,000 lines took 4 % longer (int8, batches of 64).
        let chunkSize = max(batchSize * 32, 1024)
        var lineNumber = 1
        var chunk: [String] = []
        func flush() throws {
            guard !chunk.isEmpty else { return }
            let translations = translate(chunk, with: translator, options: options, firstLine: lineNumber)
            try emit(translations, sources: chunk, firstLine: lineNumber, to: sink)
            lineNumber += chunk.count
            chunk.removeAll(keepingCapacity: true)
        }
        // Every input line gets an output line: a line that cannot be translated stops the run.
        try LineReader.forEachLine(of: handle.fileDescriptor, source: source, { line, number in
            if line.contains("\0") { throw CommandError("\(source):\(number): contains a NUL byte") }
            chunk.append(line)
            if chunk.count == chunkSize { try flush() }
        }, invalid: { number in
            throw CommandError("\(source):\(number): not valid UTF-8")
        }, whenWaiting: flush)
        try flush()
    }

    /// The lines' translations, sentence by sentence unless --no-split.
    private func translate(_ lines: [String], with translator: Translator, options: SearchOptions, firstLine: Int) -> [[Translation]] {
        guard split else { return translator.translate(lines, options: options, batchSize: batchSize, warn: warn(firstLine: firstLine)) }
        // The abbreviations of every language the splitter knows: a model directory does not say its source's.
        return translator.translate(lines, splittingWith: SentenceSplitter(language: nil), options: options, batchSize: batchSize,
                                    warn: warn(firstLine: firstLine))
    }

    private func warn(firstLine: Int) -> (Int, String) -> Void {
        let source = input ?? (text == nil ? "<stdin>" : "argument")
        return { index, message in printError("warning: \(source):\(firstLine + index): \(message)") }
    }

    private func emit(_ translations: [[Translation]], sources: [String], firstLine: Int, to sink: OutputSink) throws {
        for (offset, (source, nBest)) in zip(sources, translations).enumerated() {
            switch format {
            case .text where nBest.count == 1 || self.nBest == 1:
                try sink.write(nBest.first?.text ?? "")
            case .text:
                for translation in nBest {
                    try sink.write("\(firstLine + offset - 1) ||| \(translation.text) ||| \(String(format: "%.4f", translation.score))")
                }
            case .json:
                try sink.write(Translation.json(source: source, nBest: nBest).compact)
            }
        }
    }
}
