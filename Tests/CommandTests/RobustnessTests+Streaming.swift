import Foundation
import TestSupport
import XCTest

/// docs/ROBUSTNESS.md, nmt translate: streaming standard input, negative option values after a
/// space, and an output that cannot be written.
extension RobustnessTests {
    /// Lines written to a pipe are answered while it stays open: a partial chunk is translated as
    /// soon as nothing more is waiting, and more than a chunk (1,024 lines at the default batch size)
    /// comes out before the end.
    func testTranslateStreamsStandardInputBeforeItCloses() throws {
        let process = Process()
        process.executableURL = try NMTProcess.binary()
        process.arguments = translate(["--beam", "1", "--threads", "1"])
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var received = Data()
        func waitForLines(_ count: Int, timeout: TimeInterval = 30) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if received.filter({ $0 == UInt8(ascii: "\n") }).count >= count { return true }
                var request = pollfd(fd: output.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
                if poll(&request, 1, 100) > 0 {
                    let data = output.fileHandleForReading.availableData
                    if data.isEmpty { return false }
                    received.append(data)
                }
            }
            return false
        }
        input.fileHandleForWriting.write(Data("I am a student.\n".utf8))
        XCTAssertTrue(waitForLines(1), "the first line is translated while standard input is open")
        input.fileHandleForWriting.write(Data(String(repeating: "I am a student.\n", count: 1200).utf8))
        XCTAssertTrue(waitForLines(1201), "1,200 more lines, over two chunks, come out while standard input is open")
        try input.fileHandleForWriting.close()
        received.append(output.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(received.filter { $0 == UInt8(ascii: "\n") }.count, 1201)
    }

    /// `--max-length -1` with a space gets the same one-line range error as `--max-length=-1`,
    /// in every command (nmt joins an option and a negative number after it before parsing); a
    /// legitimate negative value (a length penalty) is taken, and after `--` "-1" is a sentence.
    func testNegativeValuesAfterASpaceAreRangeErrors() throws {
        let tsv = try file("test.tsv", "I am a student.\tJe suis étudiant.\n")
        let text = try file("c.txt", "I am a student.\n")
        let cases: [(command: [String], option: String, value: String)] = [
            (translate(["x"]), "--max-length", "-1"), (translate(["x"]), "--beam", "-2"), (translate(["x"]), "--batch-size", "-3"),
            (translate(["x"]), "--n-best", "-1"), (translate(["x"]), "--threads", "-1"),
            (["attention", "--model", Self.goodModel.path, "I am a student."], "--layer", "-1"),
            (["attention", "--model", Self.goodModel.path, "I am a student."], "--precision", "-1"),
            (["evaluate", "--model", Self.goodModel.path, tsv], "--beam", "-1"),
            (["vocab", "learn", "--quiet", "--output", output("v.json"), text], "--min-character-frequency", "-1"),
            (["train", "--train", tsv, "--tokenizer", tokenizerPath, "--output", outDirectory.appendingPathComponent("m").path], "--epochs", "-1"),
        ]
        for (command, option, value) in cases {
            let spaced = try expectFailure(command + [option, value], mentions: [option, value])
            let joined = try expectFailure(command + ["\(option)=\(value)"], mentions: [option])
            XCTAssertEqual(spaced.standardError, joined.standardError)
        }
        let penalty = try expectSuccess(translate(["I am a student.", "--length-penalty", "-0.5"]))
        XCTAssertEqual(penalty.standardOutput.split(separator: "\n").count, 1)
        let dashDash = try expectSuccess(translate(["--beam", "1", "--", "-1"]))
        XCTAssertEqual(dashDash.standardOutput.split(separator: "\n").count, 1)
    }

    /// A write past a file-size limit (EFBIG; a full disk gives ENOSPC the same way) is one line
    /// naming the output, not FileHandle's crash, and the partial file is removed. (The test model
    /// loops: without the guard its translations are long enough to pass the limit.)
    func testTranslateOutputPastAFileSizeLimitIsOneLine() throws {
        let prlimit = "/usr/bin/prlimit"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: prlimit), "no \(prlimit)")
        let input = try file("many.txt", String(repeating: "I am a student.\n", count: 300))
        try FileManager.default.createDirectory(at: outDirectory, withIntermediateDirectories: true)
        let outcome = try NMTProcess.run(translate(["--beam", "1", "--no-repetition-guard", "--input", input, "--output", output()]), timeout: 30,
                                         wrapper: [prlimit, "--fsize=1000"])
        XCTAssertEqual(outcome.status, 1, outcome.standardError)
        XCTAssertEqual(outcome.standardError, "Error: \(output()): cannot write (File too large)\n")
        XCTAssertEqual(try leftovers(), [])
    }
}
