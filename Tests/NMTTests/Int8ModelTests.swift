import Foundation
import NMT
import Tensor
import TestSupport
import XCTest

/// The int8 model (issue 17): int8 directories written and read back bit for bit, and the shipped
/// model run int8 against float32 — the logits within the quantization error, the translations
/// mostly identical.
final class Int8ModelTests: XCTestCase {
    // MARK: Storage

    /// A shared-embedding model (marian-tiny: one matrix for both stacks and the output) and an
    /// untied one (encoder embedding, decoder embedding and lm_head apart) through save and load.
    func testInt8SaveAndLoadKeepCodesAndScalesBitForBit() throws {
        for fixture in ["marian-tiny", "opus-mt-tiny-separate"] {
            let float = try ModelDirectory.loadModel(from: Fixtures.url(fixture))
            let model = try float.quantized()
            XCTAssertEqual(model.weightType, .int8)
            let directory = try Fixtures.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try ModelDirectory.save(model, to: directory, weightType: .i8)

            // The file: each matrix once as I8 codes with F32 scales of one per row, the rest F32.
            let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent(ModelDirectory.weightsFile))
            let matrices = Transformer.matrixNames(config: model.config)
            let floats = Transformer.parameterLayout(config: model.config).map(\.name).filter { !matrices.contains($0) }
            XCTAssertEqual(Set(file.entries.keys), Set(matrices + matrices.map { $0 + ModelDirectory.int8ScaleSuffix } + floats), fixture)
            for name in matrices {
                XCTAssertEqual(file.entries[name]?.dtype, .i8, name)
                XCTAssertEqual(file.entries[name + ModelDirectory.int8ScaleSuffix]?.dtype, .f32, name)
                XCTAssertEqual(file.entries[name + ModelDirectory.int8ScaleSuffix]?.shape, [file.entries[name]!.shape[0]], name)
            }
            let embeddings = Transformer.embeddingNames(config: model.config)
            XCTAssertEqual(matrices.filter { $0.hasSuffix("embed_tokens.weight") || $0 == "model.shared.weight" || $0 == "lm_head.weight" },
                           Array(Set([embeddings.encoder, embeddings.decoder, embeddings.output])).sorted { matrices.firstIndex(of: $0)! < matrices.firstIndex(of: $1)! },
                           "\(fixture): each embedding matrix stored once")
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as? [String: Any]
            XCTAssertEqual(config?[ModelConfig.weightTypeKey] as? String, "int8")

            // Read back: the same codes, the same scale bits, the same float parameters.
            let reloaded = try ModelDirectory.loadModel(from: directory)
            XCTAssertEqual(reloaded.weightType, .int8)
            let before = try model.int8Matrices(), after = try reloaded.int8Matrices()
            XCTAssertEqual(Set(before.keys), Set(after.keys))
            for (name, matrix) in before {
                XCTAssertEqual(matrix.shape, after[name]!.shape, name)
                XCTAssertEqual(matrix.codes, after[name]!.codes, name)
                XCTAssertEqual(matrix.scales.map(\.bitPattern), after[name]!.scales.map(\.bitPattern), name)
            }
            for entry in model.parameters.entries {
                XCTAssertEqual(model.parameters.values(of: entry.name), reloaded.parameters.values(of: entry.name), entry.name)
            }

            // As float32: each weight is its codes / scale, within half a step of the original.
            let dequantized = try ModelDirectory.loadModel(from: directory, computeType: .float32)
            XCTAssertEqual(dequantized.weightType, .float32)
            for (name, matrix) in before {
                let values = dequantized.parameters.values(of: name), original = float.parameters.values(of: name)
                let K = matrix.shape[1]
                for i in values.indices {
                    XCTAssertEqual(values[i], Float(matrix.codes[i]) * (1 / matrix.scales[i / K]), name)
                    XCTAssertLessThanOrEqual(abs(values[i] - original[i]), 0.5 / matrix.scales[i / K] * (1 + 1e-5), name)
                }
            }
        }
    }

    /// Quantizing is deterministic: a float32 model quantized as it loads and the same model
    /// exported to int8 and loaded give the same codes.
    func testQuantizingAtLoadEqualsTheExport() throws {
        let fixture = Fixtures.url("opus-mt-tiny-separate")
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ModelDirectory.save(try ModelDirectory.loadModel(from: fixture), to: directory, weightType: .i8)
        let exported = try ModelDirectory.loadModel(from: directory).int8Matrices()
        let atLoad = try ModelDirectory.loadModel(from: fixture, computeType: .int8).int8Matrices()
        for (name, matrix) in exported {
            XCTAssertEqual(matrix.codes, atLoad[name]?.codes, name)
            XCTAssertEqual(matrix.scales, atLoad[name]?.scales, name)
        }
    }

    // MARK: The shipped model

    static let shippedModel = Fixtures.packageRoot.appendingPathComponent("models/en-fr")

    /// Teacher-forced logits of the shipped model on a few sentences, int8 against float32. The
    /// bound is measured, not derived: each product is within half a step of each operand
    /// (derived and tested per product in QuantizedLinearTests), but through 6 layers and 4 layer
    /// norms no useful closed form remains. Measured (2026-12-03): the worst logit moved by 1.6 %
    /// of its row's range, the RMS difference was 2.1 % of the logits' RMS, and the best token
    /// agreed at all 43 positions; the test allows 5 % / 5 % and two disagreements. One wrong
    /// scale vector (decoder layer 0's fc2 output halved) moves them by 9 % (checked below).
    func testShippedModelInt8LogitsStayWithinTheQuantizationError() throws {
        let translator = try Translator(directory: Self.shippedModel)
        let float = translator.model, int8 = try float.quantized()
        let measured = Self.logitDifference(float, int8, translator: translator)
        print("int8 against float32 logits: worst |Δ| \(measured.worst) of the row's range, RMS \(measured.rms) relative, best token agrees at \(measured.agreeing) of \(measured.positions)")
        XCTAssertGreaterThan(measured.worst, 1e-4, "the int8 path ran (its logits differ from float32's)")
        XCTAssertLessThanOrEqual(measured.worst, 0.05)
        XCTAssertLessThanOrEqual(measured.rms, 0.05)
        XCTAssertGreaterThanOrEqual(measured.agreeing, measured.positions - 2)

        // The bound is not vacuous: one wrong scale vector (decoder layer 0's fc2, its output halved) breaks it.
        var matrices = try int8.int8Matrices()
        let name = "model.decoder.layers.0.fc2.weight", wrong = matrices[name]!
        matrices[name] = try QuantizedMatrix(codes: wrong.codes, scales: wrong.scales.map { $0 * 2 }, shape: wrong.shape)
        let broken = Transformer(config: int8.config, int8: matrices)
        broken.parameters.values.update(from: int8.parameters.values, count: int8.parameters.count)
        let brokenDifference = Self.logitDifference(float, broken, translator: translator)
        print("with \(name)'s scales doubled: worst |Δ| \(brokenDifference.worst), RMS \(brokenDifference.rms)")
        XCTAssertGreaterThan(max(brokenDifference.worst, brokenDifference.rms), 0.05)
    }

    /// How far `other`'s teacher-forced logits are from `float`'s on four sentence pairs: the worst
    /// |Δ| as a fraction of its row's range, the RMS of Δ over the RMS of the logits, and at how
    /// many positions the best token is the same.
    static func logitDifference(_ float: Transformer, _ other: Transformer, translator: Translator)
        -> (worst: Float, rms: Float, agreeing: Int, positions: Int) {
        let pairs = [("I am a student.", "Je suis étudiant."),
                     ("The weather is nice today, so we will go for a walk in the park.",
                      "Il fait beau aujourd'hui, alors nous irons nous promener dans le parc."),
                     ("Could you tell me where the station is?", "Pourriez-vous me dire où se trouve la gare ?"),
                     ("He has been reading that book for three hours.", "Il lit ce livre depuis trois heures.")]
        var worstRelative: Float = 0, sumSquares = 0.0, sumReference = 0.0, positions = 0, agreeing = 0
        for (source, target) in pairs {
            let (floatLogits, V) = logits(float, translator: translator, source: source, target: target)
            let (otherLogits, _) = logits(other, translator: translator, source: source, target: target)
            for row in 0..<floatLogits.count / V {
                let a = floatLogits[row * V ..< (row + 1) * V], b = otherLogits[row * V ..< (row + 1) * V]
                var worst: Float = 0
                for (x, y) in zip(a, b) {
                    worst = max(worst, abs(x - y))
                    sumSquares += Double((x - y) * (x - y))
                    sumReference += Double(x * x)
                }
                worstRelative = max(worstRelative, worst / (a.max()! - a.min()!))
                positions += 1
                if a.firstIndex(of: a.max()!) == b.firstIndex(of: b.max()!) { agreeing += 1 }
            }
        }
        return (worstRelative, Float((sumSquares / sumReference).squareRoot()), agreeing, positions)
    }

    /// The logits (T, V) of `target` teacher-forced after `source`.
    static func logits(_ model: Transformer, translator: Translator, source: String, target: String) -> ([Float], Int) {
        let sourceIds = translator.sourceIds(source).ids
        let targetIds = [model.config.decoderStartId] + translator.tokenizer.encodeTarget(target)
        let tape = Tape.inference
        let encoded = model.encode(SourceBatch(sequences: [sourceIds], padId: model.config.padId), tape: tape)
        let decoded = model.decode(inputIds: targetIds.map(Int32.init), batch: 1, length: targetIds.count, encoderOutput: encoded, tape: tape)
        return (model.logits(decoded.hidden, tape: tape).values, model.config.targetVocabularySize)
    }

    /// Every 10th Tatoeba test source (200), greedy and beam 4, one thread: float32 still gives
    /// the ids it gave before the int8 work (Tests/Fixtures/shipped-model-outputs, commit a4bd937),
    /// and int8 gives the same translation on most of them (190 greedy and 192 beam 4 here,
    /// 2026-12-03; 1849 and 1881 of all 2,000 in phase A's measurement, 92–94 %): at least 85 %.
    func testShippedModelSampleFloat32UnchangedInt8MostlyIdentical() throws {
        guard let corpus = Fixtures.sharedCorpus("tatoeba-eng-fra/test.tsv") else {
            throw XCTSkip("../shared/corpora/tatoeba-eng-fra/test.tsv is absent")
        }
        let fixture = Fixtures.url("shipped-model-outputs/tatoeba-sample.json")
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as? [String: Any])
        let lineNumbers = try XCTUnwrap(expected["lines"] as? [Int])
        let lines = try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let sources = lineNumbers.map { String(lines[$0 - 1].split(separator: "\t", maxSplits: 1)[0]) }

        let float = try Translator(directory: Self.shippedModel)
        let int8 = try Translator(model: try float.model.quantized(), tokenizer: float.tokenizer)
        for (key, beam) in [("greedy", 1), ("beam4", 4)] {
            let reference = try XCTUnwrap(expected[key] as? [[Int]])
            // The fixture predates the repetition guard (issue 20); none of these sentences loops.
            let options = SearchOptions(beamSize: beam, repetitionGuard: nil)
            let floatIds = float.translate(sources, options: options, batchSize: 32).map { $0[0].ids }
            let int8Ids = int8.translate(sources, options: options, batchSize: 32).map { $0[0].ids }
            let unchanged = zip(floatIds, reference).filter { $0 == $1 }.count
            let identical = zip(int8Ids, floatIds).filter { $0 == $1 }.count
            print("\(key): float32 as before on \(unchanged) of \(sources.count); int8 identical to float32 on \(identical)")
            XCTAssertEqual(unchanged, sources.count, "\(key): float32 output changed")
            XCTAssertGreaterThanOrEqual(identical, sources.count * 85 / 100, "\(key): int8 differs from float32 too often")
        }
    }
}
