import Foundation
import Tensor
import TestSupport
import XCTest

/// `pytorch_model.bin` against what PyTorch and safetensors wrote for the same tensors, and the
/// archives and pickles that must be refused (Tests/Fixtures/scripts/make_pytorch_fixtures.py).
final class PyTorchCheckpointTests: XCTestCase {
    /// Bit-for-bit equal values and equal shapes, for every tensor of `expected`.
    func assertSameTensors(_ checkpoint: PyTorchCheckpoint, _ expected: SafeTensorsFile, file: StaticString = #filePath, line: UInt = #line) throws {
        for name in expected.names {
            XCTAssertEqual(try checkpoint.shape(name), try expected.shape(name), name, file: file, line: line)
            let entry = try expected.entry(name)
            if entry.dtype.isFloatingPoint {
                XCTAssertEqual(try checkpoint.floats(name).map(\.bitPattern), try expected.floats(name).map(\.bitPattern), name, file: file, line: line)
            } else {
                XCTAssertEqual(try checkpoint.int64s(name), try expected.int64s(name), name, file: file, line: line)
            }
            XCTAssertEqual(try checkpoint.entry(name).dtype, entry.dtype, name, file: file, line: line)
        }
    }

    func testOpusFixturesGiveTheTensorsOfTheirSafetensors() throws {
        for folder in ["opus-mt-tiny", "opus-mt-tiny-separate"] {
            let checkpoint = try PyTorchCheckpoint(contentsOf: Fixtures.url("\(folder)/pytorch/pytorch_model.bin"))
            let expected = try SafeTensorsFile(contentsOf: Fixtures.url("\(folder)/model.safetensors"))
            try assertSameTensors(checkpoint, expected)
            // What only the pickle has: the sinusoidal position tables and, tied, the copies
            // of the shared embedding that save_pretrained leaves out of safetensors.
            let extra = Set(checkpoint.names).subtracting(expected.names)
            XCTAssertTrue(extra.contains("model.encoder.embed_positions.weight"), folder)
            if folder == "opus-mt-tiny" {
                XCTAssertEqual(extra.count, 5)
                let shared = try checkpoint.entry("model.shared.weight").storageKey
                for name in ["lm_head.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"] {
                    XCTAssertEqual(try checkpoint.entry(name).storageKey, shared, "\(name) is tied to model.shared.weight")
                    XCTAssertEqual(try checkpoint.floats(name), try expected.floats("model.shared.weight"))
                }
            }
        }
    }

    func testDtypesStridesOffsetsAndSharedStorages() throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Fixtures.url("pytorch/checkpoint.bin"))
        let expected = try SafeTensorsFile(contentsOf: Fixtures.url("pytorch/expected.safetensors"))
        XCTAssertEqual(checkpoint.names, ["f32", "f32_transposed", "f32_slice", "f16", "bf16", "f64", "i64", "i32",
                                          "tied_a", "tied_b", "tied_view", "scalar", "empty"], "the state dict's order")
        XCTAssertEqual(Set(expected.names), Set(checkpoint.names))
        try assertSameTensors(checkpoint, expected)
        XCTAssertEqual(try checkpoint.entry("f32_transposed").strides, [1, 6])
        XCTAssertEqual(try checkpoint.entry("f32_slice").storageOffset, 8)
        XCTAssertEqual(try checkpoint.entry("tied_a").storageKey, try checkpoint.entry("tied_b").storageKey)
        XCTAssertEqual(try checkpoint.entry("tied_view").storageKey, try checkpoint.entry("tied_a").storageKey)
        XCTAssertEqual(try checkpoint.entry("scalar").shape, [])
        XCTAssertEqual(try checkpoint.floats("empty"), [])
        XCTAssertThrowsError(try checkpoint.floats("i64")) { XCTAssertTrue("\($0)".contains("not a floating-point tensor")) }
        XCTAssertThrowsError(try checkpoint.floats("nothing")) { XCTAssertTrue("\($0)".contains("no such tensor")) }
    }

    func assertRefused(_ data: Data, source: String = "model.bin", mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(OneLineError.problems(of: { try PyTorchCheckpoint(data: data, source: source) }, type: PyTorchCheckpointError.self,
                                             source: source, mentions: words), [], file: file, line: line)
    }

    func testRefusesForeignGlobalsOpcodesMissingStoragesAndBadArchives() throws {
        func fixture(_ name: String) throws -> Data { try Data(contentsOf: Fixtures.url("pytorch/\(name)")) }
        assertRefused(try fixture("foreign-global.bin"), mentions: ["data.pkl", "global os.system", "refused"])
        assertRefused(try fixture("unexpected-opcode.bin"), mentions: ["data.pkl", "EMPTY_LIST"])
        assertRefused(try fixture("missing-storage.bin"), mentions: ["storage data/0 is not in the archive"])
        assertRefused(try fixture("compressed.bin"), mentions: ["compressed"])
        let checkpoint = try fixture("checkpoint.bin")
        assertRefused(checkpoint.prefix(checkpoint.count / 2), mentions: ["not a zip archive"])
        assertRefused(checkpoint.prefix(3000), mentions: ["zip"])
        assertRefused(try Data(contentsOf: Fixtures.url("opus-mt-tiny/model.safetensors")), mentions: ["not a zip archive"])
        assertRefused(Data([0x80, 0x02, 0x8A, 0x0A]) + Data(repeating: 0, count: 40), mentions: ["legacy"])
        assertRefused(Data(), mentions: ["too short"])
    }

    func testReadingAMissingFileIsOneLine() {
        XCTAssertThrowsError(try PyTorchCheckpoint(contentsOf: URL(fileURLWithPath: "/nonexistent/pytorch_model.bin"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent/pytorch_model.bin: cannot read the file"), "\(error)")
        }
    }
}
