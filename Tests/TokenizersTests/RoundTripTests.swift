import Foundation
import TestSupport
import TextIO
import Tokenizers
import XCTest

/// decode(encode(x)) gives back x as normalized: NFKC(x), where Metaspace's "▁" (a space, or a
/// "▁" in the text itself) decodes to a space and the decoder strips one leading space. Nothing
/// collapses: every space is its own "▁".
final class RoundTripTests: XCTestCase {
    func vocabulary(_ name: String) throws -> Tokenizer {
        try Tokenizer(contentsOf: Fixtures.packageRoot.appendingPathComponent("vocab/\(name)"))
    }

    /// What decoding the encoding of `text` gives (for text without special tokens).
    func expected(_ text: String) -> String {
        // NFKC as compatibility decomposition + the standard library's composition: Foundation's
        // own NFKC is wrong on Linux for some inputs (see Normalizer.swift).
        let normalized = String(decoding: text.decomposedStringWithCompatibilityMapping._nfcCodeUnits, as: UTF8.self)
        var scalars = normalized.unicodeScalars.map { $0 == "▁" ? " " : $0 }
        if scalars.first == " " { scalars.removeFirst() }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars)
        return String(result)
    }

    func assertRoundTrips(_ lines: [String], _ tokenizer: Tokenizer, file: StaticString = #filePath, line: UInt = #line) {
        var failures = 0
        for text in lines {
            let ids = tokenizer.encode(text)
            let decoded = tokenizer.decode(ids)
            if Array(decoded.utf8) != Array(expected(text).utf8) || ids.contains(tokenizer.unkId) {
                failures += 1
                if failures <= 5 {
                    XCTFail("\(text.debugDescription) → \(ids) → \(decoded.debugDescription)", file: file, line: line)
                }
            }
        }
        XCTAssertEqual(failures, 0, "of \(lines.count) lines", file: file, line: line)
    }

    func corpusLines(_ name: String) throws -> [String] {
        guard let url = Fixtures.sharedCorpus(name) else { throw XCTSkip("../shared/corpora/\(name) is absent") }
        var lines: [String] = []
        TextLines.forEachLine(in: try Data(contentsOf: url), separator: UInt8(ascii: "\t"), { field, _ in
            lines.append(field)
        }, invalid: { number in XCTFail("\(name):\(number) is not UTF-8") })
        return lines
    }

    func testTatoebaLines() throws {
        let tokenizer = try vocabulary("tatoeba-en-fr-8k.json")
        assertRoundTrips(try corpusLines("tatoeba-eng-fra/train.tsv") + corpusLines("tatoeba-eng-fra/test.tsv"), tokenizer)
    }

    func testMulti30kLines() throws {
        let tokenizer = try vocabulary("multi30k-en-fr-8k.json")
        assertRoundTrips(try corpusLines("multi30k/train.en") + corpusLines("multi30k/train.fr")
            + corpusLines("multi30k/test_2016_flickr.fr"), tokenizer)
    }

    func testRandomUnicodeStrings() throws {
        let tokenizer = try vocabulary("tatoeba-en-fr-8k.json")
        // Kinds of text where encoders go wrong: spaces and their look-alikes, marks that compose
        // or reorder, compatibility forms, Hangul jamo, supplementary planes, controls.
        let pools: [[UInt32]] = [
            Array(0x20...0x7E), [0x20, 0x20, 0x20, 0x09, 0x0A, 0x2581, 0xA0, 0x202F, 0x3000],
            Array(0xA0...0x17F), Array(0x300...0x36F), [0x327, 0x301, 0x308, 0x345, 0x3099, 0x309A, 0x1D165, 0x1D167],
            Array(0xFB00...0xFB06), Array(0xFF01...0xFF9F), Array(0x1100...0x1112) + Array(0x1161...0x1175) + Array(0x11A8...0x11C2),
            Array(0xAC00...0xAC20), Array(0x3040...0x30FF), Array(0x4E00...0x4E40), Array(0x1F300...0x1F340),
            [0x10041, 0x11099, 0x110BA, 0x1D400, 0x2460, 0xBD, 0x212B, 0x1F71, 0x0], Array(0x01...0x1F),
        ]
        var random = SplitMix64(seed: 20261127)
        var lines: [String] = []
        for _ in 0..<20_000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<random.next(below: 24) {
                let pool = pools[random.next(below: pools.count)]
                scalars.append(Unicode.Scalar(pool[random.next(below: pool.count)])!)
            }
            let text = String(scalars)
            if !text.contains("<") { lines.append(text) }  // added tokens are tested on their own
        }
        assertRoundTrips(lines, tokenizer)
    }

    func testAddedTokensInsideText() throws {
        let tokenizer = try vocabulary("tatoeba-en-fr-8k.json")
        let ids = tokenizer.encode("a</s>b<pad>")
        XCTAssertEqual(ids.filter { $0 == tokenizer.eosId || $0 == tokenizer.padId }, [tokenizer.eosId, tokenizer.padId])
        // Each piece of text between added tokens gets its own "▁" (prepend_scheme "always").
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: false), "a</s> b<pad>")
        XCTAssertEqual(tokenizer.decode(ids), "a b")
    }

    func testSharedAcrossThreads() throws {
        let tokenizer = try vocabulary("tatoeba-en-fr-8k.json")
        let lines = try corpusLines("tatoeba-eng-fra/test.tsv")
        let fresh = try vocabulary("tatoeba-en-fr-8k.json")
        let expected = lines.map { fresh.encode($0) }
        let chunks = 4
        let results = UnsafeMutableBufferPointer<[[Int]]>.allocate(capacity: chunks)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            results[chunk] = stride(from: chunk, to: lines.count, by: chunks).map { tokenizer.encode(lines[$0]) }
        }
        for chunk in 0..<chunks {
            XCTAssertEqual(results[chunk], stride(from: chunk, to: lines.count, by: chunks).map { expected[$0] })
        }
    }
}

/// A small seeded generator (splitmix64), so the random test is the same on every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
