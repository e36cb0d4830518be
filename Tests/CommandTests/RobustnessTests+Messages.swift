import Foundation
import TestSupport
import XCTest

/// docs/ROBUSTNESS.md, "Messages" (issue 20, items 3, 4, 5 and 9): every error is one line in
/// nmt's words — never Foundation's "Error Domain=…" —, names what is wrong and says what to do;
/// mistyped commands get the nearest one; options outside what makes sense are lowered or refused.
extension RobustnessTests {
    /// Issue 20, item 3: `train`, `export` and `average` with `--output README.md` printed
    /// `Error Domain=NSCocoaErrorDomain Code=516 …`. A failing case of every command, checked for
    /// one line without Foundation's text.
    func testNoFoundationErrorTextReachesAUser() throws {
        let mine = try usersFile()
        let below = mine + "/sub"   // a folder "inside" a file: creating it fails with ENOTDIR
        let corpus = try file("c.tsv", "I am a student.\tJe suis étudiant.\n")
        let cases: [[String]] = [
            train(["--train", corpus]).map { $0 == output("run") ? below : $0 },
            ["export", Self.goodModel.path, "--output", below],
            ["average", Self.goodModel.path, Self.goodModel.path, "--output", below],
            ["image", "train", "--epochs", "1", "--limit", "128", "--output", below, "--data", scratch.path],
            translate(["I am a student.", "--output", below]),
            ["vocab", "learn", "--quiet", "--output", below, corpus],
            ["plot", try trainingLog(), "--output", below],
            ["attention", "--model", Self.goodModel.path, "I am a student.", "--svg", below],
            ["walkthrough", "--model", missingFile, "I am a student."],
            ["tokenize", "--tokenizer", missingFile, "I am"],
            ["evaluate", "--hypotheses", missingFile, corpus],
            ["export", missingFile, "--output", output("model")],
            ["average", missingFile, Self.goodModel.path, "--output", output("model")],
            ["plot", missingFile, "--output", output("plot.svg")],
            ["train", "--resume", missingFile],
            ["image", "classify", "--model", missingFile, "--index", "0"],
            ["image", "evaluate", "--data", missingFile],
            ["bench", "tokenize", "--corpus", missingFile, "--repeats", "1"],
        ]
        for arguments in cases {
            let outcome = try run(arguments, input: nil)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments) failed")
            XCTAssertFalse(outcome.standardError.contains("Domain="), "\(arguments): \(outcome.standardError)")
            XCTAssertFalse(outcome.standardError.contains("The operation could not be completed"), "\(arguments): \(outcome.standardError)")
            XCTAssertEqual(lines(outcome.standardError).count, 1, "\(arguments): one line, got \(outcome.standardError)")
            XCTAssertTrue(outcome.standardError.hasPrefix("Error: "), "\(arguments): \(outcome.standardError)")
        }
        XCTAssertEqual(try String(contentsOfFile: mine, encoding: .utf8), "mine\n")
    }

    /// Issue 20, item 4: messages that said something else than what was wrong.
    func testMessagesSayWhatIsWrong() throws {
        let nosuch = scratch.appendingPathComponent("runs/nosuch").path
        try expectFailure(["train", "--resume", nosuch], mentions: [nosuch, "no such folder", "--output folder of an earlier nmt train"])
        try expectFailure(["train", "--resume", Self.goodModel.path], mentions: [Self.goodModel.path, "a model directory, not a training run"])
        try expectFailure(["plot", missingFile, "--output", output("plot.svg")], mentions: [missingFile, "No such file or directory"])
        try expectFailure(["tranlsate", "Hi."], mentions: ["no command 'tranlsate' in nmt; did you mean 'translate'?"])
        try expectFailure(["trian"], mentions: ["did you mean 'train'?"])
        try expectFailure(["image", "atention", "--index", "0"], mentions: ["no command 'atention' in nmt image; did you mean 'attention'?"])
        try expectFailure(["vocab", "lern"], mentions: ["did you mean 'learn'?"])
        try expectFailure(["help", "nosuch"], mentions: ["no command 'nosuch' in nmt; the commands are translate, serve, train,"])
        try expectFailure(["help", "image", "nosuch"], mentions: ["no command 'nosuch' in nmt image"])
        let help = try expectSuccess(["help", "image", "train"])
        XCTAssertTrue(help.standardOutput.contains("USAGE: nmt image train"), help.standardOutput)
        let version = try expectSuccess(["--version"])
        XCTAssertTrue(version.standardOutput.hasPrefix("nmt 0."), version.standardOutput)
    }

    /// Issue 20, item 5: `--threads 1000` on two cores slowed translation down (and train
    /// reported 1000 threads): it is lowered to the cores, with one warning. A length penalty
    /// outside -1…2 is refused.
    func testOptionsThatMakeNoSense() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let translated = try expectSuccess(translate(["I am a student.", "--threads", "1000", "--no-repetition-guard"]))
        XCTAssertEqual(lines(translated.standardError), ["warning: --threads 1000 is more than the \(cores) cores here; using \(cores)"])
        let corpus = try file("c.tsv", "I am a student.\tJe suis étudiant.\n")
        let trained = try expectSuccess(train(["--train", corpus], ["--max-steps", "1", "--threads", "1000"]))
        XCTAssertTrue(trained.standardOutput.contains("pairs, \(cores) threads"), trained.standardOutput)
        try FileManager.default.removeItem(atPath: output("run"))
        for penalty in ["-5", "2.5", "-1.5", "100"] {
            try expectFailure(translate(["I am a student.", "--length-penalty", penalty]), mentions: ["--length-penalty must be between -1 and 2"])
        }
        for penalty in ["-1", "0", "0.6", "2"] { try expectSuccess(translate(["I am a student.", "--length-penalty", penalty])) }
    }
}
