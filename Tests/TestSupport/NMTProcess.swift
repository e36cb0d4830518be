import Foundation

/// Runs the built `nmt` executable the way a user does, for the command-line tests.
public enum NMTProcess {
    public struct Outcome {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
        /// True when the process had to be killed for running past its time limit.
        public var timedOut: Bool
    }

    public struct MissingBinary: Error, CustomStringConvertible {
        public let description: String
    }

    /// The `nmt` executable: beside the test bundle (both come from the same build), or in
    /// `.build/release` of the package.
    public static func binary() throws -> URL {
        let besideTests = Bundle.main.executableURL.map { $0.deletingLastPathComponent().appendingPathComponent("nmt") }
        let candidates = [besideTests, Fixtures.packageRoot.appendingPathComponent(".build/release/nmt")].compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw MissingBinary(description: "no nmt binary in \(candidates.map(\.path)); build it with swift build -c release")
        }
        return found
    }

    /// Runs `nmt arguments…` with `input` on its standard input, killing it after `timeout` seconds.
    /// With a `wrapper` (a program and its arguments, such as `setpriv --reuid=…`), runs
    /// `wrapper… nmt arguments…`.
    public static func run(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil,
                           currentDirectory: URL? = nil, timeout: TimeInterval = 120, wrapper: [String] = []) throws -> Outcome {
        let process = Process()
        if let program = wrapper.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = wrapper.dropFirst() + [try binary().path] + arguments
        } else {
            process.executableURL = try binary()
            process.arguments = arguments
        }
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let output = Pipe(), error = Pipe(), standardInput = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = standardInput
        try process.run()
        let writer = Thread {
            if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
            try? standardInput.fileHandleForWriting.close()
        }
        writer.start()
        var timedOut = false
        let watchdog = DispatchWorkItem {
            timedOut = true
            process.terminate()
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        var outputData = Data(), errorData = Data()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errorData = error.fileHandleForReading.readDataToEndOfFile() }
        outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        watchdog.cancel()
        return Outcome(status: process.terminationStatus,
                       standardOutput: String(decoding: outputData, as: UTF8.self),
                       standardError: String(decoding: errorData, as: UTF8.self),
                       timedOut: timedOut)
    }
}
