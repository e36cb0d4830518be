import Foundation
import TestSupport
import Tokenizers
import XCTest

/// Broken SentencePiece models and Marian folders: one line naming the file and what is wrong.
final class SentencePieceErrorTests: XCTestCase {
    func assertError(_ make: () throws -> Any, source: String, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(OneLineError.problems(of: make, type: TokenizerError.self, source: source, mentions: words), [], file: file, line: line)
    }

    func assertModelError(_ bytes: [UInt8], mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertError({ try SentencePieceModel(serialized: bytes, source: "bad.spm") }, source: "bad.spm", mentions: words, file: file, line: line)
    }

    func testTruncatedAndNonProtobufFiles() throws {
        let model = try [UInt8](Data(contentsOf: Fixtures.url("opus-mt-tiny/source.spm")))
        assertModelError(Array(model.prefix(model.count / 2)), mentions: ["not a SentencePiece model", "truncated"])
        assertModelError(Array(model.prefix(5000)), mentions: ["not a SentencePiece model"])
        assertModelError(Array(model.prefix(3)), mentions: ["not a SentencePiece model"])
        assertModelError([], mentions: ["no trainer_spec"])
        assertModelError(try [UInt8](Data(contentsOf: Fixtures.url("opus-mt-tiny/vocab.json"))), mentions: ["not a SentencePiece model"])
        assertModelError(Array("hello, world\n".utf8), mentions: ["not a SentencePiece model"])
        assertModelError(try [UInt8](Data(contentsOf: Fixtures.url("opus-mt-tiny/pytorch/pytorch_model.bin"))), mentions: ["not a SentencePiece model"])
        assertError({ try SentencePieceModel(contentsOf: URL(fileURLWithPath: "missing/source.spm")) },
                    source: "missing/source.spm", mentions: ["cannot read the file"])
    }

    // MARK: Models that parse but that SentencePiece would not load

