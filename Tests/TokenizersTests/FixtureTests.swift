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
