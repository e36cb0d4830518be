import Foundation

/// A path as messages show it: relative to the working directory when it lies under it (as the
/// user most likely typed it), otherwise absolute. Runs store absolute paths so they resume from
/// anywhere; what they print should still read like the command line that started them.
public enum DisplayPath {
    /// `path` (absolute or not) as a file URL relative to the working directory when it lies
    /// under it; its `relativePath` is what messages print.
    public static func url(_ path: String) -> URL {
        let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard absolute.hasPrefix(prefix) else { return URL(fileURLWithPath: absolute) }
        return URL(fileURLWithPath: String(absolute.dropFirst(prefix.count)), relativeTo: URL(fileURLWithPath: directory, isDirectory: true))
    }

    /// The text of `url(path)`: `runs/tiny`, or `/data/runs/tiny` outside the working directory.
    public static func text(_ path: String) -> String { url(path).relativePath }
}
