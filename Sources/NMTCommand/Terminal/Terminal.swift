import Foundation
import NMT
import Tokenizers

/// What nmt knows about where its output goes: whether standard output is a terminal that may be
/// coloured, and how wide it is; and the one way of writing a warning or a skipped line to
/// standard error.
enum Terminal {
    /// ANSI shading of table cells when standard output is a terminal that may be coloured (not
    /// when NO_COLOR is set or TERM is dumb, by the usual conventions).
    static var shading: AttentionRenderer.Shading {
        let environment = ProcessInfo.processInfo.environment
        guard isatty(STDOUT_FILENO) != 0, environment["NO_COLOR"] == nil, environment["TERM"] != "dumb" else { return .none }
        return .ansi
    }

    /// The width text tables are cut to: the terminal's; else `COLUMNS` when set; else 80, as
    /// `nmt walkthrough`'s. A table a row wide would be unreadable anywhere (the image attention
    /// map's 49 columns made lines of 347 characters on a pipe); csv and json are whole.
    static var width: Int {
        if let columns { return columns }
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let columns = Int(text), columns > 0 { return columns }
        return 80
    }

    /// The width of the terminal standard output is, or nil when it is not one.
    static var columns: Int? {
        guard isatty(STDOUT_FILENO) != 0 else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}

/// A line on standard error: a warning, a skipped line, a progress report on a pipe.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A line that is not valid UTF-8 (the rule of `TextLines`): reported on stderr as `file:line`
/// and skipped, or, with `strict` (--strict), an error that stops the command.
func reportInvalidLine(source: String, line: Int, strict: Bool) throws {
    let location = "\(source):\(line)"
    if strict { throw TokenizerError(source: location, message: "invalid UTF-8 (--strict)") }
    printError("\(location): invalid UTF-8, line skipped")
}
