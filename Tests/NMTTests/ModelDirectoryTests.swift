import Foundation
import NMT
import Tensor
import TestSupport
import XCTest

final class ModelDirectoryTests: XCTestCase {
    let fixture = Fixtures.url("marian-tiny")

    func testSaveAndReloadKeepsEveryTensorAndConfigKey() throws {
        let model = try ModelDirectory.loadModel(from: fixture)
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ModelDirectory.save(model, to: directory)
        let reloaded = try ModelDirectory.loadModel(from: directory)
        XCTAssertEqual(model.parameters.entries, reloaded.parameters.entries)
        for entry in model.parameters.entries {
            XCTAssertEqual(model.parameters.values(of: entry.name), reloaded.parameters.values(of: entry.name), entry.name)
        }
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.appendingPathComponent("config.json"))) as! [String: Any]
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertTrue(Set(original.keys).isSubset(of: Set(saved.keys)), "missing: \(Set(original.keys).subtracting(saved.keys))")
        for key in ["d_model", "vocab_size", "activation_function", "transformers_version", "dtype", "init_std"] {
            XCTAssertEqual("\(original[key]!)", "\(saved[key]!)", key)
        }
        let generation = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("generation_config.json"))) as! [String: Any]
        XCTAssertEqual(generation["bad_words_ids"] as? [[Int]], [[52]], "transformers must never generate the pad token")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testHalfPrecisionSaveStaysClose() throws {
        let model = try ModelDirectory.loadModel(from: fixture)
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ModelDirectory.save(model, to: directory, weightType: .f16)
        let reloaded = try ModelDirectory.loadModel(from: directory)
        let a = model.parameters.values(of: "model.shared.weight"), b = reloaded.parameters.values(of: "model.shared.weight")
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: abs(x) * 1e-3 + 1e-6) }
    }

    /// A copy of the fixture with config.json edited by `change`.
    func directoryWithConfig(_ change: (inout [String: Any]) -> Void) throws -> URL {
        let directory = try Fixtures.temporaryDirectory()
        for file in ["model.safetensors"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.appendingPathComponent("config.json"))) as! [String: Any]
        change(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
        return directory
    }

    func assertLoadFails(_ change: (inout [String: Any]) -> Void, mentioning text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = try directoryWithConfig(change)
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try ModelDirectory.loadModel(from: directory), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(text), "“\(message)” should mention \(text)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line", file: file, line: line)
        }
    }

    func testConfigErrorsNameTheKey() throws {
        try assertLoadFails({ $0.removeValue(forKey: "d_model") }, mentioning: "'d_model' is missing")
        try assertLoadFails({ $0["d_model"] = "32" }, mentioning: "'d_model' should be an integer")
        try assertLoadFails({ $0["d_model"] = true }, mentioning: "'d_model' should be an integer")
        try assertLoadFails({ $0["scale_embedding"] = 1 }, mentioning: "'scale_embedding' should be true or false")
        try assertLoadFails({ $0["activation_function"] = "tanh" }, mentioning: "activation_function \"tanh\"")
        try assertLoadFails({ $0["model_type"] = "bart" }, mentioning: "model_type \"bart\"")
        try assertLoadFails({ $0["encoder_attention_heads"] = 5 }, mentioning: "encoder_attention_heads 5")
        try assertLoadFails({ $0["tie_word_embeddings"] = false }, mentioning: "lm_head.weight is missing (config.json: tie_word_embeddings false")
        try assertLoadFails({ $0["pad_token_id"] = 53 }, mentioning: "pad_token_id 53")
        // A vocabulary that disagrees with the embedding matrix names the tensor and both shapes.
        try assertLoadFails({ $0["vocab_size"] = 60; $0["decoder_vocab_size"] = 60 }, mentioning: "model.shared.weight has shape [53, 32]")
    }

    func testMissingFilesAreNamed() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try ModelDirectory.loadModel(from: directory)) { XCTAssertTrue("\($0)".contains("config.json: missing")) }
        XCTAssertThrowsError(try ModelDirectory.loadModel(from: directory.appendingPathComponent("nope"))) {
            XCTAssertTrue("\($0)".contains("no such model directory"))
        }
        try FileManager.default.copyItem(at: fixture.appendingPathComponent("config.json"), to: directory.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try ModelDirectory.loadModel(from: directory)) { XCTAssertTrue("\($0)".contains("model.safetensors: missing")) }
        // A truncated weights file is an error naming the file, not a crash.
        let weights = try Data(contentsOf: fixture.appendingPathComponent("model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: directory.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelDirectory.loadModel(from: directory)) { XCTAssertTrue("\($0)".contains("model.safetensors")) }
    }
}
