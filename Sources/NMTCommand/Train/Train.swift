import ArgumentParser
import Foundation
import NMT
import Tokenizers

/// `nmt train`: trains a Transformer from scratch (or resumes one) on a parallel corpus.
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
    }

    func validate() throws {
        let data = options.data, resume = location.resume
        if resume == nil && data.tokenizer == nil { throw ValidationError("--tokenizer is required (except with --resume)") }
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
    /// over the run's saved declaration. With the training data given again, --resume takes the
    /// run from this command line alone, as for a run started before nmt saved its options.
    func declaredRun() throws -> TrainingRun {
        guard let resume = location.resume, options.data.train == nil && options.data.source == nil else {
            return options.applied(to: TrainingRun())
        }
        let folder = SavedRun.runDirectory(resuming: resume)
        guard let saved = try SavedRun.read(in: folder) else {
            throw CommandError("\(folder.appendingPathComponent(SavedRun.fileName).path): not found; this run's options were not saved (a run started before nmt saved them), so give the training data again (--train FILE or --source FILE --target FILE) and the options it was started with")
        }
        return options.applied(to: saved)
    }

    func run(in group: TrainingGroup) throws {
        let run = try declaredRun()
        computation.configure()
        let output = location.output ?? SavedRun.runDirectory(resuming: location.resume!).path
        let outputURL = URL(fileURLWithPath: output)
        // mpirun hands each rank a pseudo-terminal whatever its own output is: plain lines then.
        let display = TrainingProgressDisplay(live: isatty(STDOUT_FILENO) != 0 && !group.isDistributed)
        let trainer: Trainer
        if let resume = location.resume {
            trainer = try Trainer.resume(from: URL(fileURLWithPath: resume), run: run, output: outputURL, group: group,
                                         onEvent: display.show, shouldStop: { Interrupt.requested })
            print("resuming from \(trainer.resumedFrom!.path) at step \(trainer.state.step)")
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
            try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
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

    /// The training and validation pairs, tokenized, with what was left out reported. Validation
    /// keeps every pair the model can take (`maxPositions`): it is scored whole.
    func loadData(_ corpora: TrainingRun.Corpora, tokenizer: Tokenizer, maxPositions: Int) throws -> (TrainingData, TrainingData?) {
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
