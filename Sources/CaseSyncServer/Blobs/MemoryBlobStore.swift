import CaseSyncProtocol
import NIOCore

/// Blobs in memory, for tests and simulations over an in-memory database.
public actor MemoryBlobStore: BlobStore {
    private var blobs: [String: [UInt8]] = [:]
    private var parts: [UploadKey: [UInt8]] = [:]

    public init() {}

    public func partLength(_ upload: UploadKey) -> Int64 { Int64(parts[upload]?.count ?? 0) }

    public func append<Body: AsyncSequence & Sendable>(_ upload: UploadKey, at offset: Int64, from body: Body, limit: Int64) async throws -> Int64
    where Body.Element == ByteBuffer {
        let held = Int64(parts[upload]?.count ?? 0)
        guard held == offset else {
            throw ServiceError(
                .uploadOffsetMismatch, "the server holds \(held) bytes of this upload; continue from there",
                details: ["received": String(held)])
        }
        for try await buffer in body {
            let current = Int64(parts[upload]?.count ?? 0)
            let allowed = Int(min(Int64(buffer.readableBytes), limit - current))
            parts[upload, default: []] += buffer.readableBytesView.prefix(allowed)
            if allowed < buffer.readableBytes { throw ServiceError.uploadTooLong(limit) }
        }
        return Int64(parts[upload]?.count ?? 0)
    }

    public func inspect(_ upload: UploadKey) throws -> (sha256: String, head: [UInt8]) {
        guard let part = parts[upload] else { throw ServiceError(.internalError, "an upload's part is missing") }
        var digest = BlobDigest()
        digest.update(part)
        return (digest.finalize(), Array(part.prefix(AttachmentRules.sniffLength)))
    }

    public func promote(_ upload: UploadKey) throws {
        guard let part = parts.removeValue(forKey: upload) else { throw ServiceError(.internalError, "an upload's part is missing") }
        if blobs[upload.sha256] == nil { blobs[upload.sha256] = part }
    }

    public func discard(_ upload: UploadKey) { parts[upload] = nil }

    public func size(of sha256: String) -> Int64? { blobs[sha256].map { Int64($0.count) } }

    public nonisolated func read(_ sha256: String, range: Range<Int64>) -> AsyncThrowingStream<ByteBuffer, any Error> {
        AsyncThrowingStream { continuation in
            Task {
                guard let blob = await self.blobs[sha256], range.upperBound <= blob.count else {
                    continuation.finish(throwing: ServiceError(.notFound, "no such file"))
                    return
                }
                continuation.yield(ByteBuffer(bytes: blob[Int(range.lowerBound)..<Int(range.upperBound)]))
                continuation.finish()
            }
        }
    }

    public func delete(_ sha256: String) { blobs[sha256] = nil }

    public func list() -> [String] { Array(blobs.keys) }
}
