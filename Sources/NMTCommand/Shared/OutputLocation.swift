import ArgumentParser
import Foundation
import NMT
import TextIO

/// `--overwrite`: the one way to let a command replace what is already where it writes.
struct OverwriteOption: ParsableArguments {
    @Flag(help: "Replace the output if it already exists (never in the shipped models/ folder).")
    var overwrite = false
}

/// The rule for every file and folder nmt writes: nothing a user made is replaced unless told
/// (`--overwrite`), and nothing is ever written into the shipped `models/` folder. Each command
/// checks its outputs here before it reads or computes anything, so a refusal costs no time.
enum OutputLocation {
    /// A file output (`--output`, `--svg`): refused when something is there already, unless
    /// `overwrite`; a directory is never replaced.
    static func checkFile(_ path: String, option: String, overwrite: Bool) throws {
        let url = URL(fileURLWithPath: path)
        try checkOutsideShippedModels(url, option: option)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue {
            throw CommandError("\(path): is a directory; \(option) names the file to write")
        }
        if !overwrite {
            throw CommandError("\(path): already exists; give --overwrite to replace it, or another \(option)")
        }
    }

    /// A model directory to write (`export`, `average`, `image train`): refused when it holds
    /// anything already, unless `overwrite` (which replaces its model files and leaves the rest).
    static func checkModelDirectory(_ path: String, option: String, overwrite: Bool) throws {
        let url = URL(fileURLWithPath: path)
        try checkOutsideShippedModels(url, option: option)
        try checkCreatable(url, path: path)
        guard let contents = try existingContents(of: url, path: path, option: option), !contents.isEmpty, !overwrite else { return }
        throw CommandError("\(path): already holds \(listing(contents)); give --overwrite to replace its model, or another \(option)")
    }

    /// Refuses a directory that could not be created because a file stands where one of its
    /// parent folders would be, before any time is spent computing what would go into it.
    static func checkCreatable(_ url: URL, path: String) throws {
        var ancestor = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
            let parent = ancestor.deletingLastPathComponent()
            if parent.path == ancestor.path { return }
            ancestor = parent
        }
        if !isDirectory.boolValue {
            throw CommandError("\(path): cannot write the model directory (\(ancestor.path) is a file, not a folder)")
        }
    }

    /// What the directory at `url` holds (nil when there is nothing there); an error when it is a file.
    static func existingContents(of url: URL, path: String, option: String) throws -> [String]? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        guard isDirectory.boolValue else {
            throw CommandError("\(path): is a file; \(option) names a directory to write")
        }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw CommandError("\(path): cannot list the directory (\(FileError.reason(for: error)))")
        }
    }

    /// "config.json, model.safetensors and 3 more".
    static func listing(_ names: [String]) -> String {
        let shown = names.prefix(4).joined(separator: ", ")
        return names.count > 4 ? "\(shown) and \(names.count - 4) more" : shown
    }

    /// Refuses any path inside the `models/` folder that ships with nmt (the one the shipped
    /// models are found in), symbolic links resolved, whatever `--overwrite` says.
    static func checkOutsideShippedModels(_ url: URL, option: String) throws {
        guard let shipped = ShippedModel.folder, isInside(url, shipped) else { return }
        throw CommandError("\(url.path): is inside the shipped models folder (\(shipped.path)), which nmt never writes; give another \(option)")
    }

    /// Whether `url` is `folder` or lies under it, comparing real paths (the part of `url` that
    /// does not exist yet taken as it is).
    static func isInside(_ url: URL, _ folder: URL) -> Bool {
        let target = realPath(url), base = realPath(folder)
        return target == base || target.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }

    /// The path with symbolic links resolved in the longest part of it that exists.
    static func realPath(_ url: URL) -> String {
        var existing = url.standardizedFileURL, missing: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            missing.insert(existing.lastPathComponent, at: 0)
            existing = existing.deletingLastPathComponent()
        }
        var resolved = existing.resolvingSymlinksInPath()
        for component in missing { resolved.appendPathComponent(component) }
        return resolved.standardizedFileURL.path
    }
}
