import ArgumentParser
import Foundation
import NMT
import TextIO

/// A run's own options, saved in its output directory so that `nmt train --resume RUN` needs nothing
/// else: the checkpoint holds the model, the optimizer and the position in the data, this file the
/// corpus paths and the schedule. Options given with `--resume` override the saved ones (the last
/// value of an option wins), so `nmt train --resume RUN --epochs 40` trains ten epochs more.
extension Train {
    static let argumentsFile = "training-arguments.json"

    /// Every option that shapes the run, as command-line arguments with absolute paths. Left out:
    /// `--output` and `--resume` (where the run is, which the resuming command says) and `--threads`
    /// (the machine's).
    var savedArguments: [String] {
        var arguments: [String] = []
        func add(_ name: String, _ value: (any CustomStringConvertible)?) {
            if let value { arguments += [name, value.description] }
        }
        func addPath(_ name: String, _ path: String?) {
            add(name, path.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        }
        addPath("--train", train)
        addPath("--source", source)
        addPath("--target", target)
        addPath("--valid", valid)
        addPath("--tokenizer", tokenizer)
        if strict { arguments.append("--strict") }
        add("--max-length", maxLength)
        add("--max-length-ratio", maxLengthRatio)
        add("--preset", preset.rawValue)
        add("--d-model", dModel)
        add("--heads", heads)
        add("--ffn", ffn)
        add("--encoder-layers", encoderLayers)
        add("--decoder-layers", decoderLayers)
        add("--activation", activation)
        add("--dropout", dropout)
        add("--attention-dropout", attentionDropout)
        add("--activation-dropout", activationDropout)
        add("--max-positions", maxPositions)
        add("--epochs", epochs)
        add("--max-steps", maxSteps)
        add("--seed", seed)
        add("--batch-tokens", batchTokens)
        add("--max-sentences", maxSentences)
        add("--learning-rate", learningRate)
        add("--warmup", warmup)
        add("--cool-down", coolDown)
        add("--clip-norm", clipNorm)
        add("--label-smoothing", labelSmoothing)
        add("--validate-every", validateEvery)
        add("--checkpoint-every", checkpointEvery)
        add("--keep-checkpoints", keepCheckpoints)
        add("--patience", patience)
        add("--best-by", bestBy.rawValue)
        if lowercase { arguments.append("--lowercase") }
        add("--log-every", logEvery)
        add("--max-translation-length", maxTranslationLength)
        return arguments
    }

    /// Writes `savedArguments` into the run's output directory (whole or not at all).
    func saveArguments(in output: URL) throws {
        let data = Data((JSON.object([("arguments", .array(savedArguments.map(JSON.string)))]).pretty + "\n").utf8)
        let file = output.appendingPathComponent(Self.argumentsFile)
        do { try data.write(to: file, options: .atomic) } catch {
            throw CommandError("\(file.path): cannot write the run's arguments (\(FileError.reason(for: error)))")
        }
    }

    /// The training output that `--resume` names: the directory itself, or, for a checkpoint
    /// (RUN/checkpoints/step-N), the RUN that holds it.
    static func runDirectory(resuming resume: String) -> URL {
        let url = URL(fileURLWithPath: resume).standardizedFileURL
        let manager = FileManager.default
        if manager.fileExists(atPath: url.appendingPathComponent(argumentsFile).path)
            || manager.fileExists(atPath: url.appendingPathComponent(Checkpoint.folderName).path) {
            return url
        }
        return Checkpoint.run(containing: url) ?? url
    }

    /// The command that resumes `resume` with the run's saved arguments filled in: the saved ones
    /// first, then the `given` ones, which win.
    static func completedFromSavedRun(resume: String, given: [String]) throws -> Train {
        let file = Self.runDirectory(resuming: resume).appendingPathComponent(Self.argumentsFile)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw CommandError("\(file.path): not found; this run's options were not saved (a run started before nmt saved them), so give the training data again (--train FILE or --source FILE --target FILE) and the options it was started with")
        }
        guard let list = (try? JSON.parse([UInt8](data)))?["arguments"], case .array(let items) = list,
              case let saved = items.compactMap(\.string), saved.count == items.count else {
            throw CommandError("\(file.path): not a JSON object with an \"arguments\" list of strings")
        }
        do {
            return try Train.parse(saved + given)
        } catch {
            throw CommandError("\(file.path): the saved arguments with those given now do not parse: \(Train.message(for: error))")
        }
    }

    /// The arguments after `nmt train` on this process's command line.
    static var givenArguments: [String] {
        let arguments = CommandLine.arguments
        guard let index = arguments.dropFirst().firstIndex(of: "train") else { return [] }
        return Array(arguments[(index + 1)...])
    }
}
