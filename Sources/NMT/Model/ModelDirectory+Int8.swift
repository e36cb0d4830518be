import Foundation
import Tensor

/// int8 model directories (docs/formats.md, "int8 model directories"): every weight matrix as I8
/// codes under its own name plus F32 scales, one per row, under the name + `_scale`; biases, layer
/// norms and `final_logits_bias` as F32; config.json's `nmt_weight_type` says "int8".
extension ModelDirectory {
    /// Appended to a matrix's name for its scales in an int8 file.
    public static let int8ScaleSuffix = "_scale"

    /// `loadModel` for what needs float32 weights to change (training, averaging): an int8
    /// directory is refused in one line naming `purpose`, since its codes lost the float32 values.
    public static func loadTrainableModel(from directory: URL, purpose: String) throws -> Transformer {
        let configURL = directory.appendingPathComponent(configFile)
        if FileManager.default.fileExists(atPath: configURL.path), try ModelConfig(contentsOf: configURL).weightType == .int8 {
            throw ModelError("\(directory.path): an int8 model (for inference only); \(purpose) needs float32 weights (export those again from the float32 model)")
        }
        return try loadModel(from: directory)
    }

    /// The weight matrices of an int8 file, checked: codes I8 of the layout's shape, scales
    /// present, floating point, one per row, each positive and finite. Every error is one line
    /// naming the file and the tensor.
    static func int8Matrices(_ file: any NamedTensorFile, config: ModelConfig) throws -> [String: QuantizedMatrix] {
        guard let file = file as? SafeTensorsFile else {
            throw ModelError("\(file.source): config.json's \(ModelConfig.weightTypeKey) says int8, which nmt stores only in \(weightsFile)")
        }
        let source = file.source
        let shapes = Dictionary(uniqueKeysWithValues: Transformer.parameterLayout(config: config).map { ($0.name, $0.shape) })
        var matrices: [String: QuantizedMatrix] = [:]
        for name in Transformer.matrixNames(config: config) {
            let expected = shapes[name]!
            let stored = storedName(of: name, in: file, config: config)
            let scaleName = stored + int8ScaleSuffix
            guard let codes = file.entries[stored] else { throw ModelError("\(source): tensor \(name) is missing") }
            guard codes.dtype == .i8 else {
                throw ModelError("\(source): tensor \(stored) is \(codes.dtype.rawValue), but config.json's \(ModelConfig.weightTypeKey) says int8 (I8 codes)")
            }
            guard codes.shape == expected else {
                throw ModelError("\(source): tensor \(stored) has shape \(codes.shape) but config.json implies \(expected)")
            }
            guard let scales = file.entries[scaleName] else {
                throw ModelError("\(source): tensor \(scaleName) is missing (the int8 matrix \(stored) needs one scale per row)")
            }
            guard scales.shape == [expected[0]], scales.dtype.isFloatingPoint else {
                throw ModelError("\(source): tensor \(scaleName) is \(scales.dtype.rawValue) of shape \(scales.shape); \(stored) needs F32 scales of shape [\(expected[0])]")
            }
            do {
                matrices[name] = try QuantizedMatrix(codes: try file.int8s(stored), scales: try file.floats(scaleName), shape: expected)
            } catch let error as QuantizationError {
                throw ModelError("\(source): tensor \(scaleName): \(error.description)")
            } catch let error as SafeTensorsError {
                throw ModelError(error.description)
            }
        }
        return matrices
    }

    /// A writer holding `model` as an int8 file: its matrices' codes and scales (a float32 model is
    /// quantized now) and its other parameters as F32.
    static func int8Writer(_ model: Transformer) throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter(dtype: .f32, metadata: ["format": "pt", ModelConfig.weightTypeKey: WeightType.int8.rawValue])
        for (name, matrix) in try model.int8Matrices() {
            writer.add(name, shape: matrix.shape, int8: matrix.codes)
            writer.add(name + int8ScaleSuffix, shape: [matrix.shape[0]], values: matrix.scales)
        }
        let matrixNames = Set(Transformer.matrixNames(config: model.config))
        for entry in model.parameters.entries where !matrixNames.contains(entry.name) {
            writer.add(entry.name, shape: entry.shape,
                       values: UnsafeBufferPointer(start: model.parameters.values + entry.offset, count: entry.count))
        }
        return writer
    }
}
