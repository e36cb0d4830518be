/// A problem with a model directory or its files, described in one line that names the file and
/// the key or tensor at fault.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
