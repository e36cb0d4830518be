import Tensor

/// The encoder–decoder Transformer in the layout of transformers' `MarianMTModel` (formats.md):
/// token embeddings × √D plus sinusoidal positions, N post-norm encoder layers, M post-norm
/// decoder layers, and the output projection plus `final_logits_bias`. nmt's own models share one
/// embedding matrix among the encoder, the decoder and the output; models made elsewhere may
/// give each stack its own (`share_encoder_decoder_embeddings` false) and the output its own
/// (`tie_word_embeddings` false).
public final class Transformer {
    public let config: ModelConfig
    /// Every float32 parameter, in one flat buffer: all of them in a float32 model; in an int8
    /// model the biases, layer norms and `final_logits_bias` (the matrices are `int8Weights`).
    public let parameters: ParameterStore
    public let encoderLayers: [EncoderLayer]
    public let decoderLayers: [DecoderLayer]
    let encoderEmbedding: LinearWeight  // (V, D)
    let decoderEmbedding: LinearWeight  // (Vt, D): the encoder's when shared
    let outputProjection: LinearWeight  // (Vt, D): the decoder's embedding when tied
    let finalLogitsBias: Tensor         // (1, Vt), a constant
    let positionTable: Tensor     // (max positions, D)
    let embeddingScale: Float
    /// The int8 form of each weight matrix by its name in model.safetensors (views of the packed
    /// fused projections); empty in a float32 model.
    let int8Weights: [String: QuantizedWeight]

    /// A float32 model of zeros with this config; load or initialise the parameters afterwards.
    public convenience init(config: ModelConfig) {
        self.init(config: config, weights: WeightSource(parameters: ParameterStore(layout: Transformer.parameterLayout(config: config))))
    }

    /// An int8 model whose weight matrices are `matrices` (every name of `matrixNames`); the other
    /// parameters are zeros in `parameters`, to be loaded afterwards.
    public convenience init(config: ModelConfig, int8 matrices: consuming [String: QuantizedMatrix]) {
        let names = Set(Transformer.matrixNames(config: config))
        precondition(Set(matrices.keys) == names, "an int8 model needs exactly its \(names.count) weight matrices")
        let layout = Transformer.parameterLayout(config: config).filter { !names.contains($0.name) }
        self.init(config: config, weights: WeightSource(parameters: ParameterStore(layout: layout), matrices: consume matrices))
    }

    /// Whether the weight matrices are packed for the inference product (`packedForInference`).
    public var isPackedForInference: Bool {
        if case .packedFloat32 = encoderEmbedding { return true }
        return false
    }

    /// This float32 model with its weight matrices also packed for the inference product
    /// (`PackedWeight`, FloatGEMM.h), sharing its parameters; itself when it is int8 or when the
    /// processor cannot run the packed product. Inference only: the packed copies do not follow
    /// changes to the parameters, and the packed ops refuse a tape that records gradients.
    public func packedForInference() -> Transformer {
        guard weightType == .float32, FloatPath.best == .packedAVX2, case .float32 = encoderEmbedding else { return self }
        return Transformer(config: config, weights: WeightSource(parameters: parameters, packsFloat: true))
    }

    private init(config: ModelConfig, weights: WeightSource) {
        self.config = config
        let parameters = weights.parameters
        self.parameters = parameters
        // A matrix that is shared (one name) is one weight, quantized once.
        let names = Transformer.embeddingNames(config: config)
        encoderEmbedding = weights.linear([names.encoder])
        decoderEmbedding = names.decoder == names.encoder ? encoderEmbedding : weights.linear([names.decoder])
        outputProjection = names.output == names.decoder ? decoderEmbedding : weights.linear([names.output])
        finalLogitsBias = parameters.tensor("final_logits_bias")
        positionTable = Tensor(Kernels.sinusoidalPositions(count: config.maxPositions, width: config.modelWidth),
                               shape: [config.maxPositions, config.modelWidth])
        embeddingScale = config.scaleEmbedding ? Float(config.modelWidth).squareRoot() : 1
        encoderLayers = (0..<config.encoderLayers).map {
            EncoderLayer(weights: weights, prefix: "model.encoder.layers.\($0)", config: config)
        }
        decoderLayers = (0..<config.decoderLayers).map {
            DecoderLayer(weights: weights, prefix: "model.decoder.layers.\($0)", config: config)
        }
        var int8Weights: [String: QuantizedWeight] = [:]
        if case .int8 = encoderEmbedding {
            for name in Transformer.matrixNames(config: config) {
                guard case .int8(let weight) = weights.linear([name]) else { preconditionFailure("\(name) is not int8") }
                int8Weights[name] = weight
            }
        }
        self.int8Weights = int8Weights
    }

