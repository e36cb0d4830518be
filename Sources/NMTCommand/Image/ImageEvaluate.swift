import ArgumentParser
import Foundation
import ImageClassification

/// `nmt image evaluate`: accuracy and confusion matrix of a model on a Fashion-MNIST split.
struct ImageEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Accuracy of an AttentionNet model on Fashion-MNIST, with the confusion matrix.",
        discussion: """
            Classifies every image of the split (the 10,000 test images by default) and prints \
            the confusion matrix — a row per true class, a column per predicted class, the \
            correct ones on the diagonal — with each class's accuracy, then the overall accuracy. \
            --format json prints one object: {"accuracy", "correct", "count", "classes", \
            "class_accuracy", "confusion_matrix"}.

              nmt image evaluate
              nmt image evaluate --model runs/fashion --format json
            """
    )

    @OptionGroup var modelOptions: ImageModelOptions
    @OptionGroup var dataOptions: ImageDataOptions

    @Option(help: "Which split: test or train.")
    var split: SplitOption = .test

    @Option(help: ArgumentHelp("Only the first N images of the split.", valueName: "n"))
    var limit: Int?

    @Option(help: "text (the table) or json (one object).")
    var format: EvaluationFormat = .text

    enum SplitOption: String, ExpressibleByArgument, CaseIterable {
        case test, train
        var split: FashionMNIST.Split { self == .test ? .test : .train }
    }

    func validate() throws {
        if let limit, limit < 1 { throw CommandError("--limit must be at least 1, got \(limit)") }
    }

    func run() throws {
        let model = try modelOptions.loadModel()
        var set = try dataOptions.load(split.split)
        let config = model.config
        guard set.rows == config.imageRows, set.columns == config.imageColumns else {
            throw CommandError("the model reads \(config.imageRows)×\(config.imageColumns) pictures, the data set's are \(set.rows)×\(set.columns)")
        }
        guard config.classNames.count == FashionMNIST.classNames.count else {
            throw CommandError("the model has \(config.classNames.count) classes, Fashion-MNIST \(FashionMNIST.classNames.count)")
        }
        guard set.count > 0 else {
            throw CommandError("\(dataOptions.directory.appendingPathComponent(split.split.imagesFile).path): the \(split.rawValue) split has no images")
        }
        if let limit, limit < set.count {
            set = ImageSet(images: Array(set.images.prefix(limit * set.pixelsPerImage)), labels: Array(set.labels.prefix(limit)),
                           rows: set.rows, columns: set.columns)
        }
        var matrix = ConfusionMatrix(classNames: config.classNames)
        // In slices, so the logits of 60,000 images never sit in memory at once beside their activations.
        let slice = 1000
        for start in stride(from: 0, to: set.count, by: slice) {
            let end = min(start + slice, set.count)
            let logits = model.logits(pixels: Array(set.images[start * set.pixelsPerImage..<end * set.pixelsPerImage]), count: end - start)
            matrix.add(labels: set.labels[start..<end], logits: logits)
        }
        switch format {
        case .text:
            let model = modelOptions.model ?? ShippedImageModel.relativePath
            print("\(model) on Fashion-MNIST's \(split.rawValue) split (\(set.count) images)")
            print("")
            print(matrix.text(), terminator: "")
        case .json:
            print(matrix.json(), terminator: "")
        }
    }
}
