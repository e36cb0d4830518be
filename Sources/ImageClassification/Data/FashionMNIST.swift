import Foundation

/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28×28 grayscale pictures of clothes from
/// Zalando's catalogue, light on a black background, 60,000 to train on and 10,000 to test, in
/// ten classes. Debian's `dataset-fashion-mnist` installs the four gzip-compressed IDX files.
public enum FashionMNIST {
    public enum Split: String, CaseIterable, Sendable {
        case train
        case test

        /// The files' prefix: the test split is `t10k` ("test, 10 thousand").
        var prefix: String { self == .train ? "train" : "t10k" }
        public var imagesFile: String { "\(prefix)-images-idx3-ubyte.gz" }
        public var labelsFile: String { "\(prefix)-labels-idx1-ubyte.gz" }
    }

    /// The classes in label order.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    public static let rows = 28
    public static let columns = 28
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
    public static let installCommand = "apt-get install dataset-fashion-mnist"

    /// A split read from `directory`: its two .gz files, or the same files already
    /// decompressed (without .gz).
    public static func load(_ split: Split, from directory: URL = defaultDirectory) throws -> ImageSet {
        let set = try ImageSet.load(images: try locate(split.imagesFile, in: directory),
                                    labels: try locate(split.labelsFile, in: directory))
        let imagesFile = directory.appendingPathComponent(split.imagesFile)
        guard set.rows == rows, set.columns == columns else {
            throw ImageDataError(imagesFile, "images of \(set.rows)×\(set.columns) pixels; Fashion-MNIST's are \(rows)×\(columns)")
        }
        if let index = set.labels.firstIndex(where: { Int($0) >= classNames.count }) {
            throw ImageDataError(directory.appendingPathComponent(split.labelsFile),
                                 "label \(set.labels[index]) of image \(index) is not a class (0–\(classNames.count - 1))")
        }
        return set
    }

    /// The file, or its decompressed twin; a missing file says how to install the data.
    static func locate(_ name: String, in directory: URL) throws -> URL {
        let compressed = directory.appendingPathComponent(name)
        let plain = directory.appendingPathComponent(String(name.dropLast(".gz".count)))
        for candidate in [compressed, plain] where FileManager.default.fileExists(atPath: candidate.path) {
            return candidate
        }
        throw ImageDataError(compressed, "not found; install the data with `\(installCommand)` or pass --data DIR")
    }
}
