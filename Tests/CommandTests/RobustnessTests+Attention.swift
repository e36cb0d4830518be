import Foundation
import XCTest

/// docs/ROBUSTNESS.md, nmt attention: the model directory, the sentence, the options, --svg.
extension RobustnessTests {
    func attention(_ arguments: [String], model: String? = nil) -> [String] {
        ["attention", "--model", model ?? Self.goodModel.path] + arguments
    }

    func testAttentionBrokenModels() throws {
        try expectFailure(attention(["x"], model: try modelWithout("tokenizer.json")), mentions: ["tokenizer.json"])
        try expectFailure(attention(["x"], model: try modelWithTruncatedWeights()), mentions: ["model.safetensors"])
        try expectFailure(attention(["x"], model: try modelWithConfig(["activation_function": "tanhh"])), mentions: ["activation_function"])
        try expectFailure(attention(["x"], model: try modelWithLargerTokenizer()), mentions: ["tokenizer.json"])
    }

    func testAttentionEmptySentence() throws {
        try expectFailure(attention([""]), mentions: ["empty"])
    }

    /// The sentence is an argument, and Linux takes at most 128 KiB in one: 100 KB stands in for
    /// the 1 MB line.
    func testAttentionLongSentence() throws {
        let outcome = try expectSuccess(attention([String(Self.megabyteLine.prefix(100_000)), "--align", "--beam", "1"]))
        XCTAssertEqual(lines(outcome.standardError).count, 1, "one warning: \(outcome.standardError)")
    }

    func testAttentionOutOfRangeOptions() throws {
        for (option, value) in [("--beam", "0"), ("--threads", "0"), ("--precision", "-1"), ("--layer", "-1"), ("--head", "-2")] {
            try expectFailure(attention(["I am a student.", "\(option)=\(value)"]), mentions: [option])
        }
        // Past the model's layers and heads: the message names the layer or head and the ones there are.
        try expectFailure(attention(["I am a student.", "--layer", "7"]), mentions: ["layer 7", "layers 0"])
        try expectFailure(attention(["I am a student.", "--head", "9"]), mentions: ["head 9", "heads 0–1"])
    }

    func testAttentionSVGIntoMissingDirectory() throws {
        let path = scratch.appendingPathComponent("no-such-dir/a.svg").path
        try expectFailure(attention(["I am a student.", "--svg", path]), mentions: [path])
    }
}
