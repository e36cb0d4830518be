import Foundation
import ImageKernels
import Tensor

/// A convolutional image classifier with a self-attention layer over its last feature map — the
/// network of ../shared/bench/attentionnet_ref.py, with PyTorch's module names for its parameters:
///
///     x (N, 1, 28, 28)
///     conv1     ConvBlock(1 → 64):    conv 3×3 pad 1 → BN → ReLU                       (N, 64, 28, 28)
///     res1      ResBlock(64 → 128, stride 2)                                          (N, 128, 14, 14)
///     res2      ResBlock(128 → 256, stride 2)                                         (N, 256, 7, 7)
///               ResBlock: relu(BN(conv 3×3(relu(BN(conv 3×3 stride s(x))))) + BN(conv 1×1 stride s(x)))
///     attention SelfAttention(256): q, k 1×1 → 32, v 1×1 → 256, softmax over the 49 positions,
///               γ·attended + x with γ learned from 0 (SAGAN, Zhang et al. 2019)          (N, 256, 7, 7)
///     pool      mean over the 7×7 positions                                              (N, 256)
///     fc        Linear(256 → classes)                                                    (N, classes)
///
/// Every parameter lives in one `ParameterStore`: the trained ones first (so SGD runs over one
/// prefix), then the batch-norm running statistics, which are PyTorch buffers. The q, k and v
/// weights lie side by side, so one 1×1 convolution computes all three.
public final class AttentionNet {
    public let config: AttentionNetConfig
    public let parameters: ParameterStore
    /// The trained parameters are `parameters.values[0 ..< trainableCount]`.
    public let trainableCount: Int
    /// PyTorch's `num_batches_tracked` of every batch norm: the training steps taken.
    public var batchesTracked: Int = 0

    /// Channels of the attention layer's queries and keys: C / 8, as the reference.
    public static let attentionChannels = 32
    static let widths = (stem: 64, first: 128, second: 256)

    /// The batch norms, by module name.
    static let batchNorms = ["conv1.bn", "res1.bn1", "res1.bn2", "res1.short.1", "res2.bn1", "res2.bn2", "res2.short.1"]

    private var views: [String: Tensor] = [:]

    public init(config: AttentionNetConfig) {
        self.config = config
        let layout = Self.layout(classes: config.classNames.count)
        parameters = ParameterStore(layout: layout)
        trainableCount = layout.filter(\.trainable).reduce(0) { $0 + Tensor.elementCount($1.shape) }
        for entry in parameters.entries { views[entry.name] = parameters.tensor(entry.name) }
        views["attention.qkv.weight"] = parameters.tensor(spanning: ["attention.q.weight", "attention.k.weight", "attention.v.weight"])
        views["attention.qkv.bias"] = parameters.tensor(spanning: ["attention.q.bias", "attention.k.bias", "attention.v.bias"])
        // Running variances start at 1, as PyTorch's.
        for bn in Self.batchNorms { parameters.valueBuffer("\(bn).running_var").update(repeating: 1) }
    }

    /// The names, shapes and kinds of every parameter, in storage order.
    static func layout(classes: Int) -> [(name: String, shape: [Int], trainable: Bool)] {
        var trained: [(String, [Int])] = []
        func conv(_ name: String, _ input: Int, _ output: Int, _ kernel: Int) {
            trained.append(("\(name).weight", [output, input, kernel, kernel]))
            trained.append(("\(name).bias", [output]))
        }
        func batchNorm(_ name: String, _ channels: Int) {
            trained.append(("\(name).weight", [channels]))
            trained.append(("\(name).bias", [channels]))
        }
        func resBlock(_ name: String, _ input: Int, _ output: Int) {
            conv("\(name).conv1", input, output, 3); batchNorm("\(name).bn1", output)
            conv("\(name).conv2", output, output, 3); batchNorm("\(name).bn2", output)
            conv("\(name).short.0", input, output, 1); batchNorm("\(name).short.1", output)
        }
        let (stem, first, second) = widths
        conv("conv1.conv", 1, stem, 3); batchNorm("conv1.bn", stem)
        resBlock("res1", stem, first)
        resBlock("res2", first, second)
        let q = attentionChannels
        for (name, output) in [("q", q), ("k", q), ("v", second)] { trained.append(("attention.\(name).weight", [output, second, 1, 1])) }
        for (name, output) in [("q", q), ("k", q), ("v", second)] { trained.append(("attention.\(name).bias", [output])) }
        trained.append(("attention.gamma", [1]))
        trained.append(("fc.weight", [classes, second]))
        trained.append(("fc.bias", [classes]))
        let buffers = batchNorms.flatMap { bn -> [(String, [Int])] in
            let channels = bn.hasPrefix("conv1") ? stem : bn.hasPrefix("res1") ? first : second
            return [("\(bn).running_mean", [channels]), ("\(bn).running_var", [channels])]
        }
        return trained.map { ($0.0, $0.1, true) } + buffers.map { ($0.0, $0.1, false) }
    }

    /// The parameter (or buffer) `name` as a tensor view.
    public func parameter(_ name: String) -> Tensor {
        guard let view = views[name] else { preconditionFailure("AttentionNet has no parameter \(name)") }
        return view
    }

