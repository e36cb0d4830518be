import Foundation
import TestSupport
import Tokenizers
import XCTest

/// Anything outside the subset of docs/formats.md is one clear line naming the file and the
/// component, never a tokenizer that silently encodes differently.
final class ErrorTests: XCTestCase {
    /// The fixture's JSON with one change made by `edit`.
    func fixture(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: FixtureTests.tokenizerURL)) as! [String: Any]
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    func assertError(_ data: Data, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Tokenizer(jsonData: data, source: "bad.json"), file: file, line: line) { error in
            let text = String(describing: error)
            XCTAssertTrue(error is TokenizerError, "\(type(of: error))", file: file, line: line)
            XCTAssertTrue(text.hasPrefix("bad.json: "), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
            for word in words { XCTAssertTrue(text.contains(word), "\(text) should mention \(word)", file: file, line: line) }
        }
    }

    func testUnsupportedComponentsAreNamed() throws {
        assertError(try fixture { $0["model"] = ["type": "Unigram", "vocab": []] }, mentions: ["model", "Unigram"])
        assertError(try fixture { $0["pre_tokenizer"] = ["type": "ByteLevel"] }, mentions: ["pre_tokenizer", "ByteLevel"])
        assertError(try fixture { $0["pre_tokenizer"] = NSNull() }, mentions: ["pre_tokenizer"])
        assertError(try fixture { $0["normalizer"] = ["type": "BertNormalizer"] }, mentions: ["normalizer", "BertNormalizer"])
        assertError(try fixture { $0["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFKC"], ["type": "StripAccents"]]] },
                    mentions: ["normalizer", "StripAccents"])
        assertError(try fixture { $0["decoder"] = ["type": "WordPiece"] }, mentions: ["decoder", "WordPiece"])
        assertError(try fixture { $0["post_processor"] = ["type": "TemplateProcessing"] }, mentions: ["post_processor", "TemplateProcessing"])
        assertError(try fixture { $0["truncation"] = ["max_length": 10] }, mentions: ["truncation"])
        assertError(try fixture {
            var model = $0["model"] as! [String: Any]
            model["dropout"] = 0.1
            $0["model"] = model
        }, mentions: ["model.dropout"])
        assertError(try fixture {
            var model = $0["model"] as! [String: Any]
            model["continuing_subword_prefix"] = "##"
            $0["model"] = model
        }, mentions: ["continuing_subword_prefix"])
        assertError(try fixture {
            var tokens = $0["added_tokens"] as! [[String: Any]]
            tokens[0]["lstrip"] = true
            $0["added_tokens"] = tokens
        }, mentions: ["added_tokens[0]", "lstrip"])
    }

    func testBrokenModelsAreNamed() throws {
        assertError(try fixture {
            var model = $0["model"] as! [String: Any]
            model["merges"] = [["o", "u"], ["q", "zzz"]]
            $0["model"] = model
        }, mentions: ["model.merges[1]", "zzz"])
        assertError(try fixture {
            var model = $0["model"] as! [String: Any]
            var vocab = model["vocab"] as! [String: Any]
            vocab["</s>"] = nil
            model["vocab"] = vocab
            $0["model"] = model
            $0["added_tokens"] = []
        }, mentions: ["</s>"])
        assertError(Data("{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 1,}}}".utf8), mentions: ["invalid JSON", "line 2"])
        assertError(Data("[1, 2]".utf8), mentions: ["object"])
    }

    func testMissingFileIsNamed() {
        XCTAssertThrowsError(try Tokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tokenizer.json"))) { error in
            XCTAssertEqual(String(describing: error).components(separatedBy: ": ").first, "/nonexistent/tokenizer.json")
        }
    }
}
