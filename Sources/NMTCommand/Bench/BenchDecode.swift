import ArgumentParser
import Foundation
import NMT
import Tensor

/// `nmt bench decode`: sentences/s of greedy and beam search on a randomly initialised model of
/// the benchmark shape, the workload of ../shared/bench/ct2_decode_ref.py: 256 sources of 18
/// tokens (EOS last), exactly 20 output tokens forced, batch 64, the batches spread over the threads
/// as `nmt translate` spreads a file's (`Generator.generate(batches:)`). With `--model DIR` the same
/// workload runs on a model directory instead (nmt's own, or an OPUS-MT folder with untied
/// embeddings), so two models of one shape are timed on equal work whatever they would generate.
struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decoding speed (sentences/s), greedy and beam search, on a random model of the benchmark shape.")

    @OptionGroup var benchmark: BenchmarkOptions
    @OptionGroup var shape: BenchmarkShape

    @Option(help: "Source sentences.") var sentences = 256
    @Option(help: "Tokens per source, EOS included.") var sourceLength = 18
    @Option(help: "Output tokens forced per sentence.") var outputLength = 20
    @Option(help: "Sentences per batch.") var batchSize = 64
    @Option(help: "Beam sizes to measure, comma-separated.") var beams = "1,4"
    @Option(help: ArgumentHelp("A model directory to time instead of a random model (the shape options are then unused).",
                               valueName: "dir"))
    var model: String?
    @Option(help: "Weights to compute with: int8 (quantized as the model loads), float32, or auto (as --model stores them; a random model is float32).")
    var computeType: ComputeType = .auto
    @OptionGroup var computation: ThreadOptions

    func run() throws {
        computation.configure()
        let model = try self.model.map { try Translator(directory: URL(fileURLWithPath: $0), computeType: computeType.weightType).model }
            ?? (computeType == .int8 ? try shape.randomModel(seed: 0).quantized() : shape.randomModel(seed: 0).packedForInference())
        var generator = SeededGenerator(seed: 1)
        let V = model.config.vocabularySize
        let sources = (0..<sentences).map { _ in
            (0..<(sourceLength - 1)).map { _ in 2 + Int(generator.next() % UInt64(V - 3)) } + [model.config.eosId]
        }
        let searcher = Generator(model: model)
        var figures: [BenchmarkFigure] = []
        for beam in beams.split(separator: ",").compactMap({ Int($0) }) {
            // No repetition guard: a random model repeats itself, and the guard would end its
            // hypotheses early; every sentence must decode exactly `outputLength` tokens.
            let options = SearchOptions(beamSize: beam, maxNewTokens: outputLength, maxLengthFactor: nil, minNewTokens: outputLength,
                                        repetitionGuard: nil)
            _ = searcher.generate(sources: Array(sources.prefix(8)), options: options)  // warm-up
            let batches = stride(from: 0, to: sources.count, by: batchSize).map { Array(sources[$0..<min($0 + batchSize, sources.count)]) }
            let seconds = medianSeconds(repeats: benchmark.repeats) { _ = searcher.generate(batches: batches, options: options) { $0 } }
            let name = (beam == 1 ? "decode greedy" : "decode beam \(beam)") + (model.weightType == .int8 ? " int8" : "")
            figures.append(BenchmarkFigure(benchmark: name, metric: "sentences_per_second", value: Double(sentences) / seconds, unit: "sentences/s"))
            figures.append(BenchmarkFigure(benchmark: name, metric: "target_tokens_per_second",
                                           value: Double(sentences * outputLength) / seconds, unit: "tokens/s"))
        }
        benchmark.report(figures)
    }
}

/// The model shape of the benchmarks (and of ../shared/bench): D 256, H 4, F 1024, 3+3 layers,
/// V 8000, ReLU, as ct2_decode_ref.py and torch_train_ref.py build it.
struct BenchmarkShape: ParsableArguments {
    @Option(help: "Model width D.") var modelWidth = 256
    @Option(help: "Attention heads H.") var heads = 4
    @Option(help: "Feed-forward width F.") var feedForward = 1024
    @Option(help: "Encoder and decoder layers each.") var layers = 3
    @Option(help: "Vocabulary size V.") var vocabulary = 8000
    @Option(help: "Feed-forward activation (OPUS-MT models use swish).") var activation: Activation = .relu

    var config: ModelConfig {
        ModelConfig(vocabularySize: vocabulary, modelWidth: modelWidth, encoderLayers: layers, decoderLayers: layers,
                    heads: heads, feedForwardWidth: feedForward, activation: activation, maxPositions: 512, dropout: 0.1)
    }

    /// Weights drawn as transformers initialises a fresh `MarianMTModel` (normal, std 0.02; layer
    /// norms 1 and 0; pad row zero), which is what the peer scripts time.
    func randomModel(seed: UInt64) -> Transformer {
        let model = Transformer(config: config)
        var generator = SeededGenerator(seed: seed)
        for entry in model.parameters.entries {
            let values = model.parameters.valueBuffer(entry.name)
            let isNorm = entry.name.contains("layer_norm")
            for i in values.indices {
                if isNorm { values[i] = entry.name.hasSuffix(".weight") ? 1 : 0 }
                else if entry.name.hasSuffix(".bias") || entry.name == "final_logits_bias" { values[i] = 0 }
                else { values[i] = generator.nextNormal() * 0.02 }
            }
        }
        let D = model.config.modelWidth, pad = model.config.padId
        model.parameters.valueBuffer("model.shared.weight").baseAddress!.advanced(by: pad * D).update(repeating: 0, count: D)
        return model
    }
}

extension Activation: ExpressibleByArgument {}
