import Foundation
import TextIO

/// The files that hold a model's tokenizer, as bytes: tokenizer.json for nmt's own models, the
/// SentencePiece files and vocabularies of an OPUS-MT folder. Training keeps them with every
/// model and checkpoint it writes, byte for byte, so what it saves is a folder of the same kind.
public struct TokenizerFiles: Sendable {
    /// File name (in a model directory) and contents.
    public let files: [(name: String, data: Data)]

    /// nmt's own tokenizer.json.
    public init(tokenizerJSON: Data) {
        files = [(ModelDirectory.tokenizerFile, tokenizerJSON)]
    }

    /// The tokenizer files of `directory`: tokenizer.json when it has one, else every OPUS-MT
    /// tokenizer file it holds.
    public init(directory: URL) throws {
        let names = ModelDirectory.hasMarianTokenizer(directory) ? ModelDirectory.allMarianTokenizerFiles : [ModelDirectory.tokenizerFile]
        var files: [(name: String, data: Data)] = []
        for name in names {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) || name == ModelDirectory.tokenizerFile else { continue }
            do { files.append((name, try Data(contentsOf: url))) } catch {
                throw ModelError("\(url.path): cannot read (\(FileError.reason(for: error, at: url)))")
            }
        }
        self.files = files
    }

    /// Writes each file into `directory`, under a temporary name first.
    public func write(to directory: URL) throws {
        for (name, data) in files { try ModelDirectory.writeAtomically(data, to: directory.appendingPathComponent(name)) }
    }
}
