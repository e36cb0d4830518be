import ArgumentParser
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

    @Option(help: ArgumentHelp("The translations to score, one a line.", valueName: "file"))
    var hypotheses: String

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
    }

    func run() throws {
        // The translations come from a file; this is where translating the test set's sources with
        // a model will plug in.
        let hypothesisURL = URL(fileURLWithPath: hypotheses)
        let hypothesisLines = try ParallelCorpus.readLines(of: hypothesisURL)
        let references = try readReferences(lineCount: hypothesisLines.count)

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

    /// references[i]: every reference of hypothesis i. Each source must have exactly `lineCount` lines.
    private func readReferences(lineCount: Int) throws -> [[String]] {
        if let testSet {
            // Strict: a skipped line would pair every later hypothesis with the wrong references.
            let corpus = try ParallelCorpus(tsv: URL(fileURLWithPath: testSet), options: .strict)
            try checkLineCounts(hypotheses: lineCount, references: corpus.pairs.count, file: testSet)
            return corpus.pairs.map(\.references)
        }
        let files = try referenceFiles.map { file in
            let lines = try ParallelCorpus.readLines(of: URL(fileURLWithPath: file))
            try checkLineCounts(hypotheses: lineCount, references: lines.count, file: file)
            return lines
        }
        return (0..<lineCount).map { line in files.map { $0[line] } }
    }

    /// Names the first line that has no partner, in whichever file is longer.
    private func checkLineCounts(hypotheses hypothesisCount: Int, references referenceCount: Int, file: String) throws {
        guard hypothesisCount != referenceCount else { return }
        let (longer, line) = hypothesisCount > referenceCount
            ? (hypotheses, referenceCount + 1) : (file, hypothesisCount + 1)
        throw EvaluationError(
            "\(longer):\(line): no counterpart in the other file (\(hypotheses) has \(hypothesisCount) lines, "
                + "\(file) has \(referenceCount))")
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

/// A one-line error for the command line.
struct EvaluationError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
