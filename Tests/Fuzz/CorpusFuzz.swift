import Foundation

/// libFuzzer target: the corpus reader (`ParallelCorpus`, compiled into this target with
/// Sources/NMT/Training/Corpus*.swift by scripts/fuzz.sh). The first byte picks the options and
/// the layout; the rest is a TSV file, or two aligned files split at the first 0x1E byte (or in
/// the middle). The files go to one scratch file per process, since the reader takes URLs.
///
/// Beyond "no crash": leniently, every line is kept or reported exactly once, and what is kept
/// is clean (no blank side, no newline inside a field nor a tab in a TSV field, lines in order); strictly, either a
/// `CorpusProblem` is thrown or nothing was skipped.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCorpus(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let mode = bytes[0]
    let body = Data(bytes: bytes + 1, count: count - 1)
    let options = CorpusOptions(maxCharacters: mode & 8 != 0 ? 40 : nil, maxWords: mode & 4 != 0 ? 5 : nil,
                                maxLengthRatio: mode & 2 != 0 ? 2.0 : nil, strict: mode & 1 != 0)
    let corpus: ParallelCorpus
    do {
        if mode & 16 == 0 {
            try body.write(to: FuzzFiles.source)
            corpus = try ParallelCorpus(tsv: FuzzFiles.source, options: options)
        } else {
            let split = body.firstIndex(of: 0x1E) ?? body.startIndex + body.count / 2
            try body[..<split].write(to: FuzzFiles.source)
            try body[split...].dropFirst(split < body.endIndex && body[split] == 0x1E ? 1 : 0).write(to: FuzzFiles.target)
            corpus = try ParallelCorpus(source: FuzzFiles.source, target: FuzzFiles.target, options: options)
        }
    } catch is CorpusProblem {
        return 0
    } catch {
        fatalError("not a CorpusProblem: \(error)")
    }
    if options.strict { precondition(corpus.problems.isEmpty, "a strict read skipped lines") }
    precondition(corpus.pairs.count + corpus.problems.count == corpus.lineCount, "lines kept + skipped ≠ lines read")
    let isTSV = mode & 16 == 0
    var previous = 0
    for pair in corpus.pairs {
        precondition(pair.line > previous && pair.line <= corpus.lineCount, "line numbers out of order")
        previous = pair.line
        precondition(isTSV || pair.references.count == 1, "aligned files give one translation a line")
        for field in [pair.source] + pair.references {
            // A tab is text in aligned files and a separator in TSV.
            precondition(!field.unicodeScalars.contains("\n") && !(isTSV && field.unicodeScalars.contains("\t")), "a separator inside a field")
            precondition(!field.unicodeScalars.allSatisfy(\.properties.isWhitespace), "a blank field kept")
        }
    }
    _ = corpus.summary
    return 0
}

enum FuzzFiles {
    static let directory: URL = {
        let shm = URL(fileURLWithPath: "/dev/shm")
        let base = FileManager.default.isWritableFile(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
        return base.appendingPathComponent("nmt-fuzz-corpus-\(getpid())")
    }()
    static let source: URL = {
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("source.txt")
    }()
    static let target = directory.appendingPathComponent("target.txt")
}
