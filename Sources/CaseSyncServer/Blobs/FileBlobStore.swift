import CaseSyncProtocol
import Foundation
import NIOCore

/// Blobs in a directory beside the embedded database: `blobs/ab/abcd…` for whole blobs (the first two
/// hex digits fan them out), `uploads/<account>-<sha256>.part` for parts. A part becomes a blob by a
/// rename, after it was flushed to disk, so a blob file is always whole. Files are the server user's only.
public struct FileBlobStore: BlobStore {
    public let directory: URL
    /// Bytes read or hashed at a time.
    static let pieceSize = 256 * 1024

    public init(directory: URL) throws {
        self.directory = directory
        for folder in ["blobs", "uploads"] {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(folder), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    func blobPath(_ sha256: String) -> String {
        directory.appendingPathComponent("blobs").appendingPathComponent(String(sha256.prefix(2)))
            .appendingPathComponent(sha256).path
    }

    /// The account's id in hex: any id makes a safe file name.
    func partPath(_ upload: UploadKey) -> String {
        let account = upload.accountId.utf8.map { String(format: "%02x", $0) }.joined()
        return directory.appendingPathComponent("uploads").appendingPathComponent("\(account)-\(upload.sha256).part").path
    }

    static func length(_ path: String) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return (attributes[.size] as? NSNumber)?.int64Value
    }

    public func partLength(_ upload: UploadKey) async throws -> Int64 { Self.length(partPath(upload)) ?? 0 }

    public func append<Body: AsyncSequence & Sendable>(_ upload: UploadKey, at offset: Int64, from body: Body, limit: Int64) async throws -> Int64
    where Body.Element == ByteBuffer {
        let path = partPath(upload)
        let descriptor = open(path, O_WRONLY | O_CREAT, 0o600)
        guard descriptor >= 0 else { throw ServiceError(.internalError, "cannot write an upload's part") }
        defer { close(descriptor) }
        var length = Int64(lseek(descriptor, 0, SEEK_END))
        guard length == offset else {
            throw ServiceError(
                .uploadOffsetMismatch, "the server holds \(length) bytes of this upload; continue from there",
                details: ["received": String(length)])
        }
        // Written as they come: what arrived before a cut is on the part when the error surfaces.
        for try await buffer in body {
            let allowed = Int(min(Int64(buffer.readableBytes), limit - length))
            try buffer.withUnsafeReadableBytes { bytes in
                var written = 0
                while written < allowed {
                    let result = write(descriptor, bytes.baseAddress! + written, allowed - written)
                    guard result > 0 else { throw ServiceError(.internalError, "cannot write an upload's part") }
                    written += result
                }
            }
            length += Int64(allowed)
            if allowed < buffer.readableBytes { throw ServiceError.uploadTooLong(limit) }
        }
        return length
    }

    public func inspect(_ upload: UploadKey) async throws -> (sha256: String, head: [UInt8]) {
        guard let handle = FileHandle(forReadingAtPath: partPath(upload)) else {
            throw ServiceError(.internalError, "an upload's part is missing")
        }
        defer { try? handle.close() }
        var digest = BlobDigest()
        var head: [UInt8] = []
        while let piece = try handle.read(upToCount: Self.pieceSize), !piece.isEmpty {
            if head.count < AttachmentRules.sniffLength { head += piece.prefix(AttachmentRules.sniffLength - head.count) }
            digest.update(piece)
        }
        return (digest.finalize(), head)
    }

    public func promote(_ upload: UploadKey) async throws {
        let part = partPath(upload)
        let target = blobPath(upload.sha256)
        let descriptor = open(part, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        // Held already (another account sent the same file): the bytes are the same.
        if FileManager.default.fileExists(atPath: target) {
            try? FileManager.default.removeItem(atPath: part)
            return
        }
        guard rename(part, target) == 0 else { throw ServiceError(.internalError, "cannot keep an uploaded file") }
    }

    public func discard(_ upload: UploadKey) async throws {
        try? FileManager.default.removeItem(atPath: partPath(upload))
    }

    public func size(of sha256: String) async throws -> Int64? { Self.length(blobPath(sha256)) }

    public func read(_ sha256: String, range: Range<Int64>) -> AsyncThrowingStream<ByteBuffer, any Error> {
        let reader = PieceReader(path: blobPath(sha256), range: range)
        // Read as the response is written: one piece in memory at a time.
        return AsyncThrowingStream(unfolding: { try reader.next() })
    }

    public func delete(_ sha256: String) async throws {
        try? FileManager.default.removeItem(atPath: blobPath(sha256))
    }

    /// Copies every blob into `target` (a backup's files), linking where the file system allows: blobs
    /// never change, so a link is a copy. Returns how many.
    @discardableResult
    public func copyBlobs(to target: URL) async throws -> Int {
        let other = try FileBlobStore(directory: target)
        var copied = 0
        for sha256 in try await list() where try await other.size(of: sha256) == nil {
            let destination = other.blobPath(sha256)
            try FileManager.default.createDirectory(
                atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            if link(blobPath(sha256), destination) != 0 {
                try FileManager.default.copyItem(atPath: blobPath(sha256), toPath: destination)
            }
            copied += 1
        }
        return copied
    }

    public func list() async throws -> [String] {
        let root = directory.appendingPathComponent("blobs").path
        var found: [String] = []
        for folder in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + folder)) ?? []
            where AttachmentRules.isDigest(name) {
                found.append(name)
            }
        }
        return found
    }
}

/// Reads a file's range piece by piece (the pieces of one response are asked for one after another).
private final class PieceReader: @unchecked Sendable {
    private var handle: FileHandle?
    private let path: String
    private var offset: Int64
    private let end: Int64

    init(path: String, range: Range<Int64>) {
        self.path = path
        offset = range.lowerBound
        end = range.upperBound
    }

    func next() throws -> ByteBuffer? {
        guard offset < end else {
            try? handle?.close()
            handle = nil
            return nil
        }
        if handle == nil {
            guard let opened = FileHandle(forReadingAtPath: path) else { throw ServiceError(.notFound, "no such file") }
            try opened.seek(toOffset: UInt64(offset))
            handle = opened
        }
        guard let piece = try handle?.read(upToCount: Int(min(end - offset, Int64(FileBlobStore.pieceSize)))), !piece.isEmpty else {
            throw ServiceError(.internalError, "a stored file is shorter than its record says")
        }
        offset += Int64(piece.count)
        return ByteBuffer(bytes: piece)
    }

    deinit { try? handle?.close() }
}
