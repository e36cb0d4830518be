import Foundation
import Tensor
import TestSupport
import XCTest

/// docs/ROBUSTNESS.md, int8 model directories (`nmt export --dtype int8`): a broken scale tensor
/// is one line naming it, and the commands that change weights refuse an int8 model.
extension RobustnessTests {
    /// The good model exported to int8 (through the binary), then changed by `change`, which gets
    /// the tensors of its model.safetensors (F32 as floats, I8 as codes) and may edit them.
    func int8Model(_ change: (inout [String: (shape: [Int], floats: [Float]?, codes: [Int8]?)]) throws -> Void = { _ in }) throws -> String {
        let directory = scratch.appendingPathComponent("int8-\(UUID().uuidString.prefix(8))")
        let export = try NMTProcess.run(["export", Self.goodModel.path, "--output", directory.path, "--dtype", "int8"], timeout: 30)
        XCTAssertEqual(export.status, 0, export.standardError)
        let url = directory.appendingPathComponent("model.safetensors")
        let file = try SafeTensorsFile(contentsOf: url)
        var tensors: [String: (shape: [Int], floats: [Float]?, codes: [Int8]?)] = [:]
        for (name, entry) in file.entries {
            tensors[name] = entry.dtype == .i8 ? (entry.shape, nil, try file.int8s(name)) : (entry.shape, try file.floats(name), nil)
        }
        try change(&tensors)
        var writer = SafeTensorsWriter(dtype: .f32, metadata: file.metadata)
        for (name, tensor) in tensors {
            if let codes = tensor.codes { writer.add(name, shape: tensor.shape, int8: codes) } else { writer.add(name, shape: tensor.shape, values: tensor.floats!) }
        }
        try writer.write(to: url)
        return directory.path
    }

    static let scaleName = "model.encoder.layers.0.fc1.weight_scale"

    func testInt8ModelTranslates() throws {
        let model = try int8Model()
        for computeType in ["auto", "int8", "float32"] {
            let outcome = try expectSuccess(translate(["I am a student.", "--compute-type", computeType], model: model))
            XCTAssertFalse(outcome.standardOutput.isEmpty)
        }
        // The inspection commands run it too (attention and the embeddings read from the codes).
        for command in [["attention", "I am a student."], ["walkthrough", "I am a student."]] {
            XCTAssertFalse(try expectSuccess(command + ["--model", model]).standardOutput.isEmpty, command[0])
        }
        let evaluation = try expectSuccess(["evaluate", "--model", model, try file("t.tsv", "I am a student.\tJe suis étudiant.\n")])
        XCTAssertTrue(evaluation.standardOutput.contains("BLEU"), evaluation.standardOutput)
    }

    func testInt8ScaleMissing() throws {
        let model = try int8Model { $0[Self.scaleName] = nil }
        try expectFailure(translate(["x"], model: model), mentions: ["model.safetensors", Self.scaleName, "missing"])
    }

    func testInt8ScaleWronglyShaped() throws {
        for change in [{ (n: Int) in [n - 1] }, { [$0 + 1] }, { [$0, 1] }, { [1, $0] }] {
            var shape: [Int] = []
            let model = try int8Model { tensors in
                shape = change(tensors[Self.scaleName]!.shape[0])
                tensors[Self.scaleName] = (shape, [Float](repeating: 1, count: shape.reduce(1, *)), nil)
            }
            try expectFailure(translate(["x"], model: model), mentions: ["model.safetensors", Self.scaleName, "\(shape)"])
        }
    }

    func testInt8ScaleZeroNaNOrInfinite() throws {
        for bad in [Float(0), .nan, .infinity, -1] {
            let model = try int8Model { tensors in tensors[Self.scaleName]!.floats![3] = bad }
            try expectFailure(translate(["x"], model: model), mentions: ["model.safetensors", Self.scaleName, "row 3"])
            try expectFailure(["evaluate", "--model", model, try file("r.tsv", "I am a student.\tJe suis étudiant.\n")],
                              mentions: [Self.scaleName])
        }
    }

    func testInt8CodesNotInt8() throws {
        let name = "model.encoder.layers.0.fc1.weight"
        let model = try int8Model { tensors in
            let codes = tensors[name]!.codes!
            tensors[name] = (tensors[name]!.shape, codes.map(Float.init), nil)
        }
        try expectFailure(translate(["x"], model: model), mentions: ["model.safetensors", name, "F32"])
    }

    func testInt8ModelRefusedForTrainingAndAveraging() throws {
        let model = try int8Model()
        let corpus = try file("c.tsv", "I am a student.\tJe suis étudiant.\n")
        try expectFailure(["train", "--from", model, "--train", corpus, "--output", output("run"), "--epochs", "1"], mentions: [model, "int8"])
        try expectFailure(["average", model, Self.goodModel.path, "--output", output("average")], mentions: [model, "int8"])
    }
}
