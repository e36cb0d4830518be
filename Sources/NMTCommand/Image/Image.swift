import ArgumentParser
import Foundation
import ImageClassification

/// `nmt image`: the second model of the toolkit, AttentionNet, an image classifier whose
/// self-attention layer looks across a 7×7 map of the picture as the translator's looks across
/// a sentence.
struct Image: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Classify Fashion-MNIST pictures with AttentionNet, and look at its self-attention.",
        discussion: """
            AttentionNet reads a 28×28 grayscale picture through convolutions and residual blocks \
            down to a 7×7 map, lets every cell of the map attend to every other (self-attention, \
            as in the translator's encoder), pools and picks one of Fashion-MNIST's ten classes. \
            The data is Debian's dataset-fashion-mnist (\(FashionMNIST.defaultDirectory.path)); \
            the shipped model is \(ShippedImageModel.relativePath).

              nmt image train --epochs 10 --output runs/fashion
              nmt image evaluate
              nmt image classify --index 0
              nmt image classify shirt.png
              nmt image attention --index 0 --query 3,3 --svg attention.svg
            """,
        subcommands: [ImageTrain.self, ImageEvaluate.self, ImageClassify.self, ImageAttention.self]
    )
}

/// The AttentionNet trained on Fashion-MNIST that ships in the repository.
enum ShippedImageModel {
    static let relativePath = "models/attentionnet-fashion"
}

/// `--model` and `--threads` of the commands that run AttentionNet.
struct ImageModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("An AttentionNet model directory (config.json, model.safetensors). Default: the shipped \(ShippedImageModel.relativePath).", valueName: "dir"))
    var model: String?

    @OptionGroup var computation: ThreadOptions

    func modelDirectory() throws -> URL {
        try ShippedModel.directory(given: model, relativePath: ShippedImageModel.relativePath)
    }

    /// Sets up threads and loads the model.
    func loadModel() throws -> AttentionNet {
        computation.configure()
        do {
            return try AttentionNet.load(directory: try modelDirectory())
        } catch let error as AttentionNetError {
            throw CommandError(error.description)
        }
    }
}

/// `--data`: where the Fashion-MNIST files are.
struct ImageDataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The folder with Fashion-MNIST's .gz files. (default: \(FashionMNIST.defaultDirectory.path), from apt-get install dataset-fashion-mnist)", valueName: "dir"))
    var data: String?

    var directory: URL { data.map { URL(fileURLWithPath: $0) } ?? FashionMNIST.defaultDirectory }

    func load(_ split: FashionMNIST.Split) throws -> ImageSet {
        do {
            return try FashionMNIST.load(split, from: directory)
        } catch let error as ImageDataError {
            throw CommandError(error.description)
        }
    }
}

/// The one picture `classify` and `attention` look at: a PNG file, or an image of the test split.
struct ImageInput {
    /// Raw pixels at the model's size.
    var pixels: [UInt8]
    /// "t10k image 0" or the file's path, with how it was changed to fit.
    var description: String
    /// The true class, for a picture of the data set.
    var label: Int?
}

/// The picture a command looks at: a PNG file or `--index N` of the test split, and `--invert`.
struct ImageInputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("A PNG picture: any colour type, not interlaced; made gray and resized to 28×28 by area averaging.", valueName: "file.png"))
    var file: String?

    @Option(help: ArgumentHelp("Instead of a file, image N (from 0) of Fashion-MNIST's test split.", valueName: "n"))
    var index: Int?

    @Flag(help: ArgumentHelp("Invert the picture. Fashion-MNIST's pictures are light clothes on black; a photo or drawing of dark on light needs this."))
    var invert = false

    func validate() throws {
        if file != nil && index != nil { throw ValidationError("Give a PNG file or --index, not both.") }
        if file == nil && index == nil { throw ValidationError("Give a PNG file, or --index N for an image of the test split.") }
        if let index, index < 0 { throw CommandError("--index must be 0 or more, got \(index)") }
    }

    /// Reads the picture: `--index N` of the test split, or a PNG (converted to gray, resized to
    /// the model's size), inverted with `--invert`.
    func load(data: ImageDataOptions, rows: Int, columns: Int) throws -> ImageInput {
        if let index {
            let set = try data.load(.test)
            guard index < set.count else {
                let range = set.count == 0 ? "no images" : "\(set.count) images (0–\(set.count - 1))"
                throw CommandError("--index \(index) is out of range: the test split has \(range)")
            }
            guard set.rows == rows, set.columns == columns else {
                throw CommandError("the model reads \(rows)×\(columns) pictures, the data set's are \(set.rows)×\(set.columns)")
            }
            var pixels = Array(set.pixels(of: index))
            if invert { pixels = pixels.map { 255 - $0 } }
            return ImageInput(pixels: pixels, description: "test image \(index)\(invert ? ", inverted" : "")", label: Int(set.labels[index]))
        }
        let path = file!
        let image: GrayImage
        do {
            image = try PNG.read(URL(fileURLWithPath: path))
        } catch let error as ImageDataError {
            throw CommandError(error.description)
        }
        var notes: [String] = []
        if image.width != columns || image.height != rows { notes.append("\(image.width)×\(image.height) resized to \(columns)×\(rows)") }
        var pixels = image.resized(width: columns, height: rows).pixels
        if invert {
            pixels = pixels.map { 255 - $0 }
            notes.append("inverted")
        }
        return ImageInput(pixels: pixels, description: path + (notes.isEmpty ? "" : " (\(notes.joined(separator: ", ")))"), label: nil)
    }
}
