import Foundation
import NMT
import Tensor
import TestSupport
import XCTest

final class BatcherTests: XCTestCase {
    /// 5,000 pairs of random lengths 1 … 60 (a few over the budget of 256 tokens).
    func syntheticBatcher(tokenBudget: Int = 256, maxSentences: Int = .max) -> Batcher {
        var generator = SeededGenerator(seed: 1)
        var sources: [Int] = [], targets: [Int] = []
        for index in 0..<5000 {
            let source = 1 + Int(generator.next() % 60)
            sources.append(index % 997 == 0 ? 300 : source)
            targets.append(max(1, source + Int(generator.next() % 11) - 5))
        }
        return Batcher(sourceLengths: sources, targetLengths: targets,
                       tokenBudget: tokenBudget, maxSentences: maxSentences, chunkBatches: 10)
    }

    /// Every batchable pair exactly once, every batch within the budget and the sentence cap.
    func assertValid(_ batches: [[Int]], of batcher: Batcher, file: StaticString = #filePath, line: UInt = #line) {
        let all = batches.flatMap { $0 }
        let expected = Set(batcher.sourceLengths.indices).subtracting(batcher.oversizedPairs)
        XCTAssertEqual(all.count, expected.count, "each pair once", file: file, line: line)
        XCTAssertEqual(Set(all), expected, file: file, line: line)
        for batch in batches {
            XCTAssertFalse(batch.isEmpty, file: file, line: line)
            XCTAssertLessThanOrEqual(batch.count, batcher.maxSentences, file: file, line: line)
            let width = batch.map { max(batcher.sourceLengths[$0], batcher.targetLengths[$0]) }.max()!
            XCTAssertLessThanOrEqual(batch.count * width, batcher.tokenBudget, file: file, line: line)
        }
    }

    func testEveryPairOncePerEpochWithinBudget() {
        let batcher = syntheticBatcher()
        XCTAssertEqual(batcher.oversizedPairs, [0, 997, 1994, 2991, 3988, 4985])
        for epoch in 0..<3 {
            assertValid(batcher.batches(epoch: epoch, seed: 42), of: batcher)
        }
        let capped = syntheticBatcher(maxSentences: 7)
        let batches = capped.batches(epoch: 0, seed: 42)
        assertValid(batches, of: capped)
        XCTAssertEqual(batches.map(\.count).max(), 7)
    }

    func testOrderIsDeterministicPerSeedAndEpoch() {
        let batcher = syntheticBatcher()
        let first = batcher.batches(epoch: 3, seed: 42)
        XCTAssertEqual(batcher.batches(epoch: 3, seed: 42), first, "same seed and epoch, same order")
        XCTAssertNotEqual(batcher.batches(epoch: 4, seed: 42), first, "another epoch, another order")
        XCTAssertNotEqual(batcher.batches(epoch: 3, seed: 43), first, "another seed, another order")
        // Not only the order of the batches changes: the pairs meet other partners.
        let firstEpochBatches = Set(batcher.batches(epoch: 0, seed: 42))
        let secondEpochBatches = Set(batcher.batches(epoch: 1, seed: 42))
        XCTAssertLessThan(firstEpochBatches.intersection(secondEpochBatches).count, firstEpochBatches.count / 2)
    }

    func testResumesMidEpoch() {
        let batcher = syntheticBatcher()
        let epoch = batcher.batches(epoch: 2, seed: 7)
        XCTAssertEqual(batcher.batches(epoch: 2, seed: 7, startingAt: 10), Array(epoch[10...]))
        XCTAssertEqual(batcher.batches(epoch: 2, seed: 7, startingAt: epoch.count), [])
    }

    func testGeneratorVariantAdvancesTheGenerator() {
        let batcher = syntheticBatcher()
        var generator = SeededGenerator(seed: 5)
        let saved = generator
        let first = batcher.batches(using: &generator)
        XCTAssertNotEqual(generator, saved)
        var restored = saved
        XCTAssertEqual(batcher.batches(using: &restored), first, "a saved generator state replays the epoch")
        XCTAssertEqual(restored, generator)
        assertValid(batcher.batches(using: &generator), of: batcher)
    }

    func testLengthsFromTokenizedSequences() {
        let sources: [[Int32]] = [[5, 6, 0], [7, 0], [8, 9, 10, 11, 0]]
        let targets: [[Int32]] = [[4, 0], [4, 4, 4, 0], [0]]
        let batcher = Batcher(sources: sources, targets: targets, tokenBudget: 4)
        XCTAssertEqual(batcher.sourceLengths, [3, 2, 5])
        XCTAssertEqual(batcher.targetLengths, [2, 4, 1])
        XCTAssertEqual(batcher.oversizedPairs, [2])
        XCTAssertEqual(Set(batcher.batches(epoch: 0, seed: 0)), [[0], [1]])
    }

    /// Padding on the real Tatoeba train set. Tokenization is not this module's, so lengths are
    /// words + EOS (and, as a wider spread, characters / 4 + EOS, a rough subword count).
    func testPaddingIsSmallOnTatoeba() throws {
        guard let url = Fixtures.sharedCorpus("tatoeba-eng-fra/train.tsv") else { throw XCTSkip("shared corpora absent") }
        let pairs = try ParallelCorpus(tsv: url).pairs
        func words(_ text: String) -> Int { text.split(separator: " ").count + 1 }
        func pieces(_ text: String) -> Int { (text.unicodeScalars.count + 3) / 4 + 1 }
        for (unit, length) in [("words", words), ("chars/4", pieces)] as [(String, (String) -> Int)] {
            let batcher = Batcher(sourceLengths: pairs.map { length($0.source) }, targetLengths: pairs.map { length($0.target) },
                                  tokenBudget: 4096)
            let start = DispatchTime.now().uptimeNanoseconds
            let batches = batcher.batches(epoch: 0, seed: 1)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            assertValid(batches, of: batcher)
            let padding = batcher.paddingFraction(of: batches)
            print("tatoeba train, lengths in \(unit): \(batches.count) batches, padding \(padding), planned in \(seconds) s")
            XCTAssertLessThan(padding, 0.06)
        }
    }
}
