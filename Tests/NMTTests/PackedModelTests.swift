import Foundation
import NMT
import Tensor
import TestSupport
import XCTest

/// The float32 model packed for inference (FloatGEMM.h): what `Translator(directory:)` runs. Its
/// logits are the BLAS path's within float32 rounding, and its translations the same.
final class PackedModelTests: XCTestCase {
    override func setUpWithError() throws {
        guard FloatPath.best == .packedAVX2 else { throw XCTSkip("this processor has no AVX2 and FMA: inference uses BLAS") }
    }

    /// A float32 directory loads packed unless told not to, sharing its parameters; int8 is never packed.
    func testTranslatorPacksFloat32Models() throws {
        let translator = try Translator(directory: Int8ModelTests.shippedModel)
        XCTAssertTrue(translator.model.isPackedForInference)
        XCTAssertEqual(translator.model.weightType, .float32)
        let int8 = try Translator(directory: Int8ModelTests.shippedModel, computeType: .int8)
        XCTAssertFalse(int8.model.isPackedForInference)
        XCTAssertFalse(try ModelDirectory.loadModel(from: Int8ModelTests.shippedModel).isPackedForInference)
        XCTAssertFalse(try Translator(directory: Int8ModelTests.shippedModel, packingWeights: false).model.isPackedForInference)
        for fixture in ["marian-tiny", "opus-mt-tiny-separate"] {
            let model = try ModelDirectory.loadModel(from: Fixtures.url(fixture))
            let packed = model.packedForInference()
            XCTAssertTrue(packed.isPackedForInference, fixture)
            XCTAssertTrue(packed.parameters === model.parameters, fixture)
        }
    }

    /// Teacher-forced logits of the shipped model, packed against BLAS: the worst difference a
    /// millionth of its row's range, and the same best token everywhere.
    func testPackedLogitsEqualBLASWithinRounding() throws {
        let translator = try Translator(directory: Int8ModelTests.shippedModel)
        let blas = try ModelDirectory.loadModel(from: Int8ModelTests.shippedModel)
        let measured = Int8ModelTests.logitDifference(blas, translator.model, translator: translator)
        print("packed against BLAS logits: worst |Δ| \(measured.worst) of the row's range, RMS \(measured.rms) relative")
        XCTAssertLessThanOrEqual(measured.worst, 1e-5)
        XCTAssertLessThanOrEqual(measured.rms, 1e-5)
        XCTAssertEqual(measured.agreeing, measured.positions)
    }

    /// The fixture models, untied (separate embeddings and lm_head) and shared: packed logits within
    /// rounding of BLAS's for a whole batch with padding.
    func testFixtureModelsPackedEqualBLAS() throws {
        for fixture in ["marian-tiny", "opus-mt-tiny-separate"] {
            let model = try ModelDirectory.loadModel(from: Fixtures.url(fixture))
            let packed = model.packedForInference()
            let V = model.config.vocabularySize
            let sources = [[5, 9, 13, 2, model.config.eosId].map { $0 % V }, [7, 11, model.config.eosId].map { $0 % V }]
            let targets: [Int32] = [Int32(model.config.decoderStartId), 4, 6, 8, Int32(model.config.decoderStartId), 3, 5, 7]
            func logits(_ m: Transformer) -> [Float] {
                let tape = Tape.inference
                let encoded = m.encode(SourceBatch(sequences: sources, padId: m.config.padId), tape: tape)
                let decoded = m.decode(inputIds: targets.map { $0 % Int32(V) }, batch: 2, length: 4, encoderOutput: encoded, tape: tape)
                return m.logits(decoded.hidden, tape: tape).values
            }
            let a = logits(model), b = logits(packed)
            let scale = a.map(abs).max()!
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5 * scale, fixture) }
        }
    }
}
