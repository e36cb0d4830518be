import Foundation
import TestSupport
import XCTest

/// The English→French model that ships in models/en-fr, used by default, from wherever the user
/// runs nmt.
final class ShippedModelTests: XCTestCase {
    func testTranslatesTheWalkthroughSentenceFromAnyDirectory() throws {
        let elsewhere = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let outcome = try NMTProcess.run(["translate", "I am a student."], currentDirectory: elsewhere, timeout: 30)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(outcome.standardOutput, "Je suis étudiant.\n")
    }

    func testShippedModelIsHalfPrecisionAndSmall() throws {
        let weights = Fixtures.packageRoot.appendingPathComponent("models/en-fr/model.safetensors")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? Int)
        XCTAssertLessThanOrEqual(size, 20_000_000, "at most 20 MB")
        // The header names F16 for the weight matrices.
        let handle = try FileHandle(forReadingFrom: weights)
        defer { try? handle.close() }
        let header = String(decoding: handle.readData(ofLength: 4096), as: UTF8.self)
        XCTAssertTrue(header.contains("\"F16\""), "float16 weights")
    }

    func testWalkthroughEndsWithTheTranslation() throws {
        let outcome = try NMTProcess.run(["walkthrough", "I am a student."], timeout: 30)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(outcome.standardOutput.split(separator: "\n").last.map(String.init), "Je suis étudiant.")
    }
}
