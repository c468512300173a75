import CaseSyncProtocol
import CaseSyncServer
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Blobs in the PostgreSQL database every instance shares, in chunks of about a megabyte: whole blobs in
/// `blob_chunks`, uploads arriving in `upload_chunks` (each chunk committed as it is written, so an upload
/// cut off resumes on any instance). For large volumes an S3-compatible object store is the other
/// choice (DEPLOYMENT.md); this one needs nothing beside the database.
public struct PostgresBlobStore: BlobStore {
    let client: PostgresClient
    let logger: Logger
    /// Bytes gathered before a chunk is written.
    static let chunkSize = 1024 * 1024

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func partLength(_ upload: UploadKey) async throws -> Int64 {
        var length: Int64 = 0
        for try await value in try await client.query(
            """
            SELECT COALESCE(SUM(length(bytes)), 0)::BIGINT FROM upload_chunks
            WHERE account_id = \(upload.accountId) AND sha256 = \(upload.sha256)
            """, logger: logger
        ).decode(Int64.self) {
            length = value
        }
        return length
    }

    public func append<Body: AsyncSequence & Sendable>(_ upload: UploadKey, at offset: Int64, from body: Body, limit: Int64) async throws -> Int64
    where Body.Element == ByteBuffer {
        let held = try await partLength(upload)
        guard held == offset else {
            throw ServiceError(
                .uploadOffsetMismatch, "the server holds \(held) bytes of this upload; continue from there",
                details: ["received": String(held)])
        }
        var length = held
        var pending = ByteBuffer()
        func flush() async throws {
            guard pending.readableBytes > 0 else { return }
            try await client.query(
                """
                INSERT INTO upload_chunks (account_id, sha256, start_at, bytes)
                VALUES (\(upload.accountId), \(upload.sha256), \(length), \(pending))
                """, logger: logger)
            length += Int64(pending.readableBytes)
            pending.clear()
        }
        do {
            for try await var buffer in body {
                let allowed = Int(min(Int64(buffer.readableBytes), limit - length - Int64(pending.readableBytes)))
                if var kept = buffer.readSlice(length: allowed) { pending.writeBuffer(&kept) }
                if buffer.readableBytes > 0 {
                    try await flush()
                    throw ServiceError.uploadTooLong(limit)
                }
                if pending.readableBytes >= Self.chunkSize { try await flush() }
            }
        } catch {
            // What arrived before the cut is kept.
            try? await flush()
            throw error
        }
        try await flush()
        return length
    }

    public func inspect(_ upload: UploadKey) async throws -> (sha256: String, head: [UInt8]) {
        var digest = BlobDigest()
        var head: [UInt8] = []
        var next: Int64 = 0
        while let chunk = try await chunk(
            "SELECT start_at, bytes FROM upload_chunks WHERE account_id = \(upload.accountId) AND sha256 = \(upload.sha256) AND start_at >= \(next) ORDER BY start_at LIMIT 1"
        ) {
            guard chunk.start == next else { throw ServiceError(.internalError, "an upload's chunks do not follow each other") }
            if head.count < AttachmentRules.sniffLength {
                head += chunk.bytes.readableBytesView.prefix(AttachmentRules.sniffLength - head.count)
            }
            digest.update(chunk.bytes)
            next += Int64(chunk.bytes.readableBytes)
        }
        return (digest.finalize(), head)
    }

    private func chunk(_ query: PostgresQuery) async throws -> (start: Int64, bytes: ByteBuffer)? {
        for try await (start, bytes) in try await client.query(query, logger: logger).decode((Int64, ByteBuffer).self) {
            return (start, bytes)
        }
        return nil
    }

    public func promote(_ upload: UploadKey) async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One promotion of a hash at a time: a blob's chunks all come from one upload.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(upload.sha256)))", logger: logger)
            try await connection.query(
                """
                INSERT INTO blob_chunks (sha256, start_at, bytes)
                SELECT sha256, start_at, bytes FROM upload_chunks
                WHERE account_id = \(upload.accountId) AND sha256 = \(upload.sha256)
                  AND NOT EXISTS (SELECT 1 FROM blob_chunks WHERE sha256 = \(upload.sha256))
                """, logger: logger)
            try await connection.query(
                "DELETE FROM upload_chunks WHERE account_id = \(upload.accountId) AND sha256 = \(upload.sha256)", logger: logger)
        }
    }

    public func discard(_ upload: UploadKey) async throws {
        try await client.query(
            "DELETE FROM upload_chunks WHERE account_id = \(upload.accountId) AND sha256 = \(upload.sha256)", logger: logger)
    }

    public func size(of sha256: String) async throws -> Int64? {
        var size: Int64?
        for try await value in try await client.query(
            "SELECT SUM(length(bytes))::BIGINT FROM blob_chunks WHERE sha256 = \(sha256)", logger: logger
        ).decode(Int64?.self) {
            size = value
        }
        return size
    }

    public func read(_ sha256: String, range: Range<Int64>) -> AsyncThrowingStream<ByteBuffer, any Error> {
        let reader = ChunkReader(store: self, sha256: sha256, range: range)
        return AsyncThrowingStream(unfolding: { try await reader.next() })
    }

    /// The chunk holding byte `offset` of a blob, trimmed to `range`.
    fileprivate func piece(of sha256: String, at offset: Int64, before end: Int64) async throws -> ByteBuffer? {
        guard offset < end else { return nil }
        guard var found = try await chunk(
            "SELECT start_at, bytes FROM blob_chunks WHERE sha256 = \(sha256) AND start_at <= \(offset) ORDER BY start_at DESC LIMIT 1"
        ) else { throw ServiceError(.notFound, "no such file") }
        let skip = Int(offset - found.start)
        guard skip < found.bytes.readableBytes else { throw ServiceError(.internalError, "a stored file is shorter than its record says") }
        found.bytes.moveReaderIndex(forwardBy: skip)
        return found.bytes.readSlice(length: Int(min(Int64(found.bytes.readableBytes), end - offset)))
    }

    public func delete(_ sha256: String) async throws {
        try await client.query("DELETE FROM blob_chunks WHERE sha256 = \(sha256)", logger: logger)
    }

    public func list() async throws -> [String] {
        var found: [String] = []
        for try await sha256 in try await client.query("SELECT DISTINCT sha256 FROM blob_chunks", logger: logger).decode(String.self) {
            found.append(sha256)
        }
        return found
    }
}

/// Reads a blob's range chunk by chunk, as the response is written.
private actor ChunkReader {
    let store: PostgresBlobStore
    let sha256: String
    var offset: Int64
    let end: Int64

    init(store: PostgresBlobStore, sha256: String, range: Range<Int64>) {
        self.store = store
        self.sha256 = sha256
        offset = range.lowerBound
        end = range.upperBound
    }

    func next() async throws -> ByteBuffer? {
        guard let piece = try await store.piece(of: sha256, at: offset, before: end) else { return nil }
        offset += Int64(piece.readableBytes)
        return piece
    }
}
