import ArgumentParser
import Foundation
import NMT
import TextIO
import Tokenizers

/// `nmt train`: trains a Transformer from scratch, fine-tunes a pretrained one (--from), or
/// resumes a run, on a parallel corpus.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a translation model on a parallel corpus.",
        discussion: """
            The best model (by validation --best-by, or the newest without --valid) is written to \
            --output as a model directory; checkpoints go to OUTPUT/checkpoints and a JSON-lines \
            log of every logged step and validation to OUTPUT/training-log.jsonl. Ctrl-C (SIGINT) \
            or SIGTERM finishes the step, saves a checkpoint and exits with status 130 or 143; \
            nmt train --resume OUTPUT continues from it with the run's saved options \
            (OUTPUT/training-arguments.json), any given with it overriding them. \
            --keep-checkpoints N keeps the N newest checkpoints, for nmt average --last N.

              nmt train --train corpora/walkthrough.tsv --tokenizer vocab/walkthrough.json \\
                        --output runs/walkthrough --preset tiny --epochs 60

            --from DIR fine-tunes a pretrained model directory instead (nmt's own, or a Hugging \
            Face Marian / OPUS-MT folder): its weights and tokenizer, no --tokenizer or shape \
            options; the output is a folder of the same kind, which transformers loads.

              nmt train --from opus-mt-en-fr --train my-pairs.tsv --output runs/my-en-fr --epochs 2
            """
    )

    @OptionGroup var options: TrainingRunOptions

    @OptionGroup(title: "Output") var location: RunLocation

    @OptionGroup var computation: ThreadOptions

    /// `--output` and `--resume`: where the run is written and which one continues. Not part of
    /// the run's declaration (a run resumed into another folder is the same run).
    struct RunLocation: ParsableArguments {
        @Option(help: ArgumentHelp("The model directory to write (the best model; checkpoints and the log inside). With --resume, the run resumed, unless given.", valueName: "dir"))
        var output: String?
        @Option(help: ArgumentHelp("Continue from this checkpoint, or from the newest one in this training output.", valueName: "dir"))
        var resume: String?
        @Flag(help: "Start afresh in an --output that holds a run: its model, log, checkpoints and saved options are removed (and named).")
        var overwrite = false
    }

    func validate() throws {
        let data = options.data, resume = location.resume
        if resume == nil && data.tokenizer == nil && options.model.from == nil {
            throw ValidationError("--tokenizer is required (except with --resume or --from)")
        }
        if resume == nil && location.output == nil { throw ValidationError("--output is required (except with --resume)") }
        switch (data.train, data.source, data.target) {
        case (.some, nil, nil), (nil, .some, .some): break
        case (nil, nil, nil) where resume != nil: break  // the data comes from the run's saved declaration
        default: throw ValidationError("give the training data as --train FILE.tsv or as --source FILE --target FILE")
        }
        // The options given, over the defaults: what a new run would be.
        if let problem = options.applied(to: TrainingRun()).problem { throw CommandError(problem) }
    }

    func run() throws {
        // Under mpirun, each rank trains on its share of every batch (docs/distributed.md).
        let group = try DistributedTraining.join()
        try DistributedTraining.run(in: group) { try run(in: group) }
    }

    /// The run this command declares: the options given over the defaults, or, with --resume,
    /// over the run's saved declaration — the training data too, when given again (corpora that
    /// moved). A run saved by no nmt (one started before nmt saved its options) needs its data and
    /// options on the command line again, and only then: they are laid over the defaults.
    func declaredRun() throws -> TrainingRun {
        guard let resume = location.resume else { return options.applied(to: TrainingRun()) }
        let folder = SavedRun.runDirectory(resuming: resume)
        if let saved = try SavedRun.read(in: folder) { return options.applied(to: saved) }
        try Self.checkIsRun(folder, named: resume)
        guard options.data.train != nil || options.data.source != nil else {
            throw CommandError("\(folder.appendingPathComponent(SavedRun.fileName).path): not found; this run's options were not saved (a run started before nmt saved them), so give the training data again (--train FILE or --source FILE --target FILE) and the options it was started with")
        }
        return options.applied(to: TrainingRun())
    }

    /// That `folder` (what `--resume resume` names) holds checkpoints of a run to continue.
    static func checkIsRun(_ folder: URL, named resume: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandError("\(resume): no such folder; --resume takes the --output folder of an earlier nmt train, or one of its checkpoints")
        }
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(Checkpoint.folderName).path)
                || FileManager.default.fileExists(atPath: folder.appendingPathComponent(Checkpoint.stateFile).path) else {
            let model = FileManager.default.fileExists(atPath: folder.appendingPathComponent(ModelDirectory.configFile).path)
            throw CommandError("\(resume): \(model ? "a model directory, " : "")not a training run (no \(Checkpoint.folderName)/ folder, no \(SavedRun.fileName)); --resume takes the --output folder of an earlier nmt train")
        }
    }

    func run(in group: TrainingGroup) throws {
        // Checked here rather than in validate(): the declared run may hold every field at once.
        if let conflict = options.model.fineTuningConflict(tokenizer: options.data.tokenizer, resume: location.resume) {
            throw CommandError(conflict)
        }
        let run = try declaredRun()
        let (outputURL, newOutput) = try checkedOutput(group: group)
        // Messages name the folder as typed, or relative to here, whether it was given or resumed.
        let output = DisplayPath.text(outputURL.path)
        computation.configure()
        // mpirun hands each rank a pseudo-terminal whatever its own output is: plain lines then.
        let display = TrainingProgressDisplay(live: isatty(STDOUT_FILENO) != 0 && !group.isDistributed)
        let trainer: Trainer
        if let resume = location.resume {
            trainer = try Trainer.resume(from: URL(fileURLWithPath: resume), run: run, output: outputURL, group: group,
                                         onEvent: display.show, shouldStop: { Interrupt.requested })
            print("resuming from \(DisplayPath.text(trainer.resumedFrom!.path)) at step \(trainer.state.step)")
        } else if let from = run.model.from {
            trainer = try Trainer(fineTuning: URL(fileURLWithPath: from), run: run, output: outputURL, group: group,
                                  onEvent: display.show, shouldStop: { Interrupt.requested })
            print("fine-tuning \(DisplayPath.text(from))")
        } else {
            let tokenizer = try Tokenizer(contentsOf: URL(fileURLWithPath: run.data.tokenizer!))
            trainer = try Trainer(run: run, tokenizer: tokenizer, output: outputURL, group: group,
                                  onEvent: display.show, shouldStop: { Interrupt.requested })
        }
        let (data, validation) = try loadData(run.data, tokenizer: trainer.tokenizer, maxPositions: trainer.model.config.maxPositions)
        let config = trainer.model.config, threads = computation.threads, batch = run.optimization
        print("model: D \(config.modelWidth), H \(config.encoderHeads), F \(config.encoderFeedForwardWidth), \(config.encoderLayers)+\(config.decoderLayers) layers, V \(config.vocabularySize), \(trainer.model.parameters.count) parameters; \(data.count) training pairs, \(threads) threads")
        if group.isDistributed {
            print("\(group.size) ranks × \(threads) threads; a batch is \(group.size) × \(batch.batchTokens) tokens, at most \(group.size) × \(batch.maxSentences) pairs, shared among the ranks")
        }
        fflush(stdout)

        // Only once the data has loaded: a run that cannot start leaves no output behind.
        if group.isFirst {
            try newOutput?.clear()
            do { try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true) } catch {
                throw CommandError("\(output): cannot create the run's folder (\(FileError.reason(for: error)))")
            }
            try SavedRun.write(run, in: outputURL)
        }
        Interrupt.install()
        let outcome = try trainer.train(on: data, validation: validation)
        display.finish()
        try DistributedTraining.writeRankParameters(of: trainer.model, group: group)
        switch outcome {
        case .finished, .earlyStopped:
            print("done at step \(trainer.state.step); the model is in \(output)")
        case .interrupted:
            print("interrupted at step \(trainer.state.step) (\(Interrupt.signalName)); checkpoint saved. Continue with: nmt train --resume \(output)")
            throw ExitCode(Interrupt.exitCode)
        case .diverged(let step):
            throw CommandError("training diverged at step \(step); the last good checkpoint is in \(trainer.checkpointDirectory.path)")
        }
    }

    /// Where the run is written, and, for a new run or a branch of a resumed one (--output
    /// elsewhere), that folder checked on rank 0 (which alone writes): it must be empty or absent,
    /// or cleared by --overwrite. Resuming into the run's own folder continues it.
    func checkedOutput(group: TrainingGroup) throws -> (URL, RunOutput?) {
        let resumed = location.resume.map { SavedRun.runDirectory(resuming: $0) }
        let output = location.output.map { URL(fileURLWithPath: $0).standardizedFileURL } ?? resumed!
        if let resumed, OutputLocation.isInside(output, resumed) && OutputLocation.isInside(resumed, output) {
            if location.overwrite { throw CommandError("--overwrite would remove the run that --resume continues; leave it out, or give another --output") }
            return (output, nil)
        }
        guard group.isFirst else { return (output, nil) }
        return (output, try RunOutput(checking: location.output!, overwrite: location.overwrite))
    }

    /// The training and validation pairs, tokenized, with what was left out reported. Validation
    /// keeps every pair the model can take (`maxPositions`): it is scored whole.
    func loadData(_ corpora: TrainingRun.Corpora, tokenizer: any TranslationTokenizer, maxPositions: Int) throws -> (TrainingData, TrainingData?) {
        let trainCorpus = try corpora.loadTraining()
        report(trainCorpus)
        let data = TrainingData(corpus: trainCorpus, tokenizer: tokenizer, maxLength: corpora.maxLength)
        reportTooLong(data, name: trainCorpus.name, maxLength: corpora.maxLength)
        guard data.count > 0 else { throw CommandError("\(trainCorpus.name): no training pairs left") }
        guard let validCorpus = try corpora.loadValidation() else { return (data, nil) }
        report(validCorpus)
        return (data, TrainingData(corpus: validCorpus, tokenizer: tokenizer, maxLength: maxPositions))
    }

    func report(_ corpus: ParallelCorpus) {
        print(corpus.summary)
        for problem in corpus.problems.prefix(10) { print("  \(problem)") }
        if corpus.problems.count > 10 { print("  … and \(corpus.problems.count - 10) more") }
    }

    func reportTooLong(_ data: TrainingData, name: String, maxLength: Int) {
        guard !data.tooLongLines.isEmpty else { return }
        let lines = data.tooLongLines.prefix(10).map(String.init).joined(separator: ", ")
        print("\(name): left out \(data.tooLongLines.count) pairs longer than \(maxLength) pieces (lines \(lines)\(data.tooLongLines.count > 10 ? ", …" : ""))")
    }
}
