import Foundation
import TestSupport
import Tokenizers
import XCTest

/// The OPUS-MT fixtures (made by transformers 5.24's MarianTokenizer and sentencepiece): every
/// `tokenize` case gives the same ids, every `generate` case's ids decode to its text.
final class MarianTokenizerTests: XCTestCase {
    static let folders = ["opus-mt-tiny", "opus-mt-tiny-separate"]

    func expected(_ folder: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Fixtures.url("\(folder)/expected.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func testEveryTokenizeCaseGivesTransformersIds() throws {
        for folder in Self.folders {
            let tokenizer = try MarianTokenizer(directory: Fixtures.url(folder))
            let cases = try expected(folder)["tokenize"] as! [[String: Any]]
            XCTAssertEqual(cases.count, 80, folder)
            for item in cases {
                let text = item["text"] as! String
                XCTAssertEqual(tokenizer.encodeSource(text), item["ids"] as! [Int], "\(folder): \(text.debugDescription)")
            }
        }
    }

    func testGeneratedIdsDecodeToTransformersText() throws {
        for folder in Self.folders {
            let tokenizer = try MarianTokenizer(directory: Fixtures.url(folder))
            let cases = try expected(folder)["generate"] as! [[String: Any]]
            XCTAssertFalse(cases.isEmpty)
            for item in cases {
                for search in ["greedy", "beam4"] {
                    XCTAssertEqual(tokenizer.decodeTarget(item["\(search)_ids"] as! [Int]), item["\(search)_text"] as! String,
                                   "\(folder) \(search): \(item["source"]!)")
                }
            }
        }
    }

    /// Random texts (special and language tokens, odd spacing and scripts mixed in) as source and
    /// as target, and random ids decoded with and without special tokens, against transformers
    /// (Tests/Fixtures/scripts/make_marian_cases.py).
    func testRandomCasesGiveTransformersIdsAndTexts() throws {
        for folder in Self.folders {
            let tokenizer = try MarianTokenizer(directory: Fixtures.url(folder))
            let data = try Data(contentsOf: Fixtures.url("marian-cases/\(folder).json"))
            let cases = try JSONSerialization.jsonObject(with: data) as! [String: [[String: Any]]]
            var differences: [String] = []
            for item in cases["encode"]! {
                let text = item["text"] as! String
                if tokenizer.encodeSource(text) != item["source"] as! [Int] { differences.append("source \(text.debugDescription)") }
                if tokenizer.encodeTarget(text) != item["target"] as! [Int] { differences.append("target \(text.debugDescription)") }
            }
            for item in cases["decode"]! {
                let ids = item["ids"] as! [Int]
                if tokenizer.decodeTarget(ids) != item["skip"] as! String { differences.append("decode \(ids)") }
                if tokenizer.decodeTarget(ids, skipSpecialTokens: false) != item["keep"] as! String {
                    differences.append("decode with special tokens \(ids): \(tokenizer.decodeTarget(ids, skipSpecialTokens: false).debugDescription) vs \((item["keep"] as! String).debugDescription)")
                }
            }
            XCTAssertEqual(cases["encode"]!.count + cases["decode"]!.count, 1000)
            XCTAssertEqual(differences, [], folder)
        }
    }

    func testSpecialIdsAndVocabularies() throws {
        let shared = try MarianTokenizer(directory: Fixtures.url("opus-mt-tiny"))
        XCTAssertEqual([shared.eosId, shared.unkId, shared.padId], [0, 1, 1073])
        XCTAssertEqual(shared.sourceVocabularySize, 1074)
        XCTAssertEqual(shared.targetVocabularySize, 1074)
        XCTAssertFalse(shared.separateVocabularies)
        XCTAssertEqual(shared.sourcePiece(for: 1073), "<pad>")
        XCTAssertEqual([shared.sourceLanguage, shared.targetLanguage], ["en", "fr"])

        let separate = try MarianTokenizer(directory: Fixtures.url("opus-mt-tiny-separate"))
        XCTAssertTrue(separate.separateVocabularies)
        XCTAssertEqual([separate.eosId, separate.unkId, separate.padId], [0, 1, 499])
        XCTAssertEqual(separate.sourceVocabularySize, 500)
        XCTAssertEqual(separate.targetVocabularySize, 500)
        XCTAssertNotEqual(separate.sourcePiece(for: 5), separate.targetPiece(for: 5), "the two vocabularies differ")
        XCTAssertTrue(separate.isSpecial(499) && separate.isSpecial(0) && !separate.isSpecial(5))
    }

    /// A language token is cut off whole (it maps to `<unk>` here: these vocabularies have none),
    /// at the start of the text and after an added token, as transformers does.
    func testLanguageTokensAreOneToken() throws {
        let tokenizer = try MarianTokenizer(directory: Fixtures.url("opus-mt-tiny"))
        let tokens = tokenizer.sourceTokens(">>fra<< I am a student.")
        XCTAssertEqual(tokens.first?.piece, ">>fra<<")
        XCTAssertEqual(tokens.first?.id, tokenizer.unkId)
        XCTAssertEqual(Array(tokenizer.encodeSource(">>fra<< I am a student.").dropFirst()), tokenizer.encodeSource("I am a student."))
        XCTAssertEqual(tokenizer.sourceTokens("</s>>>de<<x").map(\.piece).prefix(2), ["</s>", ">>de<<"])
        XCTAssertNotEqual(tokenizer.sourceTokens("a >>de<<").last?.piece, ">>de<<", "only at the start of a run")
    }

    /// Decoding keeps special tokens when asked, and a target text encodes through target.spm
    /// (the expected values are what transformers 5.24 gives).
    func testDecodingWithSpecialTokensAndTargetEncoding() throws {
        let tokenizer = try MarianTokenizer(directory: Fixtures.url("opus-mt-tiny-separate"))
        let ids = tokenizer.encodeTarget("Je suis étudiant.")
        XCTAssertEqual(ids, [12, 74, 3, 13, 54, 162, 83, 2, 0], "transformers 5.24: tokenizer(text_target=…)")
        XCTAssertEqual(tokenizer.decodeTarget(ids), "Je suis étudiant.")
        XCTAssertEqual(tokenizer.decodeTarget([tokenizer.padId] + ids, skipSpecialTokens: false), "<pad> Je suis étudiant.</s>")
    }
}
