import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncSQLite
import Foundation
import GRDB
import Logging

/// The sync engine: push the outbox in batches, then pull pages until the cursor is current, each
/// page applied with its cursor in one local transaction, and the final checksum verified. What to do
/// next — after a batch, a page, a failure — is `SyncStateMachine`'s decision; this does the I/O.
extension CaseSyncClient {
    /// Pushes every pending mutation, then pulls everything new. Network failures are retried with
    /// backoff; if the server still cannot be reached the error says so and nothing is lost.
    /// Another sync of this device that is running (in this process or another) finishes first; calls
    /// in this process that overlap share the next run (`SyncJoiner`) and its report.
    @discardableResult
    public func sync(transport: any SyncTransport) async throws -> SyncReport {
        try await database.syncJoiner.join { try await database.syncLock.run { try await syncNow(transport: transport) } }
    }

    private func syncNow(transport: any SyncTransport) async throws -> SyncReport {
        var report = SyncReport()
        do {
            // Files first: the attach mutations that name them are then applied by the push.
            try await uploadPendingFiles(transport: transport, token: try deviceToken())
            try await runSync(sending: true, transport: transport, report: &report)
            try await refreshAuthorities(transport: transport, force: false)
            try pruneFiles()
        } catch {
            // Pages applied before the failure may have left the index to follow (it follows once a second).
            try? await database.writer.write { db in try refreshCaseIndex(db) }
            if let error = error as? ClientError { _ = try? await noteSignedOut(error) }
            let message = (error as? ClientError)?.message ?? "\(error)"
            try? await database.writer.write { db in
                try db.execute(sql: "UPDATE account SET last_sync_error = ?", arguments: [message])
            }
            throw error
        }
        let now = environment.now()
        try await database.writer.write { db in
            try db.execute(
                sql: "UPDATE account SET last_sync_at = ?, last_sync_error = NULL", arguments: [now.millisecondsSince1970])
        }
        logger.debug(
            "sync done",
            metadata: ["casesync.pushed": "\(report.pushed)", "casesync.pulled": "\(report.pulled)", "casesync.repaired": "\(report.repaired)"])
        return report
    }

