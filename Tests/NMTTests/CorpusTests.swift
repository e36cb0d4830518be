import Foundation
import NMT
import TestSupport
import XCTest

final class CorpusTests: XCTestCase {
    /// Writes `bytes` to a fresh file and returns its URL.
    func write(_ bytes: [UInt8], name: String) throws -> URL {
        let url = try Fixtures.temporaryDirectory().appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func write(_ text: String, name: String) throws -> URL {
        try write(Array(text.utf8), name: name)
    }

    func testLoadsTatoebaTrainQuickly() throws {
        guard let url = Fixtures.sharedCorpus("tatoeba-eng-fra/train.tsv") else { throw XCTSkip("shared corpora absent") }
        var seconds: [Double] = []
        var corpus: ParallelCorpus!
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            corpus = try ParallelCorpus(tsv: url, options: .strict)
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        print("tatoeba train.tsv: \(corpus.pairs.count) pairs loaded in \(seconds.min()!) s (best of 3: \(seconds))")
        XCTAssertEqual(corpus.pairs.count, 135_594)
        XCTAssertEqual(corpus.lineCount, 135_594)
        XCTAssertTrue(corpus.problems.isEmpty)
        XCTAssertLessThan(seconds.min()!, 0.5, "loading should take well under a second (release build)")
        let student = try XCTUnwrap(corpus.pairs.first { $0.source == "I am a student." })
        XCTAssertEqual(student.target, "Je suis étudiant.")
    }

    func testKeepsEveryReferenceOfTatoebaDev() throws {
        guard let url = Fixtures.sharedCorpus("tatoeba-eng-fra/dev.tsv") else { throw XCTSkip("shared corpora absent") }
        let corpus = try ParallelCorpus(tsv: url, options: .strict)
        XCTAssertEqual(corpus.pairs.count, 1000)
        // `awk -F'\t' '{ n += NF - 1 } END { print n }' dev.tsv`
        XCTAssertEqual(corpus.pairs.map(\.references.count).reduce(0, +), 1470)
        let good = try XCTUnwrap(corpus.pairs.first { $0.source == "You're good." })
        XCTAssertEqual(good.references.count, 8)
        XCTAssertEqual(good.target, "Vous êtes bon.")
    }

    func testLoadsAlignedMulti30kFiles() throws {
        guard let english = Fixtures.sharedCorpus("multi30k/val.en"), let french = Fixtures.sharedCorpus("multi30k/val.fr")
        else { throw XCTSkip("shared corpora absent") }
        let corpus = try ParallelCorpus(source: english, target: french, options: .strict)
        XCTAssertEqual(corpus.pairs.count, 1014)
        XCTAssertEqual(corpus.pairs[0].line, 1)
        XCTAssertEqual(corpus.pairs.map(\.references.count), Array(repeating: 1, count: 1014))
    }

    func testReportsAndSkipsBadLines() throws {
        var bytes = Array("""
        Hello.\tBonjour.
        only one column
        \tVide.
        Empty target.\t\u{A0}
        Good.\tBien.\t\tBon.
        A rather long sentence here.\tLongue.
        Too many words in this one.\tTrop.
        Short.\tUne phrase beaucoup plus longue.
        Windows.\tFenêtres.\r
        Last.\tDernière.
        """.utf8)
        // Line 11: invalid UTF-8 (a lone continuation byte), and no final newline.
        bytes += Array("\nBad ".utf8) + [0x80] + Array("\tbytes".utf8)
        let url = try write(bytes, name: "problems.tsv")
        let options = CorpusOptions(maxCharacters: 20, maxWords: 5, maxLengthRatio: 4)
        let corpus = try ParallelCorpus(tsv: url, options: options)

        XCTAssertEqual(corpus.pairs.map(\.line), [1, 9, 10])
        XCTAssertEqual(corpus.pairs[1].target, "Fenêtres.", "a CR before the newline is dropped")
        let file = url.relativePath
        XCTAssertEqual(corpus.problems, [
            CorpusProblem(file: file, line: 2, kind: .wrongColumnCount(found: 1)),
            CorpusProblem(file: file, line: 3, kind: .emptySource),
            CorpusProblem(file: file, line: 4, kind: .emptyTarget),
            CorpusProblem(file: file, line: 5, kind: .emptyReference(column: 3)),
            CorpusProblem(file: file, line: 6, kind: .tooManyCharacters(count: 28, limit: 20)),
            CorpusProblem(file: file, line: 7, kind: .tooManyCharacters(count: 27, limit: 20)),
            CorpusProblem(file: file, line: 8, kind: .tooManyCharacters(count: 32, limit: 20)),
            CorpusProblem(file: file, line: 11, kind: .invalidUTF8),
        ])
        XCTAssertEqual(corpus.summary,
                       "\(file): 3 pairs from 11 lines; skipped 8 (3 empty field, 1 invalid UTF-8, 3 too many characters, 1 wrong column count)")
        XCTAssertEqual(corpus.problems[4].description, "\(file):6: 28 characters, more than the limit of 20")

        // The word and ratio limits, alone.
        let words = try ParallelCorpus(tsv: url, options: CorpusOptions(maxWords: 5))
        XCTAssertTrue(words.problems.contains(CorpusProblem(file: file, line: 7, kind: .tooManyWords(count: 6, limit: 5))))
        let ratio = try ParallelCorpus(tsv: url, options: CorpusOptions(maxLengthRatio: 4))
        XCTAssertTrue(ratio.problems.contains(CorpusProblem(file: file, line: 8, kind: .lengthRatio(ratio: 32.0 / 6, limit: 4))))
        XCTAssertTrue(ratio.problems.contains { $0.description == "\(file):8: length ratio 5.33 exceeds 4" })
    }

    func testStrictThrowsTheFirstProblem() throws {
        let url = try write("Fine.\tBien.\nBroken line\nNot reached\n", name: "strict.tsv")
        XCTAssertThrowsError(try ParallelCorpus(tsv: url, options: .strict)) { error in
            XCTAssertEqual("\(error)",
                           "\(url.relativePath):2: expected at least 2 tab-separated columns (source, target), found 1")
        }
    }

    func testAlignedFilesMustHaveEqualLineCounts() throws {
        let english = try write("One.\nTwo.\n", name: "a.en")
        let french = try write("Un.\nDeux.\nTrois.\n", name: "a.fr")
        XCTAssertThrowsError(try ParallelCorpus(source: english, target: french)) { error in
            XCTAssertEqual(error as? CorpusProblem, CorpusProblem(
                file: french.relativePath, line: 3, kind: .lineCountMismatch(sourceLines: 2, targetLines: 3)))
            XCTAssertEqual("\(error)", "\(french.relativePath):3: the source has 2 lines but the target has 3")
        }
    }

    func testAlignedFilesReportTheFileOfTheProblem() throws {
        let english = try write("One.\n\nThree.\n", name: "b.en")
        let french = try write("Un.\nDeux.\n \n", name: "b.fr")
        let corpus = try ParallelCorpus(source: english, target: french)
        XCTAssertEqual(corpus.pairs.map(\.line), [1])
        XCTAssertEqual(corpus.problems, [
            CorpusProblem(file: english.relativePath, line: 2, kind: .emptySource),
            CorpusProblem(file: french.relativePath, line: 3, kind: .emptyTarget),
        ])
    }

    func testReadLines() throws {
        let url = try write([0xEF, 0xBB, 0xBF] + Array("first\r\n\nthird".utf8), name: "lines.txt")
        XCTAssertEqual(try ParallelCorpus.readLines(of: url), ["first", "", "third"])
        let bad = try write(Array("ok\n".utf8) + [0xC3, 0x28] + Array("\n".utf8), name: "bad.txt")
        XCTAssertThrowsError(try ParallelCorpus.readLines(of: bad)) { error in
            XCTAssertEqual("\(error)", "\(bad.relativePath):2: not valid UTF-8")
        }
        let missing = URL(fileURLWithPath: "/nonexistent/file.txt")
        XCTAssertThrowsError(try ParallelCorpus.readLines(of: missing)) { error in
            XCTAssertEqual("\(error)", "/nonexistent/file.txt: cannot read the file (No such file or directory)")
        }
    }
}