    /// float32 or int8.
    public var weightType: WeightType {
        if case .int8 = encoderEmbedding { return .int8 }
        return .float32
    }

    /// The parameters that an int8 model holds as int8: every weight matrix — the linear layers'
    /// and the embeddings and output projection, each once however many roles it plays — in layout order.
    public static func matrixNames(config: ModelConfig) -> [String] {
        parameterLayout(config: config).filter { $0.shape.count == 2 && $0.name.hasSuffix(".weight") }.map(\.name)
    }

    /// The parameter names of the encoder's and decoder's embeddings and of the output projection,
    /// as transformers names them; one name for matrices that are one.
    public static func embeddingNames(config: ModelConfig) -> (encoder: String, decoder: String, output: String) {
        let (encoder, decoder) = config.sharesEmbeddings
            ? ("model.shared.weight", "model.shared.weight")
            : ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight")
        return (encoder, decoder, config.tiesOutputProjection ? decoder : "lm_head.weight")
    }

    /// The parameters and their order in the flat buffer, named as in model.safetensors.
    public static func parameterLayout(config: ModelConfig) -> [(name: String, shape: [Int], trainable: Bool)] {
        let (V, Vt, D) = (config.vocabularySize, config.targetVocabularySize, config.modelWidth)
        let names = embeddingNames(config: config)
        var matrices = [(names.encoder, [V, D], true)]
        if names.decoder != names.encoder { matrices.append((names.decoder, [Vt, D], true)) }
        if names.output != names.decoder { matrices.append((names.output, [Vt, D], true)) }
        return matrices + [("final_logits_bias", [1, Vt], false)]
            + (0..<config.encoderLayers).flatMap { EncoderLayer.parameterLayout(prefix: "model.encoder.layers.\($0)", config: config) }
            + (0..<config.decoderLayers).flatMap { DecoderLayer.parameterLayout(prefix: "model.decoder.layers.\($0)", config: config) }
    }

    /// Token embeddings (`table`: the encoder's or the decoder's) × scale + positions (by default
    /// 0 ..< L in each row), with dropout: (B, L, D).
    func embed(ids: [Int32], positions: [Int32]? = nil, batch: Int, length: Int, table: LinearWeight, tape: Tape) -> Tensor {
        let positions = positions ?? (0..<batch).flatMap { _ in (0..<length).map(Int32.init) }
        return tape.embedding(ids: ids, positions: positions, batch: batch, length: length, table: table,
                              scale: embeddingScale, positionTable: positionTable, padId: Int32(config.padId),
                              dropout: config.dropout)
    }

    /// Runs the encoder stack over a padded source batch.
    public func encode(_ source: SourceBatch, tape: Tape) -> EncoderOutput {
        precondition(source.length <= config.maxPositions, "source of \(source.length) positions; the model has \(config.maxPositions)")
        var x = embed(ids: source.ids, batch: source.batch, length: source.length, table: encoderEmbedding, tape: tape)
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
        var x = embed(ids: inputIds, batch: batch, length: length, table: decoderEmbedding, tape: tape)
        var selfAttention: [Tensor] = [], crossAttention: [Tensor] = []
        for layer in decoderLayers {
            let (y, selfProbabilities, crossProbabilities) = layer(x, encoderOutput: encoderOutput, tape: tape)
            x = y
            selfAttention.append(selfProbabilities)
            crossAttention.append(crossProbabilities)
        }
        return DecoderOutput(hidden: x, selfAttention: selfAttention, crossAttention: crossAttention)
    }

    /// logits (…, Vt) = hidden · Wᵀ + final_logits_bias, W the output projection (the tied
    /// embedding matrix in nmt's own models, §3.4).
    public func logits(_ hidden: Tensor, tape: Tape) -> Tensor {
        tape.linear(hidden, weight: outputProjection, bias: finalLogitsBias)
    }

    /// Label-smoothed cross-entropy of the logits of `hidden` (B, T, D) against `labels` (B·T), pad
    /// ignored: `loss(logits: logits(hidden))` without holding all (B, T, V) logits (training uses this).
    public func loss(hidden: Tensor, labels: [Int32], smoothing: Float, tape: Tape) -> Tensor {
        tape.projectedCrossEntropy(hidden, weight: outputProjection.float32, bias: finalLogitsBias, labels: labels,
                                   ignoreLabel: Int32(config.padId), smoothing: smoothing)
    }

    /// Label-smoothed cross-entropy of `logits` (B, T, Vt) against `labels` (B·T), pad ignored.
    public func loss(logits: Tensor, labels: [Int32], smoothing: Float, tape: Tape) -> Tensor {
        tape.crossEntropy(logits, labels: labels, ignoreLabel: Int32(config.padId), smoothing: smoothing)
    }
}
