import Foundation
import TextIO

/// A failure while running a command, or an option value out of its range (--beam 0),
/// reported as one line (`Error: …`) with exit code 1 — unlike `ValidationError`, which adds
/// the usage text and is kept for missing or conflicting options, where the usage helps.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Joins an option and a negative number after it (`--max-length -1` → `--max-length=-1`), so
/// the value reaches the command's range check and its one-line error. Left apart, ArgumentParser
/// takes "-1" for an option and reports the value of `--max-length` as missing, with the usage.
/// nmt has no short options, so a lone negative number is never an option; after `--` every
/// argument is left as it is.
enum NegativeValues {
    static func joined(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" {
                result += arguments[index...]
                break
            }
            let next = index + 1 < arguments.endIndex ? arguments[index + 1] : nil
            if argument.hasPrefix("--"), !argument.contains("="), let next, isNegativeNumber(next) {
                result.append("\(argument)=\(next)")
                index += 2
            } else {
                result.append(argument)
                index += 1
            }
        }
        return result
    }

    static func isNegativeNumber(_ text: String) -> Bool {
        text.count > 1 && text.hasPrefix("-") && Double(text) != nil
    }
}

extension CommandError {
    /// `error` as a user should read it: nmt's own errors as they are, and a Foundation file error
    /// that escaped its command's wording ("Error Domain=NSCocoaErrorDomain Code=516 …") as one
    /// line in `FileError`'s words, naming the file when the error holds its path. Every command's
    /// error passes through here (`NMTCommand.main`, and each rank of a distributed run).
    static func plain(_ error: Error) -> Error {
        let nsError = error as NSError
        guard nsError.domain == NSCocoaErrorDomain || nsError.domain == NSPOSIXErrorDomain else { return error }
        let path = (nsError.userInfo[NSFilePathErrorKey] as? String) ?? (nsError.userInfo[NSURLErrorKey] as? URL)?.path
        return CommandError((path.map { "\($0): " } ?? "") + FileError.reason(for: error))
    }
}
