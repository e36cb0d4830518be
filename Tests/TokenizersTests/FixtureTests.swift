import Foundation
import TestSupport
import Tokenizers
import XCTest

/// The golden cases of Tests/Fixtures/bpe-tatoeba-4k: ids, tokens and decoded text that Hugging
/// Face tokenizers produced for tricky strings.
final class FixtureTests: XCTestCase {
    struct Case: Decodable {
        var text: String
        var ids: [Int]
        var tokens: [String]
        var decoded: String
    }

    static let tokenizerURL = Fixtures.url("bpe-tatoeba-4k/tokenizer.json")

    func loadCases() throws -> [Case] {
        try JSONDecoder().decode([Case].self, from: Data(contentsOf: Fixtures.url("bpe-tatoeba-4k/cases.json")))
    }

    func testEveryCaseMatchesTokenizers() throws {
        let tokenizer = try Tokenizer(contentsOf: Self.tokenizerURL)
        let cases = try loadCases()
        XCTAssertEqual(cases.count, 23)
        for item in cases {
            let (ids, pieces) = tokenizer.encodeWithPieces(item.text)
            XCTAssertEqual(ids, item.ids, "ids of \(item.text.debugDescription)")
            // Byte for byte: XCTAssertEqual on Strings would accept canonically equivalent text.
            XCTAssertEqual(pieces.map { Array($0.utf8) }, item.tokens.map { Array($0.utf8) }, "tokens of \(item.text.debugDescription)")
            // The fixture decodes with skip_special_tokens=False (its "</s>" case keeps the token).
            let decoded = tokenizer.decode(item.ids, skipSpecialTokens: false)
            XCTAssertEqual(Array(decoded.utf8), Array(item.decoded.utf8), "decoded \(item.text.debugDescription): \(decoded.debugDescription)")
        }
    }

    /// NFKC as tokenizers 0.23.3 computes it (`normalizers.NFKC().normalize_str`), with its Unicode
    /// 9.0 tables, on inputs where Foundation's NFKC on Linux or today's tables give other text.
    func testNormalizationMatchesTokenizers() throws {
        let tokenizer = try Tokenizer(contentsOf: Self.tokenizerURL)
        let cases: [(String, [UInt32])] = [
            ("a\u{1DF6}\u{308}", [0x61, 0x1DF6, 0x308]),  // U+1DF6 is from Unicode 10: unknown, blocks
            ("a\u{1E94A}\u{308}", [0xE4, 0x1E94A]),  // U+1E94A is from 9.0: a mark of class 7
            ("\u{32FF}", [0x32FF]),  // from 12.1: no compatibility mapping yet
            ("x\u{D3B}\u{301}y", [0x78, 0xD3B, 0x301, 0x79]),
            ("\u{FF76}\u{FF9E}", [0x30AC]),  // the mark from a compatibility mapping composes
            ("a\u{10041}\u{308}", [0x61, 0x10041, 0x308]),  // no "Ä" from U+10041's low bits
            ("\u{AC00}\u{11A8}", [0xAC01]),  // Hangul LV + T
            ("\u{11099}\u{110BA}", [0x1109A]),
        ]
        for (text, scalars) in cases {
            let decoded = tokenizer.decode(tokenizer.encode(text))
            XCTAssertEqual(decoded.unicodeScalars.map(\.value), scalars, text.debugDescription)
        }
    }

    func testSpecialTokensAndSizes() throws {
        let tokenizer = try Tokenizer(contentsOf: Self.tokenizerURL)
        XCTAssertEqual(tokenizer.vocabularySize, 4000)
        XCTAssertEqual(tokenizer.eosId, 0)
        XCTAssertEqual(tokenizer.unkId, 1)
        XCTAssertEqual(tokenizer.padId, 3999)
        XCTAssertEqual(tokenizer.piece(for: 2), "<0x00>")
        XCTAssertEqual(tokenizer.id(for: "▁stud"), 1248)
        XCTAssertNil(tokenizer.id(for: "no such piece"))
        XCTAssertNil(tokenizer.piece(for: 4000))
        // Skipping special tokens, as tokenizers' decode does by default.
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("</s> is")), "is")
    }
}

/// tokenizer.json written by `jsonData()` reads back to the same tokenizer.
final class FileRoundTripTests: XCTestCase {
    func testWrittenFileReadsBackAndEncodesTheSame() throws {
        let original = try Tokenizer(contentsOf: FixtureTests.tokenizerURL)
        let data = try original.jsonData()
        let copy = try Tokenizer(jsonData: data, source: "copy")
        for text in ["I am a student.", "ﬀ ﬃ ㎏ ½", "東京へ行きます。", "  two  spaces ", "</s> and <pad>"] {
            XCTAssertEqual(copy.encode(text), original.encode(text), text)
            XCTAssertEqual(copy.decode(copy.encode(text)), original.decode(original.encode(text)), text)
        }
        // The same tokenizer always gives the same bytes.
        XCTAssertEqual(try copy.jsonData(), data)
    }

    func testWriteReplacesTheFileWhole() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("tokenizer.json")
        try Data("old".utf8).write(to: url)
        let tokenizer = try Tokenizer(contentsOf: FixtureTests.tokenizerURL)
        try tokenizer.write(to: url)
        XCTAssertEqual(try Data(contentsOf: url), try tokenizer.jsonData())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["tokenizer.json"])
    }

    func testMergesInTheOlderStringFormAndPiecesThatDifferOnlyInComposition() throws {
        // "é" precomposed and decomposed are different pieces (String equality would merge them).
        let json = """
        {"added_tokens": [{"id": 0, "content": "</s>", "special": true}, {"id": 6, "content": "<pad>", "special": true}],
         "normalizer": null,
         "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
         "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"},
         "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true,
                   "vocab": {"</s>": 0, "<unk>": 1, "▁": 2, "\\u00e9": 3, "e\\u0301": 4, "▁\\u00e9": 5, "<pad>": 6, "e": 7, "\\u0301": 8},
                   "merges": ["▁ \\u00e9", "e \\u0301"]}}
        """
        let tokenizer = try Tokenizer(jsonData: Data(json.utf8))
        XCTAssertEqual(tokenizer.encode("\u{E9} e\u{301}"), [5, 2, 4])
        XCTAssertEqual(tokenizer.id(for: "e\u{301}"), 4)
        XCTAssertEqual(tokenizer.id(for: "\u{E9}"), 3)
        XCTAssertEqual(tokenizer.decode([5, 2, 4]), "\u{E9} e\u{301}")
        XCTAssertEqual(tokenizer.encode("x"), [2, 1], "no byte fallback: <unk>")
    }
}
