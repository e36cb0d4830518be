import ArgumentParser
import Evaluation
import Foundation
import NMT

/// `nmt evaluate`: corpus BLEU and chrF of translations, computed as sacreBLEU 2.x computes them
/// by default, printed as sacreBLEU prints them (or as one JSON object).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score translations with corpus BLEU and chrF (sacreBLEU's definitions).",
        discussion: """
            The references are the target columns of a TSV test set \
            (source<TAB>reference[<TAB>another reference …], a variable number a line), or one or \
            more --reference files with one line per hypothesis. --lowercase applies to both \
            metrics; --tokenize to BLEU only (chrF compares characters).

              nmt evaluate --hypotheses test.hyp test.tsv
              nmt evaluate --hypotheses val.hyp --reference val.fr --lowercase
            """
    )

    @Option(help: ArgumentHelp("The translations to score, one a line. Without it, the model translates the sources.", valueName: "file"))
    var hypotheses: String?

    @Option(help: ArgumentHelp("With --reference and no --hypotheses: the sources to translate, one a line.", valueName: "file"))
    var source: String?

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Beam size when translating; 1 is greedy search.")
    var beam: Int = 4

    @Option(help: "Sentences translated together.")
    var batchSize: Int = 32

    @Argument(help: ArgumentHelp("A TSV test set whose target columns are the references.", valueName: "test.tsv"))
    var testSet: String?

    @Option(name: .customLong("reference"),
            help: ArgumentHelp("A reference file, one line per hypothesis; repeat for several references.", valueName: "file"))
    var referenceFiles: [String] = []

    @Flag(help: "Lowercase hypotheses and references before scoring.")
    var lowercase = false

    @Option(help: "How BLEU splits words: 13a is sacreBLEU's default, none suits text already tokenized.")
    var tokenize: BLEUTokenization = .thirteenA

    @Option(help: "Output: text (sacreBLEU's lines) or json (one object).")
    var format: EvaluationFormat = .text

    func validate() throws {
        if testSet != nil && !referenceFiles.isEmpty {
            throw ValidationError("Give the references either as a TSV test set or as --reference files, not both.")
        }
        if testSet == nil && referenceFiles.isEmpty {
            throw ValidationError("Give the references: a TSV test set or at least one --reference file.")
        }
        if hypotheses != nil && source != nil {
            throw ValidationError("--source is what the model translates; with --hypotheses there is nothing to translate.")
        }
        if hypotheses == nil && testSet == nil && source == nil {
            throw ValidationError("To translate with a model, give a TSV test set or --source with the --reference files.")
        }
        guard beam >= 1 else { throw CommandError("--beam must be at least 1, got \(beam)") }
        guard batchSize >= 1 else { throw CommandError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func run() throws {
        let hypothesisLines: [String], references: [[String]]
        if let hypotheses {
            hypothesisLines = try ParallelCorpus.readLines(of: URL(fileURLWithPath: hypotheses))
            references = try readReferences(lineCount: hypothesisLines.count)
        } else {
            let sources: [String]
            if let testSet {
                let corpus = try ParallelCorpus(tsv: URL(fileURLWithPath: testSet), options: .strict)
                sources = corpus.pairs.map(\.source)
                references = corpus.pairs.map(\.references)
            } else {
                sources = try ParallelCorpus.readLines(of: URL(fileURLWithPath: source!))
                references = try readReferences(lineCount: sources.count, countedFile: source!)
            }
            let translator = try modelOptions.loadTranslator()
            hypothesisLines = translator.translate(sources, options: SearchOptions(beamSize: beam), batchSize: batchSize)
                .map { $0.first?.text ?? "" }
        }

        let bleu = BLEU(lowercase: lowercase, tokenize: tokenize)
            .corpusScore(hypotheses: hypothesisLines, references: references)
        let chrf = CHRF(lowercase: lowercase).corpusScore(hypotheses: hypothesisLines, references: references)
        switch format {
        case .text:
            print(bleu.formatted())
            print(chrf.formatted())
        case .json:
            let report = EvaluationReport(bleu: bleu.score, chrf: chrf.score,
                                          signature: .init(bleu: bleu.signature, chrf: chrf.signature))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
    }

    /// references[i]: every reference of line i of `countedFile` (the hypotheses or the sources),
    /// which has `lineCount` lines; each reference source must have as many.
    private func readReferences(lineCount: Int, countedFile: String? = nil) throws -> [[String]] {
        let counted = countedFile ?? hypotheses ?? "<hypotheses>"
        if let testSet {
            // Strict: a skipped line would pair every later hypothesis with the wrong references.
            let corpus = try ParallelCorpus(tsv: URL(fileURLWithPath: testSet), options: .strict)
            try checkLineCounts(counted, lineCount, testSet, corpus.pairs.count)
            return corpus.pairs.map(\.references)
        }
        let files = try referenceFiles.map { file in
            let lines = try ParallelCorpus.readLines(of: URL(fileURLWithPath: file))
            try checkLineCounts(counted, lineCount, file, lines.count)
            return lines
        }
        return (0..<lineCount).map { line in files.map { $0[line] } }
    }

    /// Names the first line that has no partner, in whichever file is longer.
    private func checkLineCounts(_ countedFile: String, _ countedLines: Int, _ file: String, _ lines: Int) throws {
        guard countedLines != lines else { return }
        let (longer, line) = countedLines > lines ? (countedFile, lines + 1) : (file, countedLines + 1)
        throw CommandError("\(longer):\(line): no counterpart in the other file (\(countedFile) has \(countedLines) lines, \(file) has \(lines))")
    }
}

enum EvaluationFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension BLEUTokenization: ExpressibleByArgument {}

/// `--format json`: `{"bleu": …, "chrf": …, "signature": {"bleu": …, "chrf": …}}`.
struct EvaluationReport: Codable {
    struct Signatures: Codable {
        var bleu: String
        var chrf: String
    }

    var bleu: Double
    var chrf: Double
    var signature: Signatures
}

