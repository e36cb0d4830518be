import Foundation

/// Where the test data lives: `Tests/Fixtures` (copied from the reference fixtures computed by
/// PyTorch/transformers and tokenizers), and `../shared` beside the package root when present.
public enum Fixtures {
    /// The package root, found from this source file so tests run from any working directory.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    public static let directory = packageRoot.appendingPathComponent("Tests/Fixtures")

    /// `Tests/Fixtures/<name>`.
    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// `../shared/corpora/<name>` beside the package, or nil when the shared folder is absent
    /// (tests that need the big corpora skip themselves then).
    public static func sharedCorpus(_ name: String) -> URL? {
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpora/\(name)")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// A fresh empty directory under the system's temporary folder.
    public static func temporaryDirectory(_ prefix: String = "nmt-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
