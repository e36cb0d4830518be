import Foundation

/// Grayscale images of one size with a class label each, as the IDX files hold them.
public struct ImageSet: Sendable, Equatable {
    /// (count, rows, columns), one byte a pixel, 0 the background.
    public var images: [UInt8]
    /// (count), each a class index.
    public var labels: [UInt8]
    public var rows: Int
    public var columns: Int

    public var count: Int { labels.count }
    public var pixelsPerImage: Int { rows * columns }

    public init(images: [UInt8], labels: [UInt8], rows: Int, columns: Int) {
        precondition(images.count == labels.count * rows * columns,
                     "ImageSet: \(images.count) pixels for \(labels.count) images of \(rows)×\(columns)")
        self.images = images
        self.labels = labels
        self.rows = rows
        self.columns = columns
    }

    /// The pixels of image `index`, (rows, columns).
    public func pixels(of index: Int) -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "ImageSet: image \(index) of \(count)")
        return images[index * pixelsPerImage..<(index + 1) * pixelsPerImage]
    }

    /// Reads a pair of IDX files (gzip-compressed when the name ends in .gz): images with
    /// magic 0x00000803 and labels with magic 0x00000801, of the same count.
    public static func load(images imagesFile: URL, labels labelsFile: URL) throws -> ImageSet {
        let images = try IDX.parse(try contents(of: imagesFile), magic: IDX.imagesMagic, what: "images", file: imagesFile)
        let labels = try IDX.parse(try contents(of: labelsFile), magic: IDX.labelsMagic, what: "labels", file: labelsFile)
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw ImageDataError(labelsFile, "\(labels.dimensions[0]) labels for the \(images.dimensions[0]) images of \(imagesFile.lastPathComponent)")
        }
        guard images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw ImageDataError(imagesFile, "images of \(images.dimensions[1])×\(images.dimensions[2]) pixels")
        }
        return ImageSet(images: images.values, labels: labels.values, rows: images.dimensions[1], columns: images.dimensions[2])
    }

    private static func contents(of file: URL) throws -> [UInt8] {
        file.pathExtension == "gz" ? try Inflate.gunzip(contentsOf: file) : try BinaryFile.contents(of: file)
    }
}
