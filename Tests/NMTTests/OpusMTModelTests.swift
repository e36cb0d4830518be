import Foundation
import NMT
import Tensor
import TestSupport
import Tokenizers
import XCTest

/// OPUS-MT folders (Hugging Face Marian snapshots) as models: shared and untied embeddings,
/// model.safetensors or only pytorch_model.bin, against transformers' `generate` in the fixtures.
final class OpusMTModelTests: XCTestCase {
    static let folders = ["opus-mt-tiny", "opus-mt-tiny-separate"]

    override func setUp() { Parallel.configure(threads: 2) }

    func cases(_ folder: String) throws -> [OpusMTExpected.GenerateCase] { try OpusMTExpected.load(folder).generate }

    /// transformers' rows start with the decoder start token; nmt's hypotheses do not.
    func generated(_ row: [Int]) -> [Int] { Array(row.dropFirst()) }

    func testUntiedConfigGivesTransformersParameterNames() throws {
        let model = try ModelDirectory.loadModel(from: Fixtures.url("opus-mt-tiny-separate"))
        let config = model.config
        XCTAssertFalse(config.sharesEmbeddings)
        XCTAssertFalse(config.tiesOutputProjection)
        XCTAssertEqual(config.targetVocabularySize, 500)
        let names = Set(model.parameters.entries.map(\.name))
        for name in ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight", "final_logits_bias"] {
            XCTAssertTrue(names.contains(name), name)
        }
        XCTAssertFalse(names.contains("model.shared.weight"))
        let shared = try ModelDirectory.loadModel(from: Fixtures.url("opus-mt-tiny"))
        XCTAssertEqual(Transformer.parameterLayout(config: shared.config).prefix(2).map(\.name), ["model.shared.weight", "final_logits_bias"])
    }

    /// The pytorch_model.bin form gives the model of the safetensors form, bit for bit.
    func testPyTorchFormLoadsTheSameParameters() throws {
        for folder in Self.folders {
            let safeTensors = try ModelDirectory.loadModel(from: Fixtures.url(folder))
            let pyTorch = try ModelDirectory.loadModel(from: Fixtures.url("\(folder)/pytorch"))
            XCTAssertEqual(safeTensors.parameters.count, pyTorch.parameters.count, folder)
            for entry in safeTensors.parameters.entries {
                XCTAssertEqual(safeTensors.parameters.values(of: entry.name), pyTorch.parameters.values(of: entry.name), "\(folder) \(entry.name)")
            }
        }
    }

    /// Greedy and beam-4 search from both weight files reproduce transformers' ids and beam scores.
    func testGenerationReproducesTransformers() throws {
        for folder in Self.folders {
            let tokenizer = try MarianTokenizer(directory: Fixtures.url(folder))
            let cases = try cases(folder)
            let sources = cases.map { tokenizer.encodeSource($0.source) }
            for form in [folder, "\(folder)/pytorch"] {
                let generator = Generator(model: try ModelDirectory.loadModel(from: Fixtures.url(form)))
                let greedy = generator.generate(sources: sources, options: SearchOptions(beamSize: 1, maxNewTokens: 40, maxLengthFactor: nil))
                let beam = generator.generate(sources: sources, options: SearchOptions(beamSize: 4, lengthPenalty: 1, maxNewTokens: 40, maxLengthFactor: nil))
                for (index, item) in cases.enumerated() {
                    XCTAssertEqual(greedy[index][0].ids, generated(item.greedy_ids), "\(form) greedy: \(item.source)")
                    XCTAssertEqual(beam[index][0].ids, generated(item.beam4_ids), "\(form) beam 4: \(item.source)")
                    XCTAssertEqual(Double(beam[index][0].score), item.beam4_score, accuracy: 1e-4, "\(form) beam 4 score: \(item.source)")
                    XCTAssertEqual(tokenizer.decodeTarget(greedy[index][0].ids), item.greedy_text, "\(form) greedy text")
                    XCTAssertEqual(tokenizer.decodeTarget(beam[index][0].ids), item.beam4_text, "\(form) beam 4 text")
                }
            }
        }
    }

    /// Saving an untied model writes transformers' names, and it loads back the same.
    func testUntiedModelSavesAndReloads() throws {
        let model = try ModelDirectory.loadModel(from: Fixtures.url("opus-mt-tiny-separate/pytorch"))
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ModelDirectory.save(model, to: directory)
        let stored = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Set(stored.names), Set(model.parameters.entries.map(\.name)))
        let reloaded = try ModelDirectory.loadModel(from: directory)
        XCTAssertFalse(reloaded.config.sharesEmbeddings)
        XCTAssertFalse(reloaded.config.tiesOutputProjection)
        XCTAssertEqual(reloaded.parameters.values(of: "lm_head.weight"), model.parameters.values(of: "lm_head.weight"))
    }

    /// Untied but with the output tied to the decoder's embeddings: no lm_head parameter, and the
    /// logits use the decoder's matrix.
    func testDecoderTiedOutputUsesTheDecoderEmbeddings() throws {
        var config = ModelConfig(vocabularySize: 30, modelWidth: 8, encoderLayers: 1, decoderLayers: 1, heads: 2,
                                 feedForwardWidth: 16, targetVocabularySize: 20, sharesEmbeddings: false, tiesOutputProjection: true)
        config.dropout = 0
        let names = Transformer.parameterLayout(config: config).map(\.name)
        XCTAssertFalse(names.contains("lm_head.weight"))
        let model = Transformer(config: config)
        var random = SeededGenerator(seed: 5)
        model.initializeForTraining(generator: &random)
        let hidden = Tensor((0..<8).map { Float($0) / 8 }, shape: [1, 1, 8])
        let logits = model.logits(hidden, tape: .inference)
        XCTAssertEqual(logits.shape, [1, 1, 20])
        let decoder = model.parameters.values(of: "model.decoder.embed_tokens.weight")
        for v in 0..<20 {
            let expected = (0..<8).reduce(Float(0)) { $0 + hidden.data[$1] * decoder[v * 8 + $1] }
            XCTAssertEqual(logits.data[v], expected, accuracy: 1e-5)
        }
    }

    /// Config keys of OPUS-MT snapshots are honoured or refused in one line naming the key.
    func testOpusMTConfigKeysAreHonouredOrRefused() throws {
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("opus-mt-tiny/config.json"))) as! [String: Any]
        func load(_ change: ([String: Any]) -> [String: Any]) throws -> ModelConfig {
            try ModelConfig(jsonData: try JSONSerialization.data(withJSONObject: change(original)), source: "config.json")
        }
        func assertRefused(_ change: @escaping ([String: Any]) -> [String: Any], mentioning text: String, line: UInt = #line) {
            XCTAssertThrowsError(try load(change), line: line) { error in
                XCTAssertTrue("\(error)".contains(text), "“\(error)” should mention \(text)", line: line)
                XCTAssertFalse("\(error)".contains("\n"), line: line)
            }
        }
        // What older OPUS-MT snapshots carry, with Marian's values: accepted (transformers ignores them).
        let old = try load {
            $0.merging(["normalize_before": false, "normalize_embedding": false, "add_final_layer_norm": false,
                        "static_position_embeddings": true, "add_bias_logits": false, "extra_pos_embeddings": 1074,
                        "num_beams": 4, "max_length": 512, "bad_words_ids": [[1073]]]) { $1 }
        }
        XCTAssertEqual(old.vocabularySize, 1074)
        for (key, value) in [("normalize_before", true), ("normalize_embedding", true), ("add_final_layer_norm", true),
                             ("static_position_embeddings", false), ("add_bias_logits", true)] {
            assertRefused({ $0.merging([key: value]) { $1 } }, mentioning: "\(key) is \(value)")
        }
        assertRefused({ $0.merging(["decoder_vocab_size": 900]) { $1 } }, mentioning: "decoder_vocab_size 900 differs from vocab_size 1074")
        assertRefused({ $0.merging(["share_encoder_decoder_embeddings": false, "decoder_vocab_size": 900]) { $1 } },
                      mentioning: "pad_token_id 1073 is outside the target vocabulary of 900")
        let separate = try load { $0.merging(["share_encoder_decoder_embeddings": false, "decoder_vocab_size": 1100]) { $1 } }
        XCTAssertEqual(separate.targetVocabularySize, 1100)
        // Written back with the same meaning.
        let reread = try ModelConfig(jsonData: try separate.jsonData(), source: "again")
        XCTAssertEqual(reread.targetVocabularySize, 1100)
        XCTAssertFalse(reread.sharesEmbeddings)
        XCTAssertTrue(reread.tiesOutputProjection)
    }

    func testMissingWeightsNameBothFiles() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: Fixtures.url("opus-mt-tiny/config.json"), to: directory.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try ModelDirectory.loadModel(from: directory)) {
            XCTAssertTrue("\($0)".contains("model.safetensors: missing from the model directory (and there is no pytorch_model.bin either)"), "\($0)")
        }
        let bin = try Data(contentsOf: Fixtures.url("opus-mt-tiny/pytorch/pytorch_model.bin"))
        try bin.prefix(bin.count / 3).write(to: directory.appendingPathComponent("pytorch_model.bin"))
        XCTAssertThrowsError(try ModelDirectory.loadModel(from: directory)) {
            XCTAssertTrue("\($0)".contains("pytorch_model.bin"), "\($0)")
            XCTAssertFalse("\($0)".contains("\n"))
        }
    }

    /// A folder with tokenizer.json gets nmt's BPE tokenizer; one with source.spm and vocab.json
    /// (and no tokenizer.json) gets MarianTokenizer; both serve the translator the same way.
    func testModelDirectoryPicksItsTokenizer() throws {
        let bpe = try ModelDirectory.loadTokenizer(from: Fixtures.url("bpe-tatoeba-4k"))
        XCTAssertTrue(bpe is Tokenizer)
        let text = "I am a student."
        let plain = bpe as! Tokenizer
        XCTAssertEqual(bpe.encodeSource(text), plain.encode(text) + [plain.eosId])
        XCTAssertEqual(bpe.sourceTokens(text).map(\.piece), plain.encodeWithPieces(text).pieces)
        for folder in Self.folders {
            let tokenizer = try ModelDirectory.loadTokenizer(from: Fixtures.url("\(folder)/pytorch"))
            let marian = try XCTUnwrap(tokenizer as? MarianTokenizer)
            XCTAssertEqual(tokenizer.targetVocabularySize, marian.targetVocabularySize)
            // Source ids spell back to the source text through the source side.
            let ids = marian.encodeSource(text)
            XCTAssertEqual(marian.decodeSource(ids), text)
            let translator = try Translator(directory: Fixtures.url("\(folder)/pytorch"))
            let cases = try cases(folder)
            let output = translator.translate(cases.map(\.source), options: SearchOptions(beamSize: 4, maxNewTokens: 40))
            XCTAssertEqual(output.map { $0[0].text }, cases.map(\.beam4_text), folder)
            XCTAssertEqual(output[0][0].tokens, output[0][0].ids.map { marian.targetPiece(for: $0)! })
        }
    }
}
