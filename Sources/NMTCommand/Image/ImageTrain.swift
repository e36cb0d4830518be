import ArgumentParser
import Foundation
import ImageClassification
import Tensor
import TextIO

/// `nmt image train`: trains AttentionNet on Fashion-MNIST with the reference script's recipe
/// (see `ImageTrainingOptions`), reports the test accuracy after every epoch and saves the model
/// to --output after every epoch, so an interrupted run keeps its last finished epoch.
struct ImageTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the AttentionNet image classifier on Fashion-MNIST."
    )

    @Option(help: "Passes over the 60,000 training images.")
    var epochs = 10
    @Option(help: "Directory with the four Fashion-MNIST .gz files (default: \(FashionMNIST.defaultDirectory.path)).")
    var data: String?
    @Option(help: "Model directory to write (config.json, model.safetensors, training-log.tsv).")
    var output: String
    @Option(help: "Images an update.")
    var batchSize = 128
    @Option(help: "Peak learning rate of the one-cycle schedule.")
    var learningRate = 0.05
    @Option(help: "SGD weight decay.")
    var weightDecay: Float = 5e-4
    @Option(help: "Random seed (initial weights and batch order).")
    var seed: UInt64 = 0
    @OptionGroup var computation: ThreadOptions
    @Flag(help: "Store the weights as float16 (half the size; the shipped model's format).")
    var halfPrecision = false
    @Option(help: "Train on the first N training images only (quick runs, tests).")
    var limit: Int?
    @OptionGroup var replacing: OverwriteOption

    func validate() throws {
        for (name, value) in [("--epochs", epochs), ("--batch-size", batchSize)] where value < 1 {
            throw CommandError("\(name) must be at least 1, got \(value)")
        }
        guard learningRate > 0, learningRate.isFinite else { throw CommandError("--learning-rate must be positive, got \(learningRate)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw CommandError("--weight-decay must be 0 or more, got \(weightDecay)") }
        if let limit, limit < batchSize { throw CommandError("--limit \(limit) is smaller than one batch (--batch-size \(batchSize))") }
    }

    func run() throws {
        try OutputLocation.checkModelDirectory(output, option: "--output", overwrite: replacing.overwrite)
        computation.configure()
        let directory = data.map { URL(fileURLWithPath: $0) } ?? FashionMNIST.defaultDirectory
        var training: ImageSet, test: ImageSet
        do {
            training = try FashionMNIST.load(.train, from: directory)
            test = try FashionMNIST.load(.test, from: directory)
        } catch let error as ImageDataError {
            throw CommandError(error.description)
        }
        if let limit, limit < training.count {
            training = ImageSet(images: Array(training.images.prefix(limit * training.pixelsPerImage)),
                                labels: Array(training.labels.prefix(limit)), rows: training.rows, columns: training.columns)
        }
        guard training.count >= batchSize else {
            throw CommandError("\(directory.path): \(training.count) training images, fewer than one batch of \(batchSize)")
        }
        // Before the first epoch: a directory that cannot be written is found now, not after minutes.
        let outputURL = URL(fileURLWithPath: output)
        try Self.checkWritable(outputURL)
        let config = AttentionNetConfig(normalization: ImageTrainer.normalization(of: training), classNames: FashionMNIST.classNames)
        let model = AttentionNet(config: config)
        var generator = SeededGenerator(seed: seed)
        model.initialize(generator: &generator)
        let options = ImageTrainingOptions(epochs: epochs, batchSize: batchSize, maximumLearningRate: learningRate,
                                           weightDecay: weightDecay, seed: seed)
        let trainer = ImageTrainer(model: model, options: options, trainingCount: training.count)
        print("AttentionNet: \(model.trainableCount) parameters; \(training.count) training images, \(test.count) test images; "
              + "normalization mean \(config.normalization.mean) std \(config.normalization.std); \(computation.threads) threads")
        fflush(stdout)
        var log = "epoch\ttraining_loss\ttraining_accuracy\ttest_accuracy\tseconds\timages_per_second\n"
        let start = DispatchTime.now().uptimeNanoseconds
        for epoch in 1...epochs {
            var report = trainer.trainEpoch(training, epoch: epoch)
            report.testAccuracy = ImageTrainer.accuracy(of: model, on: test)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print(String(format: "epoch %d/%d: loss %.4f, training accuracy %.4f, test accuracy %.4f, %.0f s (%.0f images/s), %.0f s in all",
                         epoch, epochs, report.trainingLoss, report.trainingAccuracy, report.testAccuracy!, report.trainingSeconds,
                         report.imagesPerSecond, elapsed))
            fflush(stdout)
            log += String(format: "%d\t%.5f\t%.5f\t%.5f\t%.1f\t%.1f\n", epoch, report.trainingLoss, report.trainingAccuracy,
                          report.testAccuracy!, report.trainingSeconds, report.imagesPerSecond)
            do {
                try model.save(directory: outputURL, halfPrecision: halfPrecision)
                try Data(log.utf8).write(to: outputURL.appendingPathComponent("training-log.tsv"), options: .atomic)
            } catch let error as AttentionNetError {
                throw CommandError(error.description)
            } catch {
                throw CommandError("\(outputURL.path): cannot write training-log.tsv (\(FileError.reason(for: error)))")
            }
        }
        print("saved \(outputURL.path)")
    }

    /// The model directory exists (or is created) and takes a file.
    static func checkWritable(_ url: URL) throws {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CommandError("\(url.path): exists and is not a directory (--output names the model directory to write)")
        }
        let probe = url.appendingPathComponent(".nmt-write-check-\(getpid())")
        do {
            try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
            try Data().write(to: probe)
            try fileManager.removeItem(at: probe)
        } catch {
            throw CommandError("\(url.path): cannot write the model directory (\(FileError.reason(for: error)))")
        }
    }
}
