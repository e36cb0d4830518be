import Foundation
import ImageKernels
import Tensor
import TextIO

/// An AttentionNet model directory: config.json and model.safetensors, whose tensors carry the
/// names of the PyTorch reference's `state_dict()` — running statistics and `num_batches_tracked`
/// included — so `model.load_state_dict(safetensors.torch.load_file(…))` reads what nmt writes, and
/// nmt reads what PyTorch saves with `safetensors.torch.save_file(model.state_dict(), …)`.
extension AttentionNet {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"

    /// Loads config.json + model.safetensors (F32, F16 or BF16 weights).
    public static func load(directory: URL) throws -> AttentionNet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw AttentionNetError("\(directory.path): no such model directory")
        }
        guard isDirectory.boolValue else {
            throw AttentionNetError("\(directory.path): not a directory (a model is a directory with \(configFile) and \(weightsFile))")
        }
        let configURL = directory.appendingPathComponent(configFile), weightsURL = directory.appendingPathComponent(weightsFile)
        for url in [configURL, weightsURL] where !FileManager.default.fileExists(atPath: url.path) {
            throw AttentionNetError("\(url.path): missing from the model directory")
        }
        let model = AttentionNet(config: try AttentionNetConfig(contentsOf: configURL))
        do {
            let file = try SafeTensorsFile(contentsOf: weightsURL)
            try model.load(file, source: weightsURL.path)
        } catch let error as SafeTensorsError {
            throw AttentionNetError(error.description)
        }
        return model
    }

    /// Fills every parameter and buffer from `file`, checking each name and shape.
    func load(_ file: SafeTensorsFile, source: String) throws {
        for entry in parameters.entries {
            guard let stored = file.entries[entry.name] else { throw AttentionNetError("\(source): tensor \(entry.name) is missing") }
            guard stored.shape == entry.shape else {
                throw AttentionNetError("\(source): tensor \(entry.name) has shape \(stored.shape); AttentionNet's is \(entry.shape)")
            }
            try file.readFloats(entry.name, into: parameters.valueBuffer(entry.name))
        }
        // PyTorch stores the counter as int64; nmt writes it in the weights' float type.
        let counter = "conv1.bn.num_batches_tracked"
        if let stored = file.entries[counter] {
            batchesTracked = stored.dtype == .i64 ? Int(try file.int64s(counter).first ?? 0) : Int(try file.floats(counter).first ?? 0)
        }
    }

    /// Writes config.json and model.safetensors into `directory` (created with its parents if
    /// needed): both go into a fresh sibling directory which then replaces `directory`, so a reader
    /// sees the old model or the new one, never a mix.
    public func save(directory: URL, halfPrecision: Bool) throws {
        let fileManager = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).tmp-\(getpid())")
        do {
            try fileManager.createDirectory(at: parent, withIntermediateDirectories: true)
            try? fileManager.removeItem(at: staging)
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: false)
            try config.jsonData().write(to: staging.appendingPathComponent(Self.configFile))
            try safeTensors(halfPrecision: halfPrecision).write(to: staging.appendingPathComponent(Self.weightsFile))
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw AttentionNetError("\(directory.path): exists and is not a directory") }
                // rename(2) cannot replace a non-empty directory: move the old one aside first. Files
                // of the old directory that are not the model's (a README, curves) move along.
                let old = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(getpid())")
                try? fileManager.removeItem(at: old)
                for name in try fileManager.contentsOfDirectory(atPath: directory.path)
                where name != Self.configFile && name != Self.weightsFile {
                    try fileManager.moveItem(at: directory.appendingPathComponent(name), to: staging.appendingPathComponent(name))
                }
                guard rename(directory.path, old.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                guard rename(staging.path, directory.path) == 0 else {
                    _ = rename(old.path, directory.path)
                    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                }
                try? fileManager.removeItem(at: old)
            } else {
                guard rename(staging.path, directory.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            }
        } catch {
            try? fileManager.removeItem(at: staging)
            if let error = error as? AttentionNetError { throw error }
            let reason = (error as? SafeTensorsError)?.description ?? FileError.reason(for: error)
            throw AttentionNetError("\(directory.path): cannot write the model (\(reason))")
        }
    }

    /// The state dict as a safetensors file (metadata format "pt", as PyTorch's own save_file writes).
    func safeTensors(halfPrecision: Bool) -> SafeTensorsWriter {
        var writer = SafeTensorsWriter(dtype: halfPrecision ? .f16 : .f32, metadata: ["format": "pt"])
        for entry in parameters.entries {
            writer.add(entry.name, shape: entry.shape, values: UnsafeBufferPointer(start: parameters.values + entry.offset, count: entry.count))
        }
        for bn in Self.batchNorms {
            writer.add("\(bn).num_batches_tracked", shape: [], values: [Float(batchesTracked)])
        }
        return writer
    }
}
