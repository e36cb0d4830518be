import Tensor

/// One encoder layer (§3.1), post-norm as in the paper and Marian:
/// x = LN(x + SelfAttn(x)); x = LN(x + FFN(x)), with dropout on each sublayer's output.
public struct EncoderLayer {
    let selfAttention: MultiHeadAttention
    let selfAttentionNorm: LayerNormParameters
    let feedForward: FeedForward
    let finalNorm: LayerNormParameters
    let dropout: Float

    static func parameterLayout(prefix: String, config: ModelConfig) -> [(name: String, shape: [Int], trainable: Bool)] {
        let D = config.modelWidth
        return MultiHeadAttention.parameterLayout(prefix: "\(prefix).self_attn", width: D)
            + LayerNormParameters.parameterLayout(name: "\(prefix).self_attn_layer_norm", width: D)
            + FeedForward.parameterLayout(prefix: prefix, width: D, hidden: config.encoderFeedForwardWidth)
            + LayerNormParameters.parameterLayout(name: "\(prefix).final_layer_norm", width: D)
    }

    init(weights: WeightSource, prefix: String, config: ModelConfig) {
        let parameters = weights.parameters
        selfAttention = MultiHeadAttention(weights: weights, prefix: "\(prefix).self_attn", heads: config.encoderHeads,
                                           dropout: config.attentionDropout)
        selfAttentionNorm = LayerNormParameters(parameters: parameters, name: "\(prefix).self_attn_layer_norm")
        feedForward = FeedForward(weights: weights, prefix: prefix, activation: config.activation,
                                  activationDropout: config.activationDropout)
        finalNorm = LayerNormParameters(parameters: parameters, name: "\(prefix).final_layer_norm")
        dropout = config.dropout
    }

    /// x (B, S, D) → (B, S, D), and the self-attention probabilities (B, H, S, S).
    func callAsFunction(_ x: Tensor, keyPadding: [UInt8], tape: Tape) -> (Tensor, Tensor) {
        let (attended, probabilities) = selfAttention.selfAttention(x, keyPadding: keyPadding, causal: false,
                                                                    residualDropout: dropout, tape: tape)
        let h = selfAttentionNorm(attended, tape: tape)
        let y = finalNorm(feedForward(h, residualDropout: dropout, tape: tape), tape: tape)
        return (y, probabilities)
    }
}

/// A padded batch of source sequences (each already ending with EOS).
public struct SourceBatch {
    /// (B·S) ids, pad after each sequence's end.
    public let ids: [Int32]
    /// (B·S): 1 where the position is padding.
    public let keyPadding: [UInt8]
    public let batch: Int
    public let length: Int
    /// The real length of each sequence.
    public let lengths: [Int]

    public init(sequences: [[Int]], padId: Int) {
        precondition(!sequences.isEmpty, "a batch needs at least one sequence")
        batch = sequences.count
        length = sequences.map(\.count).max()!
        lengths = sequences.map(\.count)
        var ids = [Int32](repeating: Int32(padId), count: batch * length)
        var padding = [UInt8](repeating: 1, count: batch * length)
        for (b, sequence) in sequences.enumerated() {
            for (s, id) in sequence.enumerated() {
                ids[b * length + s] = Int32(id)
                padding[b * length + s] = 0
            }
        }
        self.ids = ids
        self.keyPadding = padding
    }
}

/// What the encoder hands the decoder: the memory and, for inspection, each layer's attention.
public struct EncoderOutput {
    /// (B, S, D), the last layer's output.
    public let memory: Tensor
    /// (B·S), 1 at padded source positions.
    public let keyPadding: [UInt8]
    /// One (B, H, S, S) tensor a layer.
    public let selfAttention: [Tensor]
}
