import CaseSyncDomain
import CaseSyncProtocol
import NIOCore

/// The two ends of a file's transfer, outside the JSON pages: an upload that resumes where it was cut
/// off and is checked against its hash before the account may attach it, and a download scoped like the
/// case that holds the file.
extension SyncService {
    /// `GET /uploads/{sha256}`: where this account's upload of the blob stands.
    public func uploadState(sha256: String, session: Session) async throws -> UploadState {
        let key = try Self.uploadKey(sha256, session)
        guard let upload = try await storedUpload(key) else {
            throw ServiceError(.notFound, "no upload of this file by your account; send it with PUT /uploads/{sha256}")
        }
        return try await state(of: upload, key)
    }

    /// `PUT /uploads/{sha256}?size=…&offset=…`: appends the body to the account's upload of the blob,
    /// from `offset` (the bytes the server holds); once all `size` bytes are in, checks them against the
    /// hash and the allowed types. Bytes that arrived before a cut are kept.
    public func upload<Body: AsyncSequence & Sendable>(
        sha256: String, size: Int64?, offset: Int64?, body: Body, session: Session
    ) async throws -> UploadState where Body.Element == ByteBuffer {
        let key = try Self.uploadKey(sha256, session)
        guard let size, size >= 1 else { throw ServiceError(.invalidRequest, "size must be the file's length in bytes, 1 or more") }
        guard size <= limits.maxAttachmentBytes else {
            throw ServiceError(
                .attachmentTooLarge, "a file may be at most \(limits.maxAttachmentBytes) bytes; this one is \(size)",
                details: ["maxAttachmentBytes": String(limits.maxAttachmentBytes)])
        }
        let offset = offset ?? 0
        guard (0..<size).contains(offset) else { throw ServiceError(.invalidRequest, "offset must be between 0 and size - 1") }
        let upload: StoredUpload
        if let existing = try await storedUpload(key) {
            upload = existing
        } else {
            // Files sent and never attached would hold the server's disk: an account may have twice a case's
            // worth waiting (a device offline with the evidence of two cases).
            let pending = try await store.pendingUploadBytes(accountId: key.accountId)
            guard pending + size <= 2 * limits.maxCaseAttachmentBytes else {
                throw ServiceError(
                    .attachmentTooLarge,
                    "your account has \(pending) bytes of files uploaded and not yet attached; attach or wait for them before sending more",
                    details: ["maxCaseAttachmentBytes": String(limits.maxCaseAttachmentBytes)])
            }
            upload = try await store.beginUpload(key, size: size, at: now())
        }
        guard upload.size == size else {
            throw ServiceError(.invalidRequest, "this upload was begun with size \(upload.size); send that size, or another file")
        }
        // Whole already (sent before, by this account): nothing more to take.
        if upload.blob != nil { return try await state(of: upload, key) }
        let length = try await store.blobs.append(key, at: offset, from: body, limit: size)
        guard length == size else { return UploadState(sha256: sha256, size: size, received: length, complete: false) }
        return try await finish(key, upload: upload)
    }

    /// Checks a whole upload against its hash and the allowed types; keeps it as the blob, or drops it.
    private func finish(_ key: UploadKey, upload: StoredUpload) async throws -> UploadState {
        let (digest, head) = try await store.blobs.inspect(key)
        func refuse(_ error: ServiceError) async throws -> Never {
            try await store.blobs.discard(key)
            try await store.forgetUpload(key)
            throw error
        }
        guard digest == key.sha256 else {
            try await refuse(ServiceError(
                .blobHashMismatch, "the bytes sent do not have the SHA-256 they were sent under; nothing of them was kept: send the file again"))
        }
        guard let type = AttachmentRules.sniff(head), limits.attachmentTypes.contains(type) else {
            try await refuse(ServiceError(
                .attachmentTypeNotAllowed,
                "this file is not one of the types a case may hold (\(limits.attachmentTypes.joined(separator: ", ")))",
                details: ["attachmentTypes": limits.attachmentTypes.joined(separator: ",")]))
        }
        try await store.blobs.promote(key)
        let blob = UploadedBlob(size: upload.size, contentType: type)
        try await store.completeUpload(key, blob: blob, at: now())
        return UploadState(sha256: key.sha256, size: upload.size, received: upload.size, complete: true, contentType: type)
    }

    /// The account's upload of a blob; one whose file was swept a moment ago (a race with a deletion)
    /// is forgotten, and the device sends the file again.
    private func storedUpload(_ key: UploadKey) async throws -> StoredUpload? {
        guard let upload = try await store.upload(key) else { return nil }
        guard upload.blob != nil, try await store.blobs.size(of: key.sha256) == nil else { return upload }
        try await store.forgetUpload(key)
        return nil
    }

    private func state(of upload: StoredUpload, _ key: UploadKey) async throws -> UploadState {
        if let blob = upload.blob {
            return UploadState(sha256: key.sha256, size: upload.size, received: upload.size, complete: true, contentType: blob.contentType)
        }
        return UploadState(sha256: key.sha256, size: upload.size, received: try await store.blobs.partLength(key), complete: false)
    }

    private static func uploadKey(_ sha256: String, _ session: Session) throws -> UploadKey {
        guard AttachmentRules.isDigest(sha256) else {
            throw ServiceError(.invalidRequest, "a file is named by its SHA-256: 64 lower-case hex digits")
        }
        return UploadKey(accountId: session.account.id, sha256: sha256)
    }

    /// A file to download: its attachment and the blob's bytes in `range` (all when nil).
    public struct Download: Sendable {
        public var attachment: AttachmentRecord
        public var range: Range<Int64>
        public var bytes: AsyncThrowingStream<ByteBuffer, any Error>
    }

    /// `GET /cases/{caseId}/blobs/{sha256}`: the file, if a live attachment on a case the session sees
    /// names it; `not_found` alike for a case not seen, a file not attached to it, and a hash unknown.
    public func download(caseId: String, sha256: String, from start: Int64?, through end: Int64?, session: Session) async throws -> Download {
        let notFound = ServiceError(.notFound, "no file with this hash on a case you can see")
        guard AttachmentRules.isDigest(sha256), WireForm.isUUID(caseId),
              let attachment = try await store.attachment(caseId: caseId, sha256: sha256, session: session),
              let size = try await store.blobs.size(of: sha256)
        else { throw notFound }
        let first = start ?? 0
        let last = min(end ?? size - 1, size - 1)
        guard first >= 0, first < size, last >= first else {
            throw ServiceError(
                .rangeNotSatisfiable, "the file has \(size) bytes; ask for a range within them", details: ["size": String(size)])
        }
        return Download(attachment: attachment, range: first..<last + 1, bytes: store.blobs.read(sha256, range: first..<last + 1))
    }
}
