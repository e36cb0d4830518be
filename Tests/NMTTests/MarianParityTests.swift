import Foundation
import NMT
import Tensor
import TestSupport
import XCTest

/// The model against Hugging Face transformers' `MarianMTModel` on the marian-tiny fixture:
/// activations, every attention tensor, the loss and all 85 parameter gradients.
/// Tolerance (fixtures/README.md): max |ours − ref| ≤ 1e-4 · max(1, max |ref|) per tensor.
final class MarianParityTests: XCTestCase {
    static let modelDirectory = Fixtures.url("marian-tiny")

    var expected: SafeTensorsFile!
    /// d loss / d parameter as transformers 5.24 computes it for this fixture's model and loss
    /// (Tests/Fixtures/scripts/recompute_gradients.py). The `grad.*` tensors of expected.safetensors
    /// do not follow from the fixture's own model: transformers itself misses them by up to 0.36.
    var gradients: SafeTensorsFile!
    var model: Transformer!

    override func setUpWithError() throws {
        Parallel.configure(threads: 2)
        expected = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/expected.safetensors"))
        gradients = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/recomputed-gradients.safetensors"))
        model = try ModelDirectory.loadModel(from: Self.modelDirectory)
    }

    /// Rows of an I64 (rows, columns) fixture tensor.
    func rows(_ name: String) throws -> [[Int]] {
        let shape = try expected.shape(name)
        let flat = try expected.int64s(name).map(Int.init)
        return (0..<shape[0]).map { Array(flat[$0 * shape[1]..<($0 + 1) * shape[1]]) }
    }

