import Tensor

/// One decoder layer (§3.1), post-norm: masked self-attention, encoder–decoder attention, and the
/// feed-forward network, each followed by dropout, the residual add and a layer norm. The layer
/// runs over a whole target at once (training, teacher forcing) or one position at a time with its
/// keys and values cached (`step`, generation); the two are written side by side below.
public struct DecoderLayer {
    let selfAttention: MultiHeadAttention
    let selfAttentionNorm: LayerNormParameters
    let crossAttention: MultiHeadAttention
    let crossAttentionNorm: LayerNormParameters
    let feedForward: FeedForward
    let finalNorm: LayerNormParameters
    let dropout: Float

    static func parameterLayout(prefix: String, config: ModelConfig) -> [(name: String, shape: [Int], trainable: Bool)] {
        let D = config.modelWidth
        return MultiHeadAttention.parameterLayout(prefix: "\(prefix).self_attn", width: D)
            + LayerNormParameters.parameterLayout(name: "\(prefix).self_attn_layer_norm", width: D)
            + MultiHeadAttention.parameterLayout(prefix: "\(prefix).encoder_attn", width: D)
            + LayerNormParameters.parameterLayout(name: "\(prefix).encoder_attn_layer_norm", width: D)
            + FeedForward.parameterLayout(prefix: prefix, width: D, hidden: config.decoderFeedForwardWidth)
            + LayerNormParameters.parameterLayout(name: "\(prefix).final_layer_norm", width: D)
    }

    init(weights: WeightSource, prefix: String, config: ModelConfig) {
        let parameters = weights.parameters
        selfAttention = MultiHeadAttention(weights: weights, prefix: "\(prefix).self_attn", heads: config.decoderHeads,
                                           dropout: config.attentionDropout)
        selfAttentionNorm = LayerNormParameters(parameters: parameters, name: "\(prefix).self_attn_layer_norm")
        crossAttention = MultiHeadAttention(weights: weights, prefix: "\(prefix).encoder_attn", heads: config.decoderHeads,
                                           dropout: config.attentionDropout)
        crossAttentionNorm = LayerNormParameters(parameters: parameters, name: "\(prefix).encoder_attn_layer_norm")
        feedForward = FeedForward(weights: weights, prefix: prefix, activation: config.activation,
                                  activationDropout: config.activationDropout)
        finalNorm = LayerNormParameters(parameters: parameters, name: "\(prefix).final_layer_norm")
        dropout = config.dropout
    }

    /// The whole target at once (teacher forcing): x (B, T, D) → (B, T, D), with the masked
    /// self-attention (B, H, T, T) and cross-attention (B, H, T, S) probabilities.
    func callAsFunction(_ x: Tensor, encoderOutput: EncoderOutput, tape: Tape) -> (Tensor, Tensor, Tensor) {
        let (attended, selfProbabilities) = selfAttention.selfAttention(x, keyPadding: nil, causal: true,
                                                                        residualDropout: dropout, tape: tape)
        let h1 = selfAttentionNorm(attended, tape: tape)
        let keysAndValues = crossAttention.projectKeysAndValues(encoderOutput.memory, tape: tape)
        let (crossed, crossProbabilities) = crossAttention.crossAttention(
            h1, keysAndValues: keysAndValues, keyPadding: encoderOutput.keyPadding, residualDropout: dropout, tape: tape)
        let h2 = crossAttentionNorm(crossed, tape: tape)
        let y = finalNorm(feedForward(h2, residualDropout: dropout, tape: tape), tape: tape)
        return (y, selfProbabilities, crossProbabilities)
    }

    /// One position for every row (§3.2.3: a position attends only to earlier ones, so their keys
    /// and values never change and are kept): x (rows, 1, D) → (rows, 1, D), what `callAsFunction`
    /// computes at the last position of the target, without dropout. Reads the earlier positions'
    /// keys and values from `cache` and adds this position's.
    func step(_ x: Tensor, cache: DecoderLayerCache, tape: Tape) -> Tensor {
        let h1 = selfAttentionNorm(selfAttention.selfAttentionStep(x, cache: cache.selfAttention, tape: tape), tape: tape)
        let h2 = crossAttentionNorm(crossAttention.crossAttentionStep(h1, memory: cache.crossAttention, tape: tape), tape: tape)
        return finalNorm(feedForward(h2, residualDropout: 0, tape: tape), tape: tape)
    }
}

/// Where one decoding step of a layer finds the keys and values it attends to (kept by
/// `IncrementalDecoder`, which owns the buffers and the tables).
struct DecoderLayerCache {
    var selfAttention: SelfAttentionCache
    var crossAttention: CrossAttentionMemory
}

/// What the decoder stack returns for a teacher-forced target.
public struct DecoderOutput {
    /// (B, T, D), the last layer's output.
    public let hidden: Tensor
    /// One (B, H, T, T) tensor a layer.
    public let selfAttention: [Tensor]
    /// One (B, H, T, S) tensor a layer.
    public let crossAttention: [Tensor]
}
