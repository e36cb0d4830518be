import Foundation
import NMT
import Tensor
import TestSupport
import XCTest

/// The loop detector of the search (issue 20, item 6): where it cuts, that it cuts only loops,
/// and that greedy and beam search with it differ from search without it only where a loop was.
final class RepetitionGuardTests: XCTestCase {
    let guardian = RepetitionGuard()

    func testKeepsOneRoundOfALoopAndNothingElse() {
        // "Enfant étendre étendre …": one token 8 times.
        XCTAssertEqual(guardian.keptLength([5] + Array(repeating: 9, count: 8)), 2)
        XCTAssertNil(guardian.keptLength([5] + Array(repeating: 9, count: 7)), "7 times is not yet a loop")
        // Two tokens 4 times, after a start that shares the stretch's second token.
        XCTAssertEqual(guardian.keptLength([4, 2, 7, 2, 7, 2, 7, 2, 7, 2]), 3, "the periodic tail begins at index 1 (2 7 2 7 …)")
        XCTAssertEqual(guardian.keptLength([1, 3, 7, 2, 7, 2, 7, 2, 7, 2]), 4)
        XCTAssertNil(guardian.keptLength([1, 7, 2, 7, 2, 7, 2]), "three rounds of two are not a loop")
        // Three tokens 4 times: 12 tokens.
        XCTAssertEqual(guardian.keptLength([8] + Array(repeating: [3, 4, 5], count: 4).flatMap { $0 }), 4)
        // "Non, non, non, non !" and ordinary text are left alone.
        XCTAssertNil(guardian.keptLength([11, 12, 13, 12, 13, 12, 13, 14]))
        XCTAssertNil(guardian.keptLength(Array(0..<40)))
        XCTAssertNil(guardian.keptLength([]))
        // A stretch longer than the longest period looked for is not seen.
        XCTAssertNil(guardian.keptLength(Array(repeating: Array(0..<9), count: 5).flatMap { $0 }))
        XCTAssertEqual(RepetitionGuard(maximumPeriod: 9).keptLength(Array(repeating: Array(0..<9), count: 5).flatMap { $0 }), 9)
    }

    /// The kept part never ends in a loop itself: a second look finds nothing.
    func testACutHypothesisHasNoLoopLeft() {
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<2000 {
            let ids = (0..<Int(generator.next() % 40)).map { _ in Int(generator.next() % 3) }
            if let kept = guardian.keptLength(ids) {
                XCTAssertNil(guardian.keptLength(Array(ids.prefix(kept))), "\(ids)")
                XCTAssertLessThan(kept, ids.count)
            }
        }
    }

    /// The fixture's shape with freshly initialised weights, which loop a lot; EOS held back for
    /// `minNewTokens` so that each search runs long enough to loop.
    func randomModel() throws -> Transformer {
        let model = try ModelDirectory.loadModel(from: Fixtures.url("marian-tiny"))
        var generator = SeededGenerator(seed: 11)
        model.initializeForTraining(generator: &generator)
        return model
    }

    /// On a random model (which loops a lot), greedy search with the guard gives what search
    /// without it gives, cut where that ends in a loop — and exactly that elsewhere.
    func testGreedySearchIsTheUnguardedOneCutAtItsLoops() throws {
        Parallel.configure(threads: 2)
        // The random model loops on every source; the fixture's, whose weights were trained, on none.
        var cut = 0, whole = 0
        let models = [(try randomModel(), 30), (try ModelDirectory.loadModel(from: Fixtures.url("marian-tiny")), 0)]
        for (model, minimum) in models { for source in randomSources(model: model, count: 12) {
            let free = Generator(model: model).generate(sources: [source], options: SearchOptions(maxNewTokens: 40, maxLengthFactor: nil, minNewTokens: minimum, repetitionGuard: nil))[0][0]
            let guarded = Generator(model: model).generate(sources: [source], options: SearchOptions(maxNewTokens: 40, maxLengthFactor: nil, minNewTokens: minimum))[0][0]
            // Where the unguarded search first ran into a loop, if it did.
            let firstLoop = (1...free.ids.count).lazy.compactMap { end in self.guardian.keptLength(Array(free.ids.prefix(end))) }.first
            if let kept = firstLoop, !free.ids.prefix(kept).contains(model.config.eosId) {
                cut += 1
                XCTAssertTrue(guarded.repetitionCut)
                XCTAssertEqual(guarded.ids, Array(free.ids.prefix(kept)))
                XCTAssertEqual(guarded.tokenLogProbabilities, Array(free.tokenLogProbabilities.prefix(kept)))
            } else {
                whole += 1
                XCTAssertFalse(guarded.repetitionCut)
                XCTAssertEqual(guarded.ids, free.ids)
                XCTAssertEqual(guarded.score, free.score)
            }
        } }
        XCTAssertGreaterThan(cut, 0, "some searches loop")
        XCTAssertGreaterThan(whole, 0, "and some do not")
    }

    /// Beam search with the guard returns no hypothesis that ends in a loop; those it cut say so.
    func testBeamSearchReturnsNoLoop() throws {
        Parallel.configure(threads: 2)
        let model = try randomModel()
        let sources = randomSources(model: model, count: 12)
        let options = SearchOptions(beamSize: 4, nBest: 4, maxNewTokens: 40, maxLengthFactor: nil, minNewTokens: 30)
        let free = Generator(model: model).generate(sources: sources, options: SearchOptions(beamSize: 4, nBest: 4, maxNewTokens: 40, maxLengthFactor: nil, minNewTokens: 30, repetitionGuard: nil))
        XCTAssertTrue(free.joined().contains { guardian.keptLength($0.ids) != nil }, "without the guard, some beams end in a loop")
        for hypotheses in Generator(model: model).generate(sources: sources, options: options) {
            XCTAssertFalse(hypotheses.isEmpty)
            XCTAssertEqual(hypotheses.map(\.score), hypotheses.map(\.score).sorted(by: >))
            for hypothesis in hypotheses {
                let ids = hypothesis.ids.last == model.config.eosId ? Array(hypothesis.ids.dropLast()) : hypothesis.ids
                XCTAssertNil(guardian.keptLength(ids), "\(hypothesis.ids)")
                // A cut hypothesis is scored on what it keeps.
                XCTAssertEqual(hypothesis.score, hypothesis.tokenLogProbabilities.reduce(0, +) / Float(hypothesis.ids.count), accuracy: 1e-5)
            }
        }
    }

    func randomSources(model: Transformer, count: Int) -> [[Int]] {
        var generator = SeededGenerator(seed: 7)
        let V = model.config.vocabularySize
        return (0..<count).map { _ in
            (0..<(2 + Int(generator.next() % 10))).map { _ in 1 + Int(generator.next() % UInt64(V - 2)) } + [model.config.eosId]
        }
    }
}
