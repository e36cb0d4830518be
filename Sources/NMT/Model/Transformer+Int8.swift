import Tensor

/// Converting a model between float32 and int8 weights (docs/DESIGN.md, "Quantized inference").
extension Transformer {
    /// This model with int8 weight matrices (one scale per output row), for inference; the other
    /// parameters are copied. A matrix holding an infinity or NaN is a `ModelError` naming it.
    public func quantized() throws -> Transformer {
        if weightType == .int8 { return self }
        let model = Transformer(config: config, int8: try int8Matrices())
        model.copyFloatParameters(from: self)
        return model
    }

    /// This model with float32 weights: an int8 model's matrices given back from their codes
    /// (codes · (1 / scale), as the int8 kernels read them); a float32 model is itself.
    public func dequantized() -> Transformer {
        if weightType == .float32 { return self }
        let model = Transformer(config: config)
        model.copyFloatParameters(from: self)
        for (name, weight) in int8Weights {
            let values = model.parameters.valueBuffer(name)
            for r in 0..<weight.outFeatures { weight.dequantizeRow(r, into: values.baseAddress! + r * weight.inFeatures) }
        }
        return model
    }

    /// Every weight matrix as int8 codes and scales, by name: an int8 model's own, a float32
    /// model's quantized now.
    public func int8Matrices() throws -> [String: QuantizedMatrix] {
        var matrices: [String: QuantizedMatrix] = [:]
        for name in Transformer.matrixNames(config: config) {
            do {
                if let weight = int8Weights[name] {
                    matrices[name] = try QuantizedMatrix(codes: Array(weight.codes), scales: Array(weight.scales),
                                                         shape: [weight.outFeatures, weight.inFeatures])
                } else {
                    let entry = parameters.entry(name)!
                    matrices[name] = try QuantizedMatrix(quantizing: UnsafeBufferPointer(parameters.valueBuffer(name)), shape: entry.shape)
                }
            } catch {
                throw ModelError("tensor \(name): \(error.description)")
            }
        }
        return matrices
    }

    /// Copies every parameter both stores hold (the biases, norms and logits bias).
    private func copyFloatParameters(from other: Transformer) {
        for entry in parameters.entries where other.parameters.entry(entry.name) != nil {
            _ = parameters.valueBuffer(entry.name).update(fromContentsOf: other.parameters.valueBuffer(entry.name))
        }
    }
}