    /// Runs one sync as `SyncStateMachine` decides it: the machine says what to do next, this does it
    /// (pushing a batch, pulling and applying a page, correcting the clock, beginning a re-pull) and tells
    /// the machine what happened. With `sending` false, only pulls.
    private func runSync(sending: Bool, transport: any SyncTransport, report: inout SyncReport) async throws {
        defer { database.progress.send(nil) }
        let token = try deviceToken()
        let (toPush, repairing) = try await database.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0, try Bool.fetchOne(db, sql: "SELECT repairing FROM account") ?? false)
        }
        var machine = SyncStateMachine(repairing: repairing, sending: sending)
        var pages = PageFetcher(client: self, transport: transport, token: token)
        defer { pages.cancel() }
        // The failure the machine was last told of, to report (and, for a clock ahead, to correct by).
        var failure: SyncTransportError?
        var indexed = ContinuousClock.now
        var action = machine.start
        if sending { database.progress.send(SyncProgress(phase: .pushing, report: report, toPush: toPush)) }
        while true {
            switch action {
            case .push:
                do {
                    let outboxEmpty = try await pushBatch(transport: transport, token: token, report: &report)
                    if !outboxEmpty {
                        database.progress.send(SyncProgress(phase: .pushing, report: report, toPush: max(toPush, report.pushed)))
                    }
                    action = machine.handle(.pushed(outboxEmpty: outboxEmpty))
                } catch let error as SyncTransportError {
                    failure = error
                    action = machine.handle(.failed(SyncFailure(error)))
                }
            case .correctClock:
                guard case .server(_, let body)? = failure else { preconditionFailure("a clock correction without a refusal") }
                action = machine.handle(.clockCorrected(try await correctClock(after: body)))
            case .beginRepair:
                try await database.writer.write { db in try Self.beginRepair(db) }
                action = .pull
            case .pull:
                let page: RawPullResponse
                do {
                    page = try await pages.next()
                } catch let error as SyncTransportError {
                    failure = error
                    action = machine.handle(.failed(SyncFailure(error)))
                    continue
                }
                let repairOnMismatch = machine.repairsOnMismatch
                // The case index follows at least once a second (and with the last page): a case a long
                // pull touches on several pages is indexed once.
                let index = !page.hasMore || ContinuousClock.now - indexed > .seconds(1)
                let mismatch = try await database.writer.write { db in
                    let mismatch = try Self.apply(page, db: db, repairOnMismatch: repairOnMismatch)
                    if index { try refreshCaseIndex(db) }
                    return mismatch
                }
                if index { indexed = ContinuousClock.now }
                report.pages += 1
                report.pulled += page.changes.count
                action = machine.handle(.pageApplied(hasMore: page.hasMore, checksumAgrees: !mismatch))
                if mismatch, action == .pull { logger.notice("checksum mismatch; pulling the whole scope again") }
                report.repaired = machine.repaired
                database.progress.send(SyncProgress(phase: .pulling, report: report, toPush: report.pushed))
            case .finish:
                if report.pulled >= Self.largePull {
                    // A large pull leaves a long write-ahead log behind; copy it into the file and give the disk
                    // back. Best effort: a reader holding the log makes it fail, and the next large pull tries again.
                    _ = try? await database.writer.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
                }
                return
            case .fail(.failure), .fail(.clockStillAhead):
                throw ClientError.from(failure ?? .invalidResponse("no failure was recorded"))
            case .fail(.stillDisagrees):
                throw ClientError(.integrity, "this device's copy still differs from the server after a full re-pull; try again later")
            }
        }
    }

    /// Why a rejected mutation is refused, as the user should read it: a change of a case whose filing
    /// was refused says so, instead of the server's bare "no case with this id".
    static func deadLetterReason(_ db: Database, outcome: MutationOutcome, mutation: Mutation) throws -> (ErrorCode, String) {
        let code = outcome.code ?? .invalidRequest
        let message = outcome.message ?? "refused"
        // A file the server would not take: its reason, not the bare "not uploaded".
        if code == .blobMissing, case .attach(let attachment) = mutation.operation,
           let refusal = try Row.fetchOne(db, sql: "SELECT code, message FROM file_refusals WHERE sha256 = ?", arguments: [attachment.sha256])
        {
            return (ErrorCode(refusal[0] as String), "\(attachment.name) was not accepted: \(refusal[1] as String)")
        }
        guard code == .caseNotFound else { return (code, message) }
        for letter in try LocalDatabase.deadLetters(db, caseId: mutation.caseId) {
            if case .create = letter.mutation.operation {
                return (.dependsOnRejected, "not applied: filing this case was refused (\(letter.message))")
            }
        }
        return (code, message)
    }

    /// Fetches what changed without sending the outbox (pending edits stay rebased on top).
    @discardableResult
    public func pull(transport: any SyncTransport) async throws -> SyncReport {
        try await database.syncLock.run {
            var report = SyncReport()
            try await runSync(sending: false, transport: transport, report: &report)
            return report
        }
    }

    /// Sends the next batch of the outbox and keeps its outcomes; true when the outbox was empty.
    func pushBatch(transport: any SyncTransport, token: String, report: inout SyncReport) async throws -> Bool {
        let (account, batch) = try await database.writer.read { db in
            (try Self.requireAccount(db),
             try Row.fetchAll(db, sql: "SELECT body FROM outbox ORDER BY mutation_id LIMIT ?", arguments: [pushBatchSize])
                .map { try LocalDatabase.decoder.decode(Mutation.self, from: $0["body"] as Data) })
        }
        guard !batch.isEmpty else { return true }
        let request = PushRequest(clientId: account.clientId, mutations: batch)
        let response = try await withRetry { () async throws(SyncTransportError) in try await transport.push(request, token: token) }
        guard response.outcomes.count == batch.count,
              zip(response.outcomes, batch).allSatisfy({ $0.mutationId == $1.mutationId })
        else {
            throw ClientError(.server, "the server answered a push with outcomes that do not match it; try again later")
        }
        let now = environment.now()
        try await database.writer.write { db in
            for (outcome, mutation) in zip(response.outcomes, batch) {
                if outcome.status == .rejected {
                    let (code, message) = try Self.deadLetterReason(db, outcome: outcome, mutation: mutation)
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO dead_letters (mutation_id, case_id, body, code, message, rejected_at) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [
                            mutation.mutationId, mutation.caseId, try LocalDatabase.encoder.encode(mutation), code.rawValue,
                            message, now.millisecondsSince1970,
                        ])
                }
                try db.execute(sql: "DELETE FROM outbox WHERE mutation_id = ?", arguments: [mutation.mutationId])
                // An applied attach's file is the server's now (a refused one stays on this device).
                if outcome.status != .rejected {
                    try db.execute(sql: "DELETE FROM file_uploads WHERE mutation_id = ?", arguments: [mutation.mutationId])
                }
            }
            // A refusal is told once: the same file attached again is offered to the server again.
            for mutation in batch {
                if case .attach(let attachment) = mutation.operation {
                    try db.execute(sql: "DELETE FROM file_refusals WHERE sha256 = ?", arguments: [attachment.sha256])
                }
            }
            try refreshCaseIndex(db)
        }
        report.pushed += batch.count
        for outcome in response.outcomes {
            switch outcome.status {
            case .applied: report.applied += 1
            case .merged: report.merged += 1
            case .rejected: report.rejected += 1
            }
        }
        return false
    }

    /// Records after which a pull truncates the write-ahead log (see LocalDatabase's checkpoint setting).
    static let largePull = 50_000

    func fetchPage(transport: any SyncTransport, cursor: String?, token: String) async throws(SyncTransportError) -> RawPullResponse {
        try await withRetry { () async throws(SyncTransportError) in
            try await transport.pullPage(cursor: cursor, limit: pullPageSize, token: token)
        }
    }

    /// Applies one page and its cursor; returns true when the final checksum disagrees (and, if asked,
    /// begins a re-pull of the whole scope, `beginRepair`). During a re-pull every record the page
    /// brings or finds unchanged is marked with the re-pull's epoch; its last page drops the records
    /// left unmarked and counts the checksum afresh.
    static func apply(_ page: RawPullResponse, db: Database, repairOnMismatch: Bool) throws -> Bool {
        guard let state = try Row.fetchOne(db, sql: "SELECT digest_count, digest_sum, epoch, repairing FROM account") else {
            throw ClientError.notLoggedIn
        }
        let (epoch, repairing): (Int64, Bool) = (state[2], state[3])
        let upsert = try RawStatement(db, sql: recordUpsert)
        // A page never replaces what a later change brought (two syncs of one device can overlap).
        let delete = try RawStatement(db, sql: "DELETE FROM records WHERE id = ? AND seq < ?")
        let keep = try RawStatement(db, sql: "UPDATE records SET epoch = ? WHERE id = ?")
        // The running checksum moves with each record: what this page replaces comes out, what it brings goes in.
        let held = try heldVersions(db, ids: page.changes.map(\.id))
        var digest = ChecksumAccumulator(count: state[0], sum: UInt64(bitPattern: state[1]))
        for change in page.changes {
            if let old = held[change.id] {
                guard change.seq > old.seq else {
                    if repairing { try keep.bind(epoch).bind(change.id).run() }
                    continue
                }
                digest.remove(type: old.type, id: change.id, version: old.version)
            }
            // Records are stored as the server sent them: nothing is decoded here.
            guard !change.deleted, let data = change.data else {
                try delete.bind(change.id).bind(change.seq).run()
                continue
            }
            try upsert.bind(change.id).bind(change.type.rawValue).bind(change.caseId).bind(change.version).bind(change.seq).bind(data)
                .bind(epoch).run()
            digest.add(type: change.type, id: change.id, version: change.version)
        }
        // Written through SQLite's own interface, which GRDB does not see: its observers are told.
        try db.notifyChanges(in: Table("records"))
        if repairing && !page.hasMore {
            try db.execute(sql: "DELETE FROM records WHERE epoch < ?", arguments: [epoch])
            digest = try countedDigest(db)
            try db.execute(sql: "UPDATE account SET repairing = 0")
        }
        try db.execute(
            sql: "UPDATE account SET cursor = ?, digest_count = ?, digest_sum = ?",
            arguments: [page.cursor, digest.count, Int64(bitPattern: digest.sum)])
        guard let expected = page.checksum, digest.checksum != expected else { return false }
        if repairOnMismatch {
            try beginRepair(db)
        }
        return true
    }

    /// How a pulled record is stored (public so that the benchmark's SQLite floor runs exactly this).
    /// Arguments: id, type, case_id, version, seq, body, epoch.
    public static let recordUpsert = """
        INSERT INTO records (id, type, case_id, version, seq, body, epoch) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET version = excluded.version, seq = excluded.seq, body = excluded.body, epoch = excluded.epoch
        WHERE excluded.seq > records.seq
        """

    /// The checksum of every record held, counted afresh.
    static func countedDigest(_ db: Database) throws -> ChecksumAccumulator {
        var digest = ChecksumAccumulator()
        let rows = try Row.fetchCursor(db, sql: "SELECT type, id, version FROM records")
        while let row = try rows.next() {
            if let type = RecordType(rawValue: row[0]) { digest.add(type: type, id: row[1], version: row[2]) }
        }
        return digest
    }

    /// The type, version and seq this device holds for each of `ids` (one query per page).
    static func heldVersions(_ db: Database, ids: [String]) throws -> [String: (type: RecordType, version: Int64, seq: Int64)] {
        var held: [String: (type: RecordType, version: Int64, seq: Int64)] = [:]
        try LocalDatabase.inChunks(ids, size: 10_000) { chunk, marks in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT id, type, version, seq FROM records WHERE id IN (\(marks))", arguments: StatementArguments(chunk))
            while let row = try rows.next() {
                if let type = RecordType(rawValue: row[1]) { held[row[0]] = (type, row[2], row[3]) }
            }
        }
        return held
    }

    /// Begins a re-pull of the whole scope: from the start, in a new epoch, keeping the outbox, the
    /// dead letters and — until the re-pull is done — the records, so the device's cases stay readable
    /// however long it takes or wherever it is cut off.
    static func beginRepair(_ db: Database) throws {
        try db.execute(sql: "UPDATE account SET cursor = NULL, digest_count = 0, digest_sum = 0, epoch = epoch + 1, repairing = 1")
    }

    /// Calls `body`, trying again as `RequestRetry` decides while the server cannot be reached or take
    /// it; what it gives up on is thrown as the transport reported it.
    func withRetry<T>(_ body: () async throws(SyncTransportError) -> T) async throws(SyncTransportError) -> T {
        var retry = RequestRetry(policy: retryPolicy)
        while true {
            do {
                return try await body()
            } catch {
                guard case .retry(let delay) = retry.failed(SyncFailure(error)) else { throw error }
                do {
                    try await environment.sleep(delay)
                } catch {
                    throw .unreachable("cancelled")
                }
            }
        }
    }
}

/// The pages of one pull: each page's successor is fetched while the page is applied (its cursor is in
/// the page), and used if the device's cursor is still the one it was fetched for.
struct PageFetcher {
    let client: CaseSyncClient
    let transport: any SyncTransport
    let token: String
    private var prefetch: (cursor: String, task: Task<RawPullResponse, any Error>)?

    init(client: CaseSyncClient, transport: any SyncTransport, token: String) {
        self.client = client
        self.transport = transport
        self.token = token
    }

    /// The page after the device's cursor.
    mutating func next() async throws -> RawPullResponse {
        let cursor = try await client.database.writer.read { db in try String.fetchOne(db, sql: "SELECT cursor FROM account") }
        let page: RawPullResponse
        if let prefetch, prefetch.cursor == cursor {
            self.prefetch = nil
            page = try await prefetch.task.value
        } else {
            cancel()
            page = try await client.fetchPage(transport: transport, cursor: cursor, token: token)
        }
        if page.hasMore {
            let (client, transport, token, next) = (client, transport, token, page.cursor)
            prefetch = (next, Task { try await client.fetchPage(transport: transport, cursor: next, token: token) })
        }
        return page
    }

    mutating func cancel() {
        prefetch?.task.cancel()
        prefetch = nil
    }
}
