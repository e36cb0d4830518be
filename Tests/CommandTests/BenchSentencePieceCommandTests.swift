import Foundation
import TestSupport
import XCTest

/// `nmt bench tokenize` with a SentencePiece model, run as a user would (the peer comparison
/// needs Python and is left to scripts; see scripts/sentencepiece_encode_ref.py).
final class BenchSentencePieceCommandTests: XCTestCase {
    func testBenchEncodesWithASentencePieceModel() throws {
        let directory = try Fixtures.temporaryDirectory("bench-spm")
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = directory.appendingPathComponent("small.tsv")
        try Data(String(repeating: "I am a student.\tJe suis étudiant.\nWhere is he?\tOù est-il ?\n", count: 50).utf8).write(to: corpus)
        let result = try NMTProcess.run(["bench", "tokenize", "--part", "encode", "--repeats", "1", "--format", "json",
                                         "--corpus", corpus.path, "--tokenizer", Fixtures.url("opus-mt-tiny/source.spm").path])
        XCTAssertEqual(result.status, 0, result.standardError)
        struct Figure: Decodable { var metric: String; var value: Double }
        let figures = try result.standardOutput.split(separator: "\n").map { try JSONDecoder().decode(Figure.self, from: Data($0.utf8)) }
        XCTAssertEqual(figures.map(\.metric), ["encode nmt", "encode nmt tokens", "encode nmt bytes"])
        XCTAssertTrue(figures.allSatisfy { $0.value > 0 })

        let broken = directory.appendingPathComponent("broken.spm")
        try Data("not a model".utf8).write(to: broken)
        let failure = try NMTProcess.run(["bench", "tokenize", "--part", "encode", "--corpus", corpus.path, "--tokenizer", broken.path])
        XCTAssertEqual(failure.status, 1)
        XCTAssertTrue(failure.standardError.contains("broken.spm: not a SentencePiece model"), failure.standardError)
    }
}
