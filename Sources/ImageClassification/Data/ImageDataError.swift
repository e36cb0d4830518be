import Foundation

/// A data file that cannot be read as what it should be: one line that starts with the file's
/// path and says what is wrong with it (and, where it helps, what to do).
public struct ImageDataError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ file: URL, _ problem: String) {
        description = "\(file.path): \(problem)"
    }
}
