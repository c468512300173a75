import CaseSyncProtocol
@preconcurrency import Crypto
import Foundation
import NIOCore

/// One account's upload of one blob: uploads are kept apart per account, so that an account holds a
/// blob only once it has sent every byte of it (knowing a hash is not having the file).
public struct UploadKey: Sendable, Hashable {
    public var accountId: String
    public var sha256: String

    public init(accountId: String, sha256: String) {
        self.accountId = accountId
        self.sha256 = sha256
    }
}

/// Where the server keeps the bytes of files, by SHA-256: whole blobs, and the parts of uploads still
/// arriving. One adapter per backend: the data directory beside the embedded SQLite (`FileBlobStore`),
/// PostgreSQL for several instances (`PostgresBlobStore`), memory in tests (`MemoryBlobStore`). Who may
/// use which blob is the `SyncStore`'s to say; this port only holds bytes.
public protocol BlobStore: Sendable {
    /// The bytes an upload's part holds (0 when there is none).
    func partLength(_ upload: UploadKey) async throws -> Int64
    /// Appends what `body` brings to the upload's part, which must hold `offset` bytes. Every byte that
    /// arrives is kept as it comes, so a body cut off midway leaves the part longer by what arrived. A
    /// part would grow past `limit`: `payload_too_large`, and what came before the limit stays. Returns
    /// the part's length.
    func append<Body: AsyncSequence & Sendable>(_ upload: UploadKey, at offset: Int64, from body: Body, limit: Int64) async throws -> Int64
    where Body.Element == ByteBuffer
    /// The SHA-256 of the upload's part, and its first bytes (to find its type).
    func inspect(_ upload: UploadKey) async throws -> (sha256: String, head: [UInt8])
    /// Makes the upload's whole part the blob of its hash (one there already is kept) and drops the part.
    func promote(_ upload: UploadKey) async throws
    /// Drops an upload's part.
    func discard(_ upload: UploadKey) async throws
    /// A blob's length, or nil when it is not held.
    func size(of sha256: String) async throws -> Int64?
    /// A blob's bytes in `range`, in pieces.
    func read(_ sha256: String, range: Range<Int64>) -> AsyncThrowingStream<ByteBuffer, any Error>
    /// Deletes a blob (nothing when it is not held).
    func delete(_ sha256: String) async throws
    /// Every blob held, for the sweep.
    func list() async throws -> [String]
}

/// The SHA-256 of bytes as the protocol writes it.
public struct BlobDigest {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: some DataProtocol) { hasher.update(data: bytes) }
    public mutating func update(_ buffer: ByteBuffer) { buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
    public func finalize() -> String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
}

extension ServiceError {
    /// A part that would grow past the upload's size.
    public static func uploadTooLong(_ limit: Int64) -> ServiceError {
        ServiceError(
            .payloadTooLarge, "the upload brings more bytes than the size it declared (\(limit))",
            details: ["size": String(limit)])
    }
}
