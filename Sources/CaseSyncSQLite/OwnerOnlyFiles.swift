import Foundation

/// Database files that hold tokens and personal data are readable by their owner only.
public enum OwnerOnlyFiles {
    /// Creates the database file at `path` with mode 0600 when it does not exist yet, so that SQLite
    /// opens it as it is (and gives its log and shared-memory files the same mode); a file that exists
    /// keeps its mode, which the owner may have chosen.
    public static func prepareDatabase(at path: String) throws {
        let manager = FileManager.default
        guard !manager.fileExists(atPath: path) else { return }
        guard manager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// Creates a directory (and its parents) readable by its owner only; one that exists is left as it is.
    public static func createDirectory(at path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
}
