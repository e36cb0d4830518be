import Foundation
import TextIO

/// What went wrong reading or using a tokenizer or a corpus: one line that names the file (or
/// `<memory>`, `<stdin>`) and the problem, e.g.
/// `vocab/x.json: unsupported pre_tokenizer "ByteLevel" (nmt reads Metaspace)`.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or `<memory>`) the problem is in, with `:line` where one is known.
    public var source: String
    /// What is wrong, in words.
    public var message: String

    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }

    public var description: String { "\(source): \(message)" }
}

extension TokenizerError {
    /// The bytes of a tokenizer file, a failure to read it being a `TokenizerError` like every
    /// other problem with the file (`FILE: cannot read the file (no such file)`).
    static func readFile(_ url: URL) throws -> Data {
        do { return try TextLines.read(url) } catch let error as FileError {
            throw TokenizerError(source: error.path, message: "\(error.action) (\(error.reason))")
        }
    }
}
