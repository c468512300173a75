import CaseSyncProtocol
import Crypto
import Foundation

/// The files of this device's attachments, by SHA-256, in a directory beside its database: a file is
/// there whole (`<sha256>`) only once it was verified against its hash; a download under way is
/// `<sha256>.part` and resumes from its length. Readable by this user only.
public struct LocalFiles: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// A directory of its own under the temporary folder (an in-memory database's).
    static func temporary() -> LocalFiles {
        LocalFiles(directory: FileManager.default.temporaryDirectory.appendingPathComponent("casesync-files-\(UUID().uuidString)"))
    }

    func prepare() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Where the whole file of `sha256` is, if this device holds it.
    public func file(_ sha256: String) -> URL? {
        let url = directory.appendingPathComponent(sha256)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    func partURL(_ sha256: String) -> URL { directory.appendingPathComponent(sha256 + ".part") }

    /// The bytes of a download under way.
    func partLength(_ sha256: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: partURL(sha256).path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Drops a download under way.
    func dropPart(_ sha256: String) {
        try? FileManager.default.removeItem(at: partURL(sha256))
    }

    /// Keeps `bytes` as the file of `sha256` (they were hashed by the caller).
    func keep(_ bytes: Data, as sha256: String) throws {
        guard file(sha256) == nil else { return }
        try prepare()
        let part = partURL(sha256)
        try bytes.write(to: part, options: .atomic)
        try FileManager.default.moveItem(at: part, to: directory.appendingPathComponent(sha256))
    }

    /// Appends to a download under way.
    func append(_ bytes: [UInt8], to sha256: String) throws {
        try prepare()
        let part = partURL(sha256)
        if !FileManager.default.fileExists(atPath: part.path) {
            FileManager.default.createFile(atPath: part.path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let handle = try FileHandle(forWritingTo: part)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: bytes)
    }

    /// A hasher that has read the bytes of a download under way (to go on with those still to come).
    func partHasher(_ sha256: String) throws -> SHA256 {
        var hasher = SHA256()
        guard let handle = try? FileHandle(forReadingFrom: partURL(sha256)) else { return hasher }
        defer { try? handle.close() }
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty { hasher.update(data: piece) }
        return hasher
    }

    /// Makes a whole download the file, if `digest` (the SHA-256 of every byte it holds) is the hash it
    /// was asked for; otherwise drops it and returns false.
    /// (A part is flushed only here: bytes lost to a crash before show as a hash that differs, and the
    /// file is fetched again.)
    func finishDownload(_ sha256: String, digest: SHA256) throws -> Bool {
        let part = partURL(sha256)
        guard Self.hex(digest.finalize()) == sha256 else {
            try? FileManager.default.removeItem(at: part)
            return false
        }
        let handle = try FileHandle(forWritingTo: part)
        try handle.synchronize()
        try handle.close()
        try FileManager.default.moveItem(at: part, to: directory.appendingPathComponent(sha256))
        return true
    }

    /// Reads `count` bytes of the file of `sha256` from `offset`.
    func read(_ sha256: String, offset: Int64, count: Int) throws -> [UInt8] {
        guard let url = file(sha256) else { throw ClientError(.notFound, "the file is no longer on this device") }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }

    /// Deletes every file but those of `kept` (and downloads under way of them).
    func prune(keeping kept: Set<String>) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where !kept.contains(name.hasSuffix(".part") ? String(name.dropLast(5)) : name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// The SHA-256 of a file, read piece by piece.
    static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty { hasher.update(data: piece) }
        return hex(hasher.finalize())
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
