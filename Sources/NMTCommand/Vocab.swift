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

        @OptionGroup var corpus: SentenceFileOptions

        @OptionGroup var replacing: OverwriteOption

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
            try OutputLocation.checkFile(output, option: "--output", overwrite: replacing.overwrite)
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
