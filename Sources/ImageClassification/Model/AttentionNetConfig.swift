import Foundation
import TextIO

/// config.json of an AttentionNet model directory. The network itself is fixed (see
/// `AttentionNet`); the config records what a reader needs around it: the input size, the input
/// normalization and the class names.
public struct AttentionNetConfig: Codable, Equatable, Sendable {
    /// The mean and standard deviation of the training images' pixel/255, over all pixels: a
    /// network input is (pixel/255 − mean) / std.
    public struct Normalization: Codable, Equatable, Sendable {
        public var mean: Float
        public var std: Float

        public init(mean: Float, std: Float) {
            self.mean = mean
            self.std = std
        }
    }

    /// Always "attentionnet": tells this directory from a translation model's.
    public var modelType: String
    /// Input images are (1, imageRows, imageColumns), 8-bit grayscale.
    public var imageRows: Int
    public var imageColumns: Int
    public var normalization: Normalization
    /// One name per output, in the order of the logits.
    public var classNames: [String]

    public static let modelTypeName = "attentionnet"

    public init(normalization: Normalization, classNames: [String], imageRows: Int = 28, imageColumns: Int = 28) {
        self.modelType = Self.modelTypeName
        self.imageRows = imageRows
        self.imageColumns = imageColumns
        self.normalization = normalization
        self.classNames = classNames
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case imageRows = "image_rows"
        case imageColumns = "image_columns"
        case normalization
        case classNames = "class_names"
    }

    /// Reads config.json; a missing or mistyped key, or a value the network cannot take, is one
    /// error line naming the file and the key.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw AttentionNetError("\(url.path): cannot read (\(FileError.reason(for: error, at: url)))")
        }
        do {
            self = try JSONDecoder().decode(AttentionNetConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw AttentionNetError("\(url.path): missing key \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw AttentionNetError("\(url.path): \"\(path)\" has the wrong type")
        } catch {
            throw AttentionNetError("\(url.path): not a valid JSON config")
        }
        try validate(source: url.path)
    }

    /// The network's fixed geometry (two stride-2 blocks, a 7×7 attention map) needs 28×28 inputs.
    func validate(source: String) throws {
        guard modelType == Self.modelTypeName else {
            throw AttentionNetError("\(source): model_type is \"\(modelType)\", not \"\(Self.modelTypeName)\"")
        }
        guard imageRows == 28, imageColumns == 28 else {
            throw AttentionNetError("\(source): image_rows × image_columns is \(imageRows)×\(imageColumns); AttentionNet takes 28×28")
        }
        guard classNames.count >= 2 else { throw AttentionNetError("\(source): class_names needs at least 2 classes") }
        guard normalization.std.isFinite, normalization.std > 0, normalization.mean.isFinite else {
            throw AttentionNetError("\(source): normalization needs a finite mean and a positive std")
        }
    }

    func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// A model directory that cannot be used: one line naming the file and what is wrong.
public struct AttentionNetError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