    /// Largest difference, and whether it is within the fixture's tolerance.
    func compare(_ ours: [Float], _ name: String, keep: ((Int) -> Bool)? = nil, in file: SafeTensorsFile? = nil,
                 report: inout [String: Float]) throws {
        let reference = try (file ?? expected).floats(name)
        XCTAssertEqual(ours.count, reference.count, name)
        var worst: Float = 0, largest: Float = 0
        for i in 0..<min(ours.count, reference.count) where keep?(i) ?? true {
            worst = max(worst, abs(ours[i] - reference[i]))
            largest = max(largest, abs(reference[i]))
        }
        XCTAssertLessThanOrEqual(worst, 1e-4 * max(1, largest), "\(name): max |Δ| \(worst)")
        let group = name.replacingOccurrences(of: #"\.\d+"#, with: ".*", options: .regularExpression)
        report[group] = max(report[group] ?? 0, worst)
    }

    func testForwardBackwardMatchesTransformers() throws {
        let sourceRows = try rows("src_ids"), mask = try rows("src_mask")
        let sources = zip(sourceRows, mask).map { ids, m in Array(ids[..<m.reduce(0, +)]) }
        let decoderInput = try rows("decoder_input_ids"), labels = try rows("labels")
        let (B, T) = (decoderInput.count, decoderInput[0].count)
        let V = model.config.vocabularySize, pad = model.config.padId
        let labelIsReal = labels.flatMap { $0 }.map { $0 != pad }   // (B·T)

        let tape = Tape()
        let encoderOutput = model.encode(SourceBatch(sequences: sources, padId: pad), tape: tape)
        XCTAssertEqual(encoderOutput.memory.shape, [2, 9, 32])
        let decoded = model.decode(inputIds: decoderInput.flatMap { $0 }.map(Int32.init), batch: B, length: T,
                                   encoderOutput: encoderOutput, tape: tape)
        let logits = model.logits(decoded.hidden, tape: tape)
        let logitValues = logits.values  // the loss overwrites the buffer with its gradient
        let loss = model.loss(logits: logits, labels: labels.flatMap { $0 }.map(Int32.init), smoothing: 0.1, tape: tape)
        model.parameters.zeroGradients()
        tape.backward(from: loss)

        var report: [String: Float] = [:]
        try compare(encoderOutput.memory.values, "encoder_output", report: &report)
        try compare(logitValues, "logits", keep: { labelIsReal[$0 / V] }, report: &report)
        try compare(loss.values, "loss", report: &report)
        for l in 0..<model.config.encoderLayers {
            try compare(encoderOutput.selfAttention[l].values, "encoder_self_attention.\(l)", report: &report)
        }
        for l in 0..<model.config.decoderLayers {
            // (B, H, T, ·): keep rows t whose label is real.
            let H = model.config.decoderHeads
            try compare(decoded.selfAttention[l].values, "decoder_self_attention.\(l)",
                        keep: { i in let row = i / T; return labelIsReal[(row / H / T) * T + row % T] }, report: &report)
            let S = encoderOutput.memory.size(1)
            try compare(decoded.crossAttention[l].values, "cross_attention.\(l)",
                        keep: { i in let row = i / S; return labelIsReal[(row / H / T) * T + row % T] }, report: &report)
        }
        var gradientCount = 0
        for entry in model.parameters.entries where entry.trainable {
            XCTAssertEqual(try expected.shape("grad.\(entry.name)"), entry.shape, entry.name)
            try compare(model.parameters.gradient(of: entry.name), "grad.\(entry.name)", in: gradients, report: &report)
            gradientCount += 1
        }
        XCTAssertEqual(gradientCount, 85, "every trained parameter has a gradient to compare")
        print("Largest |ours − transformers| per tensor group:")
        for (group, worst) in report.sorted(by: { $0.key < $1.key }) {
            print("  \(group.padding(toLength: 52, withPad: " ", startingAt: 0)) \(String(format: "%.3e", worst))")
        }
    }

    func testUncachedGreedyReproducesTransformers() throws {
        let sourceRows = try rows("generate_src_ids")
        let pad = model.config.padId, eos = model.config.eosId
        let sources = sourceRows.map { row in Array(row[...row.firstIndex(of: eos)!]) }
        let output = UncachedSearch.greedy(model: model, sources: sources, maxNewTokens: 12)
        for (b, reference) in try rows("greedy_ids").enumerated() {
            // The fixture: start token, output, EOS, then pad.
            let generated = Array(reference.dropFirst())
            let trimmed = generated.firstIndex(of: eos).map { Array(generated[...$0]) } ?? generated.filter { $0 != pad }
            XCTAssertEqual(output[b], trimmed, "source \(b)")
        }
    }
}

/// The whole model's backward against finite differences of its loss, independent of any
/// reference implementation: a sample of elements from every kind of parameter.
final class ModelGradientTests: XCTestCase {
    func testBackwardMatchesFiniteDifferences() throws {
        let model = try ModelDirectory.loadModel(from: Fixtures.url("marian-tiny"))
        let expected = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/expected.safetensors"))
        let source = try expected.int64s("src_ids").map(Int.init), mask = try expected.int64s("src_mask").map(Int.init)
        let sources = (0..<2).map { b in Array(source[b * 9..<(b * 9 + mask[b * 9..<b * 9 + 9].reduce(0, +))]) }
        let decoderInput = try expected.int64s("decoder_input_ids").map(Int32.init)
        let labels = try expected.int64s("labels").map(Int32.init)
        func loss(_ tape: Tape) -> Tensor {
            let encoded = model.encode(SourceBatch(sequences: sources, padId: 52), tape: tape)
            let decoded = model.decode(inputIds: decoderInput, batch: 2, length: 7, encoderOutput: encoded, tape: tape)
            return model.loss(logits: model.logits(decoded.hidden, tape: tape), labels: labels, smoothing: 0.1, tape: tape)
        }
        let tape = Tape()
        let value = loss(tape)
        model.parameters.zeroGradients()
        tape.backward(from: value)
        var generator = SeededGenerator(seed: 7)
        var worst: Double = 0
        for entry in model.parameters.entries where entry.trainable {
            let analytic = model.parameters.gradient(of: entry.name)
            for _ in 0..<3 {
                let i = Int(generator.next() % UInt64(entry.count))
                let p = model.parameters.values + entry.offset + i
                let saved = p.pointee, h: Float = 1e-2
                p.pointee = saved + h
                let plus = Double(loss(.inference).scalar)
                p.pointee = saved - h
                let minus = Double(loss(.inference).scalar)
                p.pointee = saved
                let numeric = (plus - minus) / Double(2 * h)
                let difference = abs(numeric - Double(analytic[i]))
                worst = max(worst, difference)
                XCTAssertLessThanOrEqual(difference, 2e-3 + 2e-2 * abs(numeric), "\(entry.name)[\(i)]: numeric \(numeric), analytic \(analytic[i])")
            }
        }
        print("Largest |finite difference − backward| over sampled parameters: \(worst)")
    }
}
