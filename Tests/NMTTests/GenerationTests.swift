import Foundation
import NMT
import Tensor
import TestSupport
import XCTest

/// Cached greedy and beam search against transformers' `generate` on the marian-tiny fixture, and
/// the cache against the uncached reference.
final class GenerationTests: XCTestCase {
    var model: Transformer!
    var expected: SafeTensorsFile!

    override func setUpWithError() throws {
        Parallel.configure(threads: 2)
        model = try ModelDirectory.loadModel(from: Fixtures.url("marian-tiny"))
        expected = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/expected.safetensors"))
    }

    func rows(_ name: String) throws -> [[Int]] {
        let shape = try expected.shape(name)
        let flat = try expected.int64s(name).map(Int.init)
        return (0..<shape[0]).map { Array(flat[$0 * shape[1]..<($0 + 1) * shape[1]]) }
    }

    /// The fixture's generation rows: start token, output, EOS, then pad — as our ids.
    func generated(_ name: String) throws -> [[Int]] {
        let eos = model.config.eosId, pad = model.config.padId
        return try rows(name).map { row in
            let output = Array(row.dropFirst())
            return output.firstIndex(of: eos).map { Array(output[...$0]) } ?? output.filter { $0 != pad }
        }
    }

    func sources() throws -> [[Int]] {
        try rows("generate_src_ids").map { row in Array(row[...row.firstIndex(of: model.config.eosId)!]) }
    }

    func testCachedGreedyReproducesTransformers() throws {
        let options = SearchOptions(beamSize: 1, maxNewTokens: 12, maxLengthFactor: nil)
        let output = Generator(model: model).generate(sources: try sources(), options: options)
        XCTAssertEqual(output.map { $0[0].ids }, try generated("greedy_ids"))
    }

    func testBeamFourReproducesTransformersIdsAndScores() throws {
        let options = SearchOptions(beamSize: 4, lengthPenalty: 1, maxNewTokens: 12, maxLengthFactor: nil)
        let output = Generator(model: model).generate(sources: try sources(), options: options)
        XCTAssertEqual(output.map { $0[0].ids }, try generated("beam4_ids"))
        let scores = try expected.floats("beam4_scores")
        for (b, hypotheses) in output.enumerated() {
            XCTAssertEqual(hypotheses[0].score, scores[b], accuracy: 1e-4, "source \(b)")
            // The score is the sum of the token log-probabilities over the length.
            XCTAssertEqual(hypotheses[0].score, hypotheses[0].tokenLogProbabilities.reduce(0, +) / Float(hypotheses[0].ids.count), accuracy: 1e-5)
        }
    }

    func testCachedGreedyEqualsUncachedOnRandomInputs() throws {
        var generator = SeededGenerator(seed: 3)
        let V = model.config.vocabularySize
        for trial in 0..<5 {
            let sources = (0..<(1 + trial * 2)).map { _ in
                (0..<(1 + Int(generator.next() % 12))).map { _ in 1 + Int(generator.next() % UInt64(V - 2)) } + [model.config.eosId]
            }
            let cached = Generator(model: model).generate(sources: sources, options: SearchOptions(maxNewTokens: 15, maxLengthFactor: nil))
            let uncached = UncachedSearch.greedy(model: model, sources: sources, maxNewTokens: 15)
            XCTAssertEqual(cached.map { $0[0].ids }, uncached, "trial \(trial)")
        }
    }

    /// Batches spread over the threads whole (`generate(batches:)`) give what one batch after
    /// another with every product split across the threads gives, bit for bit: float32 packed, int8,
    /// greedy and beam.
    func testBatchesOnTheirOwnThreadsEqualBatchesOneAfterAnother() throws {
        var generator = SeededGenerator(seed: 11)
        let V = model.config.vocabularySize
        let batches = (0..<5).map { b in
            (0..<(1 + b * 3)).map { _ in
                (0..<(1 + Int(generator.next() % 14))).map { _ in 1 + Int(generator.next() % UInt64(V - 2)) } + [model.config.eosId]
            }
        }
        for (name, weights) in [("float32", model.packedForInference()), ("int8", try model.quantized())] {
            for beam in [1, 3] {
                let options = SearchOptions(beamSize: beam, nBest: beam, maxNewTokens: 12, maxLengthFactor: nil)
                let search = Generator(model: weights)
                let together = search.generate(batches: batches, options: options) { $0 }
                let oneByOne = batches.map { search.generate(sources: $0, options: options) }
                XCTAssertEqual(together, oneByOne, "\(name), beam \(beam)")
            }
        }
    }

    func testNBestIsSortedAndLimitsHold() throws {
        let sources = try self.sources()
        let options = SearchOptions(beamSize: 4, nBest: 3, maxNewTokens: 5, maxLengthFactor: nil, minNewTokens: 2)
        let output = Generator(model: model).generate(sources: sources, options: options)
        for hypotheses in output {
            XCTAssertEqual(hypotheses.count, 3)
            XCTAssertEqual(hypotheses.map(\.score), hypotheses.map(\.score).sorted(by: >))
            for h in hypotheses {
                XCTAssertLessThanOrEqual(h.ids.count, 5)
                XCTAssertFalse(h.ids.prefix(2).contains(model.config.eosId), "no EOS before the minimum length")
                XCTAssertFalse(h.ids.contains(model.config.padId), "search never emits pad")
            }
        }
        // A relative limit: at most ⌈0.5 × source length⌉ tokens.
        let short = Generator(model: model).generate(sources: sources, options: SearchOptions(maxLengthFactor: 0.5))
        for (source, hypotheses) in zip(sources, short) {
            XCTAssertLessThanOrEqual(hypotheses[0].ids.count, Int((0.5 * Double(source.count)).rounded(.up)))
        }
    }
}
