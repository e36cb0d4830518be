import Foundation
import ImageKernels
import Tensor

/// How AttentionNet is trained: the reference script's recipe (attentionnet_ref.py --train-epochs):
/// batches of 128 drawn from a fresh permutation each epoch (the last partial batch dropped),
/// cross-entropy, SGD with momentum and weight decay 5e-4, PyTorch's OneCycleLR with max 0.05 over
/// all steps (which also cycles the momentum 0.95 → 0.85 → 0.95, overriding SGD's 0.9).
public struct ImageTrainingOptions: Sendable, Equatable {
    public var epochs: Int = 10
    public var batchSize: Int = 128
    public var maximumLearningRate: Double = 0.05
    public var weightDecay: Float = 5e-4
    public var seed: UInt64 = 0

    public init(epochs: Int = 10, batchSize: Int = 128, maximumLearningRate: Double = 0.05, weightDecay: Float = 5e-4, seed: UInt64 = 0) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.maximumLearningRate = maximumLearningRate
        self.weightDecay = weightDecay
        self.seed = seed
    }
}

/// What one epoch did.
public struct ImageEpochReport: Sendable, Equatable {
    public var epoch: Int
    /// The mean loss and the accuracy of the training batches, as the network stood at each step.
    public var trainingLoss: Double
    public var trainingAccuracy: Double
    /// The accuracy on the held-out set after the epoch (nil without one).
    public var testAccuracy: Double?
    public var trainingSeconds: Double
    public var imagesPerSecond: Double
}

/// Trains an `AttentionNet` on an `ImageSet`, one SGD update a batch.
public final class ImageTrainer {
    public let model: AttentionNet
    public let options: ImageTrainingOptions
    public let schedule: OneCycleSchedule
    let optimizer: SGD
    var generator: SeededGenerator

    /// A trainer for `trainingCount` images over `options.epochs`: the schedule spans every step.
    public init(model: AttentionNet, options: ImageTrainingOptions, trainingCount: Int) {
        precondition(options.batchSize >= 1 && trainingCount >= options.batchSize, "ImageTrainer: fewer images than one batch")
        self.model = model
        self.options = options
        let stepsPerEpoch = trainingCount / options.batchSize
        schedule = OneCycleSchedule(maximumRate: options.maximumLearningRate, totalSteps: max(2, options.epochs * stepsPerEpoch))
        optimizer = SGD(parameterCount: model.trainableCount, weightDecay: options.weightDecay)
        generator = SeededGenerator(seed: options.seed &+ 1)
    }

    /// Updates taken so far.
    public var step: Int { optimizer.step }

    /// One update on a batch of normalised images (N, 1, rows, columns) with their labels.
    /// Returns the batch's loss and how many of its images the network got right before the update.
    @discardableResult
    public func update(images: Tensor, labels: [Int32]) -> (loss: Float, correct: Int) {
        model.parameters.zeroGradients()
        let tape = Tape(recording: true, training: true)
        let logits = model.forward(images, tape: tape, training: true).logits
        let correct = Self.correctCount(logits: logits, labels: labels)
        let loss = tape.crossEntropy(logits, labels: labels)
        let lossValue = loss.scalar
        tape.backward(from: loss)
        let (rate, momentum) = schedule.values(step: min(optimizer.step, schedule.totalSteps - 1))
        optimizer.update(parameters: model.parameters.values, gradients: model.parameters.gradients,
                         learningRate: Float(rate), momentum: Float(momentum))
        model.batchesTracked += 1
        return (lossValue, correct)
    }

    /// One pass over `set` in a fresh random order; `progress` hears (batches done, batches in all, mean loss so far).
    public func trainEpoch(_ set: ImageSet, epoch: Int, progress: ((Int, Int, Double) -> Void)? = nil) -> ImageEpochReport {
        let batch = options.batchSize, perImage = set.pixelsPerImage
        var order = Array(0..<set.count)
        order.shuffle(using: &generator)
        let batches = set.count / batch
        var lossSum = 0.0, correct = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var pixels = [UInt8](repeating: 0, count: batch * perImage)
        var labels = [Int32](repeating: 0, count: batch)
        for b in 0..<batches {
            set.images.withUnsafeBufferPointer { source in
                pixels.withUnsafeMutableBufferPointer { target in
                    for i in 0..<batch {
                        let index = order[b * batch + i]
                        (target.baseAddress! + i * perImage).update(from: source.baseAddress! + index * perImage, count: perImage)
                        labels[i] = Int32(set.labels[index])
                    }
                }
            }
            let images = pixels.withUnsafeBufferPointer { model.normalizedImages($0, count: batch) }
            let result = update(images: images, labels: labels)
            lossSum += Double(result.loss)
            correct += result.correct
            progress?(b + 1, batches, lossSum / Double(b + 1))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return ImageEpochReport(epoch: epoch, trainingLoss: lossSum / Double(max(batches, 1)),
                                trainingAccuracy: Double(correct) / Double(max(batches * batch, 1)), testAccuracy: nil,
                                trainingSeconds: seconds, imagesPerSecond: Double(batches * batch) / seconds)
    }

    /// The fraction of `set` the model classifies correctly (inference: running statistics).
    public static func accuracy(of model: AttentionNet, on set: ImageSet) -> Double {
        guard set.count > 0 else { return 0 }
        let logits = model.logits(pixels: set.images, count: set.count)
        let classes = model.config.classNames.count
        var correct = 0
        for i in 0..<set.count where argmax(logits, row: i, width: classes) == Int(set.labels[i]) { correct += 1 }
        return Double(correct) / Double(set.count)
    }

    /// The mean and standard deviation (unbiased, as torch's `Tensor.std()`) of pixel/255 over
    /// every pixel of `set`: the normalization the reference script applies.
    public static func normalization(of set: ImageSet) -> AttentionNetConfig.Normalization {
        var histogram = [Int](repeating: 0, count: 256)
        for pixel in set.images { histogram[Int(pixel)] += 1 }
        let n = Double(set.images.count)
        let mean = histogram.indices.reduce(0.0) { $0 + Double(histogram[$1]) * Double($1) / 255 } / n
        let squares = histogram.indices.reduce(0.0) { total, value in
            let d = Double(value) / 255 - mean
            return total + Double(histogram[value]) * d * d
        }
        return .init(mean: Float(mean), std: Float((squares / max(n - 1, 1)).squareRoot()))
    }

    static func correctCount(logits: Tensor, labels: [Int32]) -> Int {
        let width = logits.size(1)
        return logits.values.withUnsafeBufferPointer { values in
            labels.indices.filter { argmax(values, row: $0, width: width) == Int(labels[$0]) }.count
        }
    }

    static func argmax<C: RandomAccessCollection>(_ values: C, row: Int, width: Int) -> Int where C.Element == Float, C.Index == Int {
        var best = 0
        for j in 1..<width where values[row * width + j] > values[row * width + best] { best = j }
        return best
    }
}
