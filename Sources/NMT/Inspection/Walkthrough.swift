import Foundation
import Tensor
import Tokenizers

/// The numbers behind the classic walkthrough of a Transformer translating one sentence
/// ("I am a student." → "Je suis étudiant."), computed by the real model in five steps:
///
/// 1. the source pieces, their ids, and each embedding with its position vector;
/// 2. the encoder's self-attention (last layer, mean of the heads, words);
/// 3. the decoder's masked self-attention as the output grows;
/// 4. the encoder–decoder attention behind each output word;
/// 5. generation step by step: the most likely next pieces and the one chosen, until `</s>`.
///
/// The output is the greedy search's (`Translator.translate` with a beam of 1, as
/// `nmt translate --beam 1`); steps 3–5 are then read from one teacher-forced run of the model
/// on that output, which computes the same numbers as the search's steps.
public struct Walkthrough {
    /// Step 1: a source piece as the encoder receives it.
    public struct SourcePiece: Equatable, Sendable {
        public var piece: String
        public var id: Int
        /// The first `shownDimensions` of the token embedding × `embeddingScale`.
        public var embedding: [Float]
        /// The norm of the whole scaled embedding.
        public var embeddingNorm: Float
        /// The first `shownDimensions` of the position's sinusoid.
        public var position: [Float]
        public var positionNorm: Float
    }

    /// A token with a weight or a probability.
    public struct WeightedToken: Equatable, Sendable {
        public var token: String
        public var weight: Float
    }

    /// Step 4: an output word and the source words it attended to most when it was chosen.
    public struct OutputWordAttention: Equatable, Sendable {
        public var word: String
        public var sources: [WeightedToken]
    }

    /// Step 5: one step of the greedy search.
    public struct GenerationStep: Equatable, Sendable {
        /// The output so far, as text.
        public var outputSoFar: String
        /// The most probable next pieces, best first (the pad token, which search never picks, left out).
        public var candidates: [WeightedToken]
        public var chosen: WeightedToken
    }

    public static let shownDimensions = 8
    public static let candidateCount = 5
    public static let sourceWordsShown = 3

    public let sentence: String
    public let config: ModelConfig
    /// √D when the model scales its embeddings, else 1.
    public let embeddingScale: Float
    public let sourcePieces: [SourcePiece]
    public let encoderSelfAttention: AttentionTable
    public let decoderSelfAttention: AttentionTable
    public let crossAttention: [OutputWordAttention]
    public let generation: [GenerationStep]
    /// The translation, exactly as `nmt translate --beam 1` gives it.
    public let translation: String

    public init(translator: Translator, sentence: String) throws {
        guard !sentence.allSatisfy(\.isWhitespace) else { throw InspectionError("nothing to walk through: the sentence is empty") }
        let model = translator.model, tokenizer = translator.tokenizer, config = model.config
        let output = translator.translate([sentence], options: SearchOptions(beamSize: 1))[0][0]
        let recording = AttentionRecording(model: model, sourceIds: translator.sourceIds(sentence).ids, outputIds: output.ids)
        let source = recording.sourceTokens(tokenizer), target = recording.targetTokens(tokenizer)
        let outputs = recording.outputTokens(tokenizer)
        self.sentence = sentence
        self.config = config
        self.translation = output.text
        embeddingScale = model.embeddingScale

        let D = config.modelWidth, shown = min(Self.shownDimensions, D)
        sourcePieces = recording.sourceIds.enumerated().map { position, id in
            var row = [Float](repeating: 0, count: D)
            row.withUnsafeMutableBufferPointer { model.encoderEmbedding.row(id, into: $0.baseAddress!) }
            let embedding = row.map { $0 * model.embeddingScale }
            let sinusoid = Array(UnsafeBufferPointer(start: model.positionTable.data + position * D, count: D))
            return SourcePiece(piece: source.pieces[position], id: id,
                               embedding: Array(embedding.prefix(shown)), embeddingNorm: Self.norm(embedding),
                               position: Array(sinusoid.prefix(shown)), positionNorm: Self.norm(sinusoid))
        }

        let lastTables = try recording.tables(kinds: [.encoder, .decoder], layers: .last, heads: .mean,
                                              source: source, target: target, words: true)
        encoderSelfAttention = lastTables[0]
        decoderSelfAttention = lastTables[1]

        let cross = recording.crossAttentionOfOutputs(layer: config.decoderLayers - 1, head: .mean, source: source,
                                                      output: outputs, words: true)
        crossAttention = zip(cross.rows, cross.weights).map { word, row in
            let top = row.indices.sorted { row[$0] > row[$1] }.prefix(Self.sourceWordsShown)
            return OutputWordAttention(word: word, sources: top.map { WeightedToken(token: cross.columns[$0], weight: row[$0]) })
        }

        let V = config.targetVocabularySize
        generation = recording.outputIds.indices.map { t in
            let z = recording.logits.data + t * V
            let logNormalizer = Kernels.logSumExp(z, count: V)
            let probability = { (v: Int) in expf(z[v] - logNormalizer) }
            let ranked = (0..<V).filter { $0 != config.padId }.sorted { z[$0] > z[$1] }.prefix(Self.candidateCount)
            let chosen = recording.outputIds[t]
            return GenerationStep(
                outputSoFar: tokenizer.decodeTarget(Array(recording.outputIds[..<t]), skipSpecialTokens: true),
                candidates: ranked.map { WeightedToken(token: tokenizer.targetPiece(for: $0) ?? "<\($0)>", weight: probability($0)) },
                chosen: WeightedToken(token: outputs.pieces[t], weight: probability(chosen)))
        }
    }

    static func norm(_ values: [Float]) -> Float {
        Float(values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
    }
}
