import Foundation

/// A file that could not be read or written, in one line: `runs/x/model.safetensors: cannot
/// write (No space left on device)`. Every module words its file errors through `reason(for:)`,
/// so no Foundation error text ("The operation could not be completed. …", NSCocoaErrorDomain
/// codes) reaches a user.
public struct FileError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file as the user named it.
    public var path: String
    /// What could not be done: "cannot read the file", "cannot write".
    public var action: String
    /// Why, in a few words: "no such file", "it is a directory", strerror's text.
    public var reason: String

    public var description: String { "\(path): \(action) (\(reason))" }

    /// The reason a file operation failed, without Foundation's long wrapping text. With the `url`
    /// read, a missing file or a directory where a file belongs is said as such.
    public static func reason(for error: Error, at url: URL? = nil) -> String {
        if let url {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            if !exists { return String(cString: strerror(ENOENT)) }
            if isDirectory.boolValue { return "it is a directory" }
        }
        return describe(error)
    }

    /// The error's POSIX text where there is one.
    static func describe(_ error: Error) -> String {
        if let error = error as? FileError { return error.reason }
        let nsError = error as NSError
        // On Linux the underlying error is a Swift POSIXError, which `as? NSError` does not match.
        if let underlying = (nsError.userInfo[NSUnderlyingErrorKey] as? Error).map({ $0 as NSError }),
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        // swift-corelibs-foundation gives Cocoa codes without the POSIX error underneath, and their
        // descriptions say little; say it as strerror does.
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
            case .fileReadNoPermission, .fileWriteNoPermission: return String(cString: strerror(EACCES))
            case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
            case .fileWriteFileExists: return String(cString: strerror(EEXIST))
            default: break
            }
        }
        return nsError.localizedDescription
    }
}