    /// A serialized ModelProto: pieces (text, score, type), trainer_spec fields, normalizer_spec.
    func model(_ pieces: [(String, Float, Int)], modelType: Int = 1, byteFallback: Bool = false, charsmap: [UInt8] = []) -> [UInt8] {
        func varint(_ value: Int) -> [UInt8] {
            var value = UInt64(bitPattern: Int64(value)), bytes: [UInt8] = []
            repeat {
                bytes.append(UInt8(value & 0x7F) | (value > 0x7F ? 0x80 : 0))
                value >>= 7
            } while value != 0
            return bytes
        }
        func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] { varint(number << 3 | 2) + varint(payload.count) + payload }
        func number(_ number: Int, _ value: Int) -> [UInt8] { varint(number << 3) + varint(value) }
        var bytes: [UInt8] = []
        for (text, score, type) in pieces {
            let scoreBits = score.bitPattern
            bytes += field(1, field(1, Array(text.utf8)) + [2 << 3 | 5] + (0..<4).map { UInt8(truncatingIfNeeded: scoreBits >> (8 * $0)) } + number(3, type))
        }
        bytes += field(2, number(3, modelType) + number(35, byteFallback ? 1 : 0))
        bytes += field(3, field(1, Array("identity".utf8)) + (charsmap.isEmpty ? [] : field(2, charsmap)))
        return bytes
    }

    func testPieceTablesSentencePieceWouldRefuse() throws {
        let valid: [(String, Float, Int)] = [("<unk>", 0, 2), ("<s>", 0, 3), ("▁a", -1, 1), ("b", -2, 1)]
        XCTAssertEqual(try SentencePieceModel(serialized: model(valid)).encode("a b"), [2, 0, 3], "the hand-made model works")
        assertModelError(model([("<s>", 0, 3), ("a", -1, 1)]), mentions: ["no piece of type UNKNOWN"])
        assertModelError(model(valid + [("<u2>", 0, 2)]), mentions: ["both of type UNKNOWN"])
        assertModelError(model(valid + [("b", -3, 1)]), mentions: ["piece 4 \"b\" is already piece 3"])
        assertModelError(model(valid + [("", -3, 1)]), mentions: ["piece 4 is empty"])
        assertModelError(model(valid + [("<0x41>", 0, 6)]), mentions: ["byte piece 4", "byte_fallback is false"])
        assertModelError(model(valid + [("<0x41>", 0, 6)], byteFallback: true), mentions: ["no byte piece <0x00>"])
        assertModelError(model(valid + [("<0xZZ>", 0, 6)], byteFallback: true), mentions: ["is not <0x00>"])
        assertModelError(model([("<unk>", 0, 2), ("<s>", 0, 3)]), mentions: ["no pieces to segment with"])
        assertModelError(model(valid, modelType: 3), mentions: ["model_type WORD is not supported"])
        assertModelError(model(valid, modelType: 4), mentions: ["model_type CHAR is not supported"])
        assertModelError(model(valid, charsmap: [8, 0, 0, 0, 1, 2]), mentions: ["precompiled_charsmap", "a trie of 8 bytes"])
        assertModelError(model(valid, charsmap: [0, 0, 0, 0, 1, 2]), mentions: ["precompiled_charsmap", "empty trie"])
        assertModelError(model(valid, charsmap: [4, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0]), mentions: ["precompiled_charsmap", "past its"])
    }

    // MARK: Marian folders

    /// A copy of an OPUS-MT fixture folder with `edit` applied.
    func folder(_ name: String, _ edit: (URL) throws -> Void) throws -> URL {
        let copy = try Fixtures.temporaryDirectory("marian").appendingPathComponent(name)
        try FileManager.default.copyItem(at: Fixtures.url(name), to: copy)
        try edit(copy)
        return copy
    }

    /// Rewrites a JSON file of the folder.
    func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    func testVocabularyWithoutSpecialTokens() throws {
        for token in ["</s>", "<unk>", "<pad>"] {
            let directory = try folder("opus-mt-tiny") { try editJSON($0.appendingPathComponent("vocab.json")) { $0[token] = nil } }
            assertError({ try MarianTokenizer(directory: directory) }, source: directory.appendingPathComponent("vocab.json").relativePath,
                        mentions: ["no \"\(token)\"", "</s>, <unk> and <pad>"])
        }
        let separate = try folder("opus-mt-tiny-separate") { try editJSON($0.appendingPathComponent("target_vocab.json")) { $0["<pad>"] = nil } }
        assertError({ try MarianTokenizer(directory: separate) }, source: separate.appendingPathComponent("target_vocab.json").relativePath,
                    mentions: ["no \"<pad>\""])
    }

    func testBrokenMarianFolders() throws {
        let badId = try folder("opus-mt-tiny") { try editJSON($0.appendingPathComponent("vocab.json")) { $0["▁a"] = -3 } }
        assertError({ try MarianTokenizer(directory: badId) }, source: badId.appendingPathComponent("vocab.json").relativePath,
                    mentions: ["\"▁a\"", "not a non-negative whole number"])
        let notJSON = try folder("opus-mt-tiny") { try Data("{\"a\": 1,".utf8).write(to: $0.appendingPathComponent("vocab.json")) }
        assertError({ try MarianTokenizer(directory: notJSON) }, source: notJSON.appendingPathComponent("vocab.json").relativePath,
                    mentions: ["invalid JSON at line 1"])
        let noTarget = try folder("opus-mt-tiny-separate") { try FileManager.default.removeItem(at: $0.appendingPathComponent("target_vocab.json")) }
        assertError({ try MarianTokenizer(directory: noTarget) }, source: noTarget.appendingPathComponent("target_vocab.json").relativePath,
                    mentions: ["cannot read the file"])
        let otherClass = try folder("opus-mt-tiny") {
            try editJSON($0.appendingPathComponent("tokenizer_config.json")) { $0["tokenizer_class"] = "T5Tokenizer" }
        }
        assertError({ try MarianTokenizer(directory: otherClass) }, source: otherClass.appendingPathComponent("tokenizer_config.json").relativePath,
                    mentions: ["tokenizer_class is \"T5Tokenizer\""])
        let moved = try folder("opus-mt-tiny-separate") {
            try editJSON($0.appendingPathComponent("target_vocab.json")) { vocabulary in
                let pad = vocabulary["<pad>"]!
                vocabulary["<pad>"] = vocabulary["▁a"] ?? 7
                vocabulary["▁a"] = pad
            }
        }
        assertError({ try MarianTokenizer(directory: moved) }, source: moved.appendingPathComponent("target_vocab.json").relativePath,
                    mentions: ["\"<pad>\"", "both sides need one id"])
        let truncated = try folder("opus-mt-tiny") { url in
            let model = try Data(contentsOf: url.appendingPathComponent("target.spm"))
            try model.prefix(1000).write(to: url.appendingPathComponent("target.spm"))
        }
        assertError({ try MarianTokenizer(directory: truncated) }, source: truncated.appendingPathComponent("target.spm").relativePath,
                    mentions: ["not a SentencePiece model"])
    }
}
