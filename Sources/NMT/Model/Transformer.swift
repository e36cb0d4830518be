import Tensor

/// The encoder–decoder Transformer in the layout of transformers' `MarianMTModel` (formats.md):
/// shared token embeddings × √D plus sinusoidal positions, N post-norm encoder layers, M post-norm
/// decoder layers, and the output projection tied to the embeddings plus `final_logits_bias`.
public final class Transformer {
    public let config: ModelConfig
    /// Every parameter, in one flat buffer.
    public let parameters: ParameterStore
    public let encoderLayers: [EncoderLayer]
    public let decoderLayers: [DecoderLayer]
    let embedding: Tensor         // (V, D), shared by both stacks and the output projection
    let finalLogitsBias: Tensor   // (1, V), a constant
    let positionTable: Tensor     // (max positions, D)
    let embeddingScale: Float

    /// A model of zeros with this config; load or initialise the parameters afterwards.
    public init(config: ModelConfig) {
        self.config = config
        let parameters = ParameterStore(layout: Transformer.parameterLayout(config: config))
        self.parameters = parameters
        embedding = parameters.tensor("model.shared.weight")
        finalLogitsBias = parameters.tensor("final_logits_bias")
        positionTable = Tensor(Kernels.sinusoidalPositions(count: config.maxPositions, width: config.modelWidth),
                               shape: [config.maxPositions, config.modelWidth])
        embeddingScale = config.scaleEmbedding ? Float(config.modelWidth).squareRoot() : 1
        encoderLayers = (0..<config.encoderLayers).map {
            EncoderLayer(parameters: parameters, prefix: "model.encoder.layers.\($0)", config: config)
        }
        decoderLayers = (0..<config.decoderLayers).map {
            DecoderLayer(parameters: parameters, prefix: "model.decoder.layers.\($0)", config: config)
        }
    }

    /// The parameters and their order in the flat buffer, named as in model.safetensors.
    public static func parameterLayout(config: ModelConfig) -> [(name: String, shape: [Int], trainable: Bool)] {
        let (V, D) = (config.vocabularySize, config.modelWidth)
        return [("model.shared.weight", [V, D], true), ("final_logits_bias", [1, V], false)]
            + (0..<config.encoderLayers).flatMap { EncoderLayer.parameterLayout(prefix: "model.encoder.layers.\($0)", config: config) }
            + (0..<config.decoderLayers).flatMap { DecoderLayer.parameterLayout(prefix: "model.decoder.layers.\($0)", config: config) }
    }

    /// Token embeddings × scale + positions (by default 0 ..< L in each row), with dropout: (B, L, D).
    func embed(ids: [Int32], positions: [Int32]? = nil, batch: Int, length: Int, tape: Tape) -> Tensor {
        let positions = positions ?? (0..<batch).flatMap { _ in (0..<length).map(Int32.init) }
        return tape.embedding(ids: ids, positions: positions, batch: batch, length: length, table: embedding,
                              scale: embeddingScale, positionTable: positionTable, padId: Int32(config.padId),
                              dropout: config.dropout)
    }

    /// Runs the encoder stack over a padded source batch.
    public func encode(_ source: SourceBatch, tape: Tape) -> EncoderOutput {
        precondition(source.length <= config.maxPositions, "source of \(source.length) positions; the model has \(config.maxPositions)")
        var x = embed(ids: source.ids, batch: source.batch, length: source.length, tape: tape)
        var attention: [Tensor] = []
        for layer in encoderLayers {
            let (y, probabilities) = layer(x, keyPadding: source.keyPadding, tape: tape)
            x = y
            attention.append(probabilities)
        }
        return EncoderOutput(memory: x, keyPadding: source.keyPadding, selfAttention: attention)
    }

    /// Runs the decoder stack over a whole target (B·T ids, starting with the decoder start token).
    public func decode(inputIds: [Int32], batch: Int, length: Int, encoderOutput: EncoderOutput, tape: Tape) -> DecoderOutput {
        precondition(length <= config.maxPositions, "target of \(length) positions; the model has \(config.maxPositions)")
        var x = embed(ids: inputIds, batch: batch, length: length, tape: tape)
        var selfAttention: [Tensor] = [], crossAttention: [Tensor] = []
        for layer in decoderLayers {
            let (y, selfProbabilities, crossProbabilities) = layer(x, encoderOutput: encoderOutput, tape: tape)
            x = y
            selfAttention.append(selfProbabilities)
            crossAttention.append(crossProbabilities)
        }
        return DecoderOutput(hidden: x, selfAttention: selfAttention, crossAttention: crossAttention)
    }

    /// logits (…, V) = hidden · Eᵀ + final_logits_bias (the tied output projection, §3.4).
    public func logits(_ hidden: Tensor, tape: Tape) -> Tensor {
        tape.linear(hidden, weight: embedding, bias: finalLogitsBias)
    }

    /// Label-smoothed cross-entropy of the logits of `hidden` (B, T, D) against `labels` (B·T), pad
    /// ignored: `loss(logits: logits(hidden))` without holding all (B, T, V) logits (training uses this).
    public func loss(hidden: Tensor, labels: [Int32], smoothing: Float, tape: Tape) -> Tensor {
        tape.projectedCrossEntropy(hidden, weight: embedding, bias: finalLogitsBias, labels: labels,
                                   ignoreLabel: Int32(config.padId), smoothing: smoothing)
    }

    /// Label-smoothed cross-entropy of `logits` (B, T, V) against `labels` (B·T), pad ignored.
    public func loss(logits: Tensor, labels: [Int32], smoothing: Float, tape: Tape) -> Tensor {
        tape.crossEntropy(logits, labels: labels, ignoreLabel: Int32(config.padId), smoothing: smoothing)
    }
}
