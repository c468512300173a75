import CaseSyncDomain
import CaseSyncProtocol
import Crypto
import Foundation
import GRDB

/// A file on a case as this device shows it.
public struct LocalAttachment: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// On the server: both sides see it.
        case sent
        /// Attached on this device; sent with the next sync.
        case waitingToUpload = "waiting_to_upload"
        /// The server refused it (`refusal` says why); the file stays on this device.
        case refused
    }

    public var record: AttachmentRecord
    public var state: State
    public var refusal: String?
    /// Whether this device holds the file (no download needed).
    public var onDevice: Bool
}

/// Files on cases: attached offline at once, sent before the edits that name them, fetched once and
/// kept, always checked against their SHA-256.
extension CaseSyncClient {
    /// Bytes sent or fetched per request: a connection that drops loses at most this much.
    public static let filePiece = 4 * 1024 * 1024

    /// Attaches the file at `url` to a case: it is kept on this device at once, listed as waiting to
    /// upload, and sent with the next sync. The same file twice is kept and sent once. Returns the
    /// attachment's id. A file too large, or of a type a case may not hold, is refused here.
    @discardableResult
    public func attach(caseId: String, file url: URL, name: String? = nil, limits: ProtocolLimits = ProtocolLimits()) throws -> String {
        let name = name ?? url.lastPathComponent
        if let problem = AttachmentRules.nameProblem(name) { throw ClientError(.invalidInput, problem) }
        let size: Int64
        let head: [UInt8]
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            head = [UInt8](try handle.read(upToCount: AttachmentRules.sniffLength) ?? Data())
        } catch {
            throw ClientError(.invalidInput, "cannot read \(url.path): check the path and that you may read it")
        }
        guard size > 0 else { throw ClientError(.invalidInput, "\(name) is empty") }
        guard size <= limits.maxAttachmentBytes else {
            throw ClientError(.invalidInput, "\(name) has \(size) bytes; a file may have at most \(limits.maxAttachmentBytes)")
        }
        guard let type = AttachmentRules.sniff(head), limits.attachmentTypes.contains(type) else {
            throw ClientError(
                .invalidInput, "\(name) is not a photo or a PDF a case may hold (\(limits.attachmentTypes.joined(separator: ", ")))")
        }
        let sha256: String
        do {
            sha256 = try LocalFiles.sha256(of: url)
            if database.files.file(sha256) == nil { try database.files.keep(try Data(contentsOf: url), as: sha256) }
        } catch {
            throw ClientError(.storage, "cannot keep a copy of \(name) on this device: check the free space")
        }
        return try database.writer.write { db in
            let id = try createdId(db)
            let mutationId = try Self.requireAccount(db).nextMutationId
            try db.execute(
                sql: "INSERT INTO file_uploads (mutation_id, sha256, size, content_type) VALUES (?, ?, ?, ?)",
                arguments: [mutationId, sha256, size, type])
            try enqueue(db, caseId: caseId, operation: .attach(NewAttachment(id: id, sha256: sha256, name: name)))
            return id
        }
    }

    /// The files on a case: those on the server, then those waiting to be sent, then those refused.
    public func attachments(caseId: String) throws -> [LocalAttachment] {
        try database.writer.read { db in
            let account = try Self.requireAccount(db)
            let rebased = try Self.rebased(db, caseId: caseId, actor: Self.actor(account), maxTextLength: maxTextLength)
            guard rebased.result.visible != nil || rebased.server != nil else {
                throw ClientError(.notFound, "no case \(caseId) on this device", subject: .caseRecord)
            }
            var list = try LocalDatabase.records(db, type: .attachment, caseId: caseId, as: AttachmentRecord.self).map {
                LocalAttachment(record: $0, state: .sent, onDevice: database.files.file($0.sha256) != nil)
            }
            list += rebased.result.attachments.map {
                LocalAttachment(record: $0, state: .waitingToUpload, onDevice: database.files.file($0.sha256) != nil)
            }
            for letter in try LocalDatabase.deadLetters(db, caseId: caseId) {
                guard case .attach(let new) = letter.mutation.operation,
                      let row = try Row.fetchOne(
                        db, sql: "SELECT size, content_type FROM file_uploads WHERE mutation_id = ?", arguments: [letter.mutation.mutationId])
                else { continue }
                let record = AttachmentRecord(
                    id: new.id, caseId: caseId, sha256: new.sha256, name: new.name, size: row[0], contentType: row[1],
                    addedByRole: account.account.role, addedByName: account.account.displayName, addedAt: letter.rejectedAt)
                list.append(LocalAttachment(record: record, state: .refused, refusal: letter.message, onDevice: database.files.file(new.sha256) != nil))
            }
            return list
        }
    }

    /// The file of an attachment on this device: fetched the first time (resuming a fetch that was cut
    /// off), verified against its SHA-256, then kept. `matching` is the attachment's name or id, or the
    /// start of its hash.
    public func download(caseId: String, matching: String, transport: any SyncTransport) async throws -> (AttachmentRecord, URL) {
        let found = try attachments(caseId: caseId).filter {
            $0.record.name == matching || $0.record.id == matching || (matching.count >= 6 && $0.record.sha256.hasPrefix(matching))
        }
        guard let attachment = found.first else {
            throw ClientError(.notFound, "no file \(matching) on case \(caseId) on this device", subject: .attachment)
        }
        guard Set(found.map(\.record.sha256)).count == 1 else {
            throw ClientError(.ambiguous, "several files on the case are called \(matching); name one by its id")
        }
        let record = attachment.record
        if let url = database.files.file(record.sha256) { return (record, url) }
        guard attachment.state == .sent else { throw ClientError(.notFound, "\(record.name) is not on this device any more") }
        let token = try deviceToken()
        var offset = database.files.partLength(record.sha256)
        if offset > record.size {
            // Longer than the file can be: not a fetch of it; started again.
            database.files.dropPart(record.sha256)
            offset = 0
        }
        // Hashed as the bytes come (after those a cut fetch left).
        var digest = try database.files.partHasher(record.sha256)
        while offset < record.size {
            let end = min(record.size, offset + Int64(Self.filePiece))
            let bytes: [UInt8]
            do {
                bytes = try await withRetry { () async throws(SyncTransportError) in
                    try await transport.download(caseId: caseId, sha256: record.sha256, range: offset..<end, token: token)
                }
            } catch {
                throw ClientError.from(error)
            }
            try database.files.append(bytes, to: record.sha256)
            digest.update(data: bytes)
            offset += Int64(bytes.count)
        }
        guard try database.files.finishDownload(record.sha256, digest: digest), let url = database.files.file(record.sha256) else {
            throw ClientError(.integrity, "the file that arrived does not match its SHA-256 and was dropped; download it again")
        }
        return (record, url)
    }

    /// Sends the files that attach mutations in the outbox name, each from where the server's copy
    /// stops. A file the server refuses keeps its reason (the attach is then refused for it); a server
    /// that cannot be reached ends the sync before anything is pushed.
    func uploadPendingFiles(transport: any SyncTransport, token: String) async throws {
        let pending = try await database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT f.sha256, f.size FROM file_uploads f JOIN outbox o ON o.mutation_id = f.mutation_id
                    WHERE f.sha256 NOT IN (SELECT sha256 FROM file_refusals)
                    """
            ).map { (sha256: $0[0] as String, size: $0[1] as Int64) }
        }
        for file in pending {
            do {
                var state = try await withRetry { () async throws(SyncTransportError) in
                    try await transport.uploadState(sha256: file.sha256, token: token)
                } ?? UploadState(sha256: file.sha256, size: file.size, received: 0, complete: false)
                while !state.complete {
                    let offset = state.received
                    let bytes = try database.files.read(file.sha256, offset: offset, count: Self.filePiece)
                    state = try await withRetry { () async throws(SyncTransportError) in
                        try await transport.upload(sha256: file.sha256, size: file.size, offset: offset, bytes: bytes, token: token)
                    }
                    guard state.received > offset || state.complete else {
                        throw ClientError(.server, "the server took none of the file; try again later")
                    }
                }
            } catch SyncTransportError.server(let status, let error) where status < 500 && status != 429 && status != 409 {
                try await database.writer.write { db in
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO file_refusals (sha256, code, message) VALUES (?, ?, ?)",
                        arguments: [file.sha256, error.code.rawValue, error.message])
                }
            } catch let error as SyncTransportError {
                throw ClientError.from(error)
            }
        }
    }

    /// Deletes the files nothing on this device refers to any more (a deleted draft's, a case gone).
    func pruneFiles() throws {
        let kept = try database.writer.read { db in
            Set(try String.fetchAll(db, sql: "SELECT sha256 FROM file_uploads"))
                .union(try LocalDatabase.records(db, type: .attachment, as: AttachmentRecord.self).map(\.sha256))
        }
        database.files.prune(keeping: kept)
    }
}

extension LocalDatabase {
    /// The files this device attached and has not had applied yet, as it found them.
    static func pendingFiles(_ db: Database) throws -> [String: UploadedBlob] {
        var files: [String: UploadedBlob] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT sha256, size, content_type FROM file_uploads") {
            files[row[0]] = UploadedBlob(size: row[1], contentType: row[2])
        }
        return files
    }
}
