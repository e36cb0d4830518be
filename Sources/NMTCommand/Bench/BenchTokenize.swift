import ArgumentParser
import Foundation
import TextIO
import Tokenizers

/// `nmt bench tokenize`: encoding throughput and BPE learning time on a TSV corpus, one thread,
/// with the peers of ../shared/bench (Hugging Face tokenizers, SentencePiece) run in the same
/// invocation when `--peer-python` is given, so the ratios compare like with like.
struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encoding lines/s and BPE learning time, optionally against tokenizers and SentencePiece.",
        discussion: """
        Encoding: every non-empty field of the corpus, one encode call per line, with a freshly \
        loaded tokenizer each repeat (its word cache starts empty, as in tokenizer_ref.py). \
        Learning: adding every field and learning a --size vocabulary.
        """
    )

    enum Part: String, ExpressibleByArgument, CaseIterable {
        case all, encode, learn
    }

    @OptionGroup var options: BenchmarkOptions

    @Option(help: "TSV corpus (src<TAB>tgt…).")
    var corpus = "../shared/corpora/tatoeba-eng-fra/train.tsv"

    @Option(help: "The tokenizer.json, or a SentencePiece .spm/.model, to encode with (the peer encodes with the same file).")
    var tokenizer = "vocab/tatoeba-en-fr-8k.json"

    @Option(help: "Vocabulary size to learn.")
    var size = 8000

    @Option(help: "What to measure: all, encode or learn.")
    var part: Part = .all

    @Option(help: "A Python with tokenizers and sentencepiece: also run the peer scripts and report ratios.")
    var peerPython: String?

    @Option(help: "The folder of tokenizer_ref.py and bpe_train_ref.py.")
    var peerScripts = "../shared/bench"

    func run() throws {
        var lines: [String] = []
        try TextLines.forEachLine(in: try TextLines.read(URL(fileURLWithPath: corpus)), separator: UInt8(ascii: "\t"), { field, _ in
            lines.append(field)
        }, invalid: { number in try reportInvalidLine(source: corpus, line: number, strict: false) })
        let bytes = lines.reduce(0) { $0 + $1.utf8.count }
        var figures: [BenchmarkFigure] = []
        func figure(_ metric: String, _ value: Double, _ unit: String) {
            figures.append(BenchmarkFigure(benchmark: "tokenize", metric: metric, value: value, unit: unit))
        }

        if part != .learn, [".spm", ".model"].contains(where: tokenizer.hasSuffix) {
            try encodeSentencePiece(lines, bytes: bytes).forEach { figure($0.metric, $0.value, $0.unit) }
        } else if part != .learn {
            let url = URL(fileURLWithPath: tokenizer)
            // Loaded before timing: one fresh tokenizer (empty word cache) per repeat.
            var fresh = try (0..<options.repeats).map { _ in try Tokenizer(contentsOf: url) }
            var tokens = 0
            let seconds = medianSeconds(repeats: options.repeats) {
                let tokenizer = fresh.removeLast()
                tokens = 0
                for line in lines { tokens += tokenizer.encode(line).count }
            }
            figure("encode nmt", Double(lines.count) / seconds, "lines/s")
            figure("encode nmt tokens", Double(tokens) / seconds, "tokens/s")
            figure("encode nmt bytes", Double(bytes) / seconds / 1e6, "MB/s")
            if let peerPython {
                let output = try runPeer(peerPython, "tokenizer_ref.py", [tokenizer, corpus])
                let peer = try number(in: output, before: " lines/s", after: "tokenizers encode (one call per line)")
                figure("encode tokenizers", peer, "lines/s")
                figure("encode speed nmt/tokenizers", Double(lines.count) / seconds / peer, "x")
            }
        }

        if part != .encode {
            var learned = 0
            let seconds = try medianSeconds(repeats: options.repeats) {
                var learner = BPELearner(options: .init(vocabularySize: size))
                for line in lines { learner.add(line) }
                learned = try learner.learn().vocabularySize
            }
            figure("learn nmt \(learned)", seconds, "s")
            if let peerPython {
                let output = try runPeer(peerPython, "bpe_train_ref.py", [corpus, String(size)])
                let tokenizers = try number(in: output, before: " s", after: "tokenizers BPE train")
                let sentencePiece = try number(in: output, before: " s", after: "sentencepiece BPE train")
                figure("learn tokenizers", tokenizers, "s")
                figure("learn sentencepiece", sentencePiece, "s")
                figure("learn time nmt/sentencepiece", seconds / sentencePiece, "x")
            }
        }
        options.report(figures)
    }

    /// Runs a peer script (in --peer-scripts, or at a path) to completion and returns what it printed.
    func runPeer(_ python: String, _ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.contains("/") ? script : URL(fileURLWithPath: peerScripts).appendingPathComponent(script).path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["RAYON_NUM_THREADS"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        do {
            try process.run()
        } catch {
            throw TokenizerError(source: python, message: "cannot run the peer \(script) (\(FileError.reason(for: error)))")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TokenizerError(source: script, message: "the peer failed (exit status \(process.terminationStatus))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The number just before `unit` on the line that starts with `label`.
    func number(in output: String, before unit: String, after label: String) throws -> Double {
        for line in output.split(separator: "\n") where line.hasPrefix(label) {
            guard let end = line.range(of: unit) else { continue }
            let head = line[..<end.lowerBound]
            let start = head.lastIndex(of: " ").map { head.index(after: $0) } ?? head.startIndex
            if let value = Double(head[start...]) { return value }
        }
        throw TokenizerError(source: "peer output", message: "no \"\(label) … \(unit)\" figure in: \(output)")
    }
}
