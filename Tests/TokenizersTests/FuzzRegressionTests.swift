import Foundation
import TestSupport
import Tokenizers
import XCTest

/// What scripts/fuzz.sh found in the tokenizer.json reader, kept as tests: the inputs it saved
/// (Tests/Fuzz/regressions/tokenizer-*.json) and hand-made cases of the same flaw.
final class FuzzRegressionTests: XCTestCase {
    static let walkthrough = Fixtures.packageRoot.appendingPathComponent("vocab/walkthrough.json")
    static let regressions = Fixtures.packageRoot.appendingPathComponent("Tests/Fuzz/regressions")

    /// The fuzz target's property: a tokenizer.json either fails with one line, or loads, and what
    /// `jsonData()` writes loads again and encodes the same.
    func assertFailsInOneLineOrRoundTrips(_ data: Data, source: String) throws -> TokenizerError? {
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(jsonData: data, source: source) } catch let error as TokenizerError {
            XCTAssertFalse(error.description.contains("\n"), error.description)
            XCTAssertTrue(error.description.hasPrefix("\(source): "), error.description)
            return error
        }
        let reread = try Tokenizer(jsonData: tokenizer.jsonData(), source: "written")
        XCTAssertEqual(reread.vocabularySize, tokenizer.vocabularySize)
        for text in ["I am a student.", "You are here. <pad> </s>", "  é☃ ab"] {
            XCTAssertEqual(reread.encode(text), tokenizer.encode(text), text)
        }
        return nil
    }

    func testSavedFuzzInputsFailInOneLineOrRoundTrip() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.regressions.path).filter { $0.hasPrefix("tokenizer-") }.sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            _ = try assertFailsInOneLineOrRoundTrips(Data(contentsOf: Self.regressions.appendingPathComponent(name)), source: name)
        }
    }

    /// The first find: an added token "<pad>" with the id of "You" (346) while the vocabulary
    /// gives "<pad>" 399. It loaded, "<pad>" took id 346 from "You", and the file written back had
    /// a merge ["▁", "<pad>"] whose result "▁<pad>" is in no vocabulary, so it did not load.
    func testTheFoundInputIsRefusedNamingTheAddedToken() throws {
        let name = "tokenizer-added-token-takes-the-id-of-another-piece.json"
        let error = try XCTUnwrap(assertFailsInOneLineOrRoundTrips(Data(contentsOf: Self.regressions.appendingPathComponent(name)), source: name))
        XCTAssertEqual(error.description, "\(name): added_tokens[2] \"<pad>\": id 346, but model.vocab gives it id 399")
    }

    /// The walkthrough vocabulary with its added tokens replaced by `tokens` (content, id).
    func walkthrough(addedTokens tokens: [(String, Int)]) throws -> Data {
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.walkthrough)) as? [String: Any])
        object["added_tokens"] = tokens.map { content, id in
            ["id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true] as [String: Any]
        }
        return try JSONSerialization.data(withJSONObject: object)
    }

    func testAddedTokensMustAgreeWithTheVocabulary() throws {
        let specials = [("</s>", 0), ("<unk>", 1), ("<pad>", 399)]
        let cases: [(tokens: [(String, Int)], message: String)] = [
            ([("</s>", 0), ("<unk>", 1), ("<pad>", 346)], "added_tokens[2] \"<pad>\": id 346, but model.vocab gives it id 399"),
            (specials + [("<extra>", 346)], "added_tokens[3] \"<extra>\": id 346 is \"You\" in model.vocab"),
            (specials + [("<a>", 400), ("<b>", 400)], "added_tokens[4] \"<b>\": id 400 is also added_tokens[3] \"<a>\""),
        ]
        for (tokens, message) in cases {
            let error = try XCTUnwrap(assertFailsInOneLineOrRoundTrips(try walkthrough(addedTokens: tokens), source: "bad.json"))
            XCTAssertEqual(error.description, "bad.json: \(message)")
        }
        // Consistent files still load: tokens past the vocabulary, and the same token listed twice.
        let extra = try walkthrough(addedTokens: specials + [("<extra>", 400), ("<pad>", 399)])
        XCTAssertNil(try assertFailsInOneLineOrRoundTrips(extra, source: "extra.json"))
        XCTAssertEqual(try Tokenizer(jsonData: extra).encode("a <extra> b").filter { $0 == 400 }.count, 1)
    }
}