    /// PyTorch's default initialisation: convolution and linear weights and biases from
    /// U(−1/√fanIn, 1/√fanIn) (`kaiming_uniform_` with a = √5), batch norm γ = 1, β = 0, attention γ = 0.
    public func initialize(generator: inout SeededGenerator) {
        for entry in parameters.entries where entry.trainable {
            let values = parameters.valueBuffer(entry.name)
            if entry.name.hasSuffix("gamma") {
                values.update(repeating: 0)
            } else if Self.batchNorms.contains(where: { entry.name.hasPrefix($0 + ".") }) {
                values.update(repeating: entry.name.hasSuffix(".weight") ? 1 : 0)
            } else {
                let weightShape = parameters.entry(entry.name.replacingOccurrences(of: ".bias", with: ".weight"))!.shape
                let bound = 1 / Float(weightShape.dropFirst().reduce(1, *)).squareRoot()
                for i in values.indices { values[i] = (2 * generator.nextUnitFloat() - 1) * bound }
            }
        }
        for bn in Self.batchNorms {
            parameters.valueBuffer("\(bn).running_mean").update(repeating: 0)
            parameters.valueBuffer("\(bn).running_var").update(repeating: 1)
        }
        batchesTracked = 0
    }

    // MARK: - Forward

    /// Logits (N, classes) and the attention weights (N, 49, 49) of normalised images (N, 1, 28, 28).
    /// `training`: batch statistics in the batch norms, whose running averages are updated.
    public func forward(_ images: Tensor, tape: Tape, training: Bool) -> (logits: Tensor, attention: Tensor) {
        precondition(images.shape.count == 4 && images.size(1) == 1 && images.size(2) == config.imageRows
                     && images.size(3) == config.imageColumns, "AttentionNet: images \(images.shape)")
        var x = convBatchNorm(images, conv: "conv1.conv", batchNorm: "conv1.bn", stride: 1, relu: true, tape: tape, training: training)
        x = resBlock(x, "res1", tape: tape, training: training)       // (N, 128, 14, 14)
        x = resBlock(x, "res2", tape: tape, training: training)       // (N, 256, 7, 7)
        let qkv = tape.conv2d(x, weight: parameter("attention.qkv.weight"), bias: parameter("attention.qkv.bias"))
        let (attended, attention) = tape.spatialSelfAttention(qkv: qkv, input: x, gamma: parameter("attention.gamma"),
                                                              queryChannels: Self.attentionChannels)
        let pooled = tape.globalAveragePool(attended)                 // (N, 256)
        let logits = tape.linear(pooled, weight: parameter("fc.weight"), bias: parameter("fc.bias"))
        return (logits, attention)
    }

    private func resBlock(_ x: Tensor, _ name: String, tape: Tape, training: Bool) -> Tensor {
        let h = convBatchNorm(x, conv: "\(name).conv1", batchNorm: "\(name).bn1", stride: 2, relu: true, tape: tape, training: training)
        let main = convBatchNorm(h, conv: "\(name).conv2", batchNorm: "\(name).bn2", stride: 1, relu: false, tape: tape, training: training)
        let shortcut = convBatchNorm(x, conv: "\(name).short.0", batchNorm: "\(name).short.1", stride: 2, relu: false, tape: tape, training: training)
        return tape.addReLU(main, shortcut)
    }

    private func convBatchNorm(_ x: Tensor, conv: String, batchNorm: String, stride: Int, relu: Bool, tape: Tape, training: Bool) -> Tensor {
        let weight = parameter("\(conv).weight")
        let y = tape.conv2d(x, weight: weight, bias: parameter("\(conv).bias"), stride: stride, padding: weight.size(2) / 2)
        return tape.batchNorm(y, weight: parameter("\(batchNorm).weight"), bias: parameter("\(batchNorm).bias"),
                              runningMean: parameter("\(batchNorm).running_mean"), runningVariance: parameter("\(batchNorm).running_var"),
                              training: training, relu: relu)
    }

    // MARK: - Inference on raw pixels

    /// The network input for raw 8-bit pixels (count × rows × columns): (pixel/255 − mean) / std.
    public func normalizedImages(_ pixels: UnsafeBufferPointer<UInt8>, count: Int) -> Tensor {
        let (rows, columns) = (config.imageRows, config.imageColumns)
        precondition(pixels.count == count * rows * columns, "AttentionNet: \(pixels.count) pixels for \(count) images of \(rows)×\(columns)")
        let x = Tensor(uninitialized: [count, 1, rows, columns])
        let scale = 1 / (255 * config.normalization.std), shift = config.normalization.mean / config.normalization.std
        for i in 0..<pixels.count { x.data[i] = Float(pixels[i]) * scale - shift }
        return x
    }

    /// Images a forward pass takes at once at inference, to bound the activations' memory (~0.5 MB an image).
    static let inferenceChunk = 200

    /// Inference (running BN statistics): raw 8-bit pixels, count × 28 × 28 → count × classes logits.
    public func logits(pixels: [UInt8], count: Int) -> [Float] {
        let perImage = config.imageRows * config.imageColumns
        precondition(pixels.count == count * perImage, "AttentionNet.logits: \(pixels.count) pixels for \(count) images")
        let classes = config.classNames.count
        var result = [Float](repeating: 0, count: count * classes)
        pixels.withUnsafeBufferPointer { all in
            for start in stride(from: 0, to: count, by: Self.inferenceChunk) {
                let n = min(Self.inferenceChunk, count - start)
                let chunk = UnsafeBufferPointer(rebasing: all[(start * perImage)..<((start + n) * perImage)])
                let logits = forward(normalizedImages(chunk, count: n), tape: .inference, training: false).logits
                for i in 0..<(n * classes) { result[start * classes + i] = logits.data[i] }
            }
        }
        return result
    }

    /// The self-attention layer's 49 × 49 softmax weights for one image (row = query position,
    /// positions in row-major order of the 7×7 map).
    public func attentionMap(pixels: [UInt8]) -> [Float] {
        pixels.withUnsafeBufferPointer { p in
            forward(normalizedImages(p, count: 1), tape: .inference, training: false).attention.values
        }
    }
}
