import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncSQLite
import Foundation
import GRDB

extension SQLiteSyncStore {
    public func push(_ request: PushRequest, session: Session) async throws -> PushResponse {
        let now = environment.now()
        try PushValidation.check(request, session: session, limits: limits, now: now)
        let actor = MutationActor(
            accountId: session.account.id, role: session.account.role, authorityId: session.account.authorityId,
            displayName: session.account.displayName, clientId: session.clientId)
        // Work that needs no database is done before taking the one writer.
        let fingerprints = request.mutations.map { Int64(bitPattern: $0.fingerprint) }
        defer { checkpointer?.noteWrite() }
        return try await writer.write { db in
            let last = try Int64.fetchOne(
                db, sql: "SELECT last_mutation_id FROM devices WHERE client_id = ?", arguments: [session.clientId]) ?? 0
            if let first = request.mutations.first, first.mutationId > last + 1 {
                throw PushValidation.gap(expected: last + 1, got: first.mutationId)
            }
            var writer = try RecordWriter(db, now: now)
            // Cases this push already read or wrote, so a batch that files a case and then edits it
            // decodes nothing twice.
            var cases: [String: VersionedCase?] = [:]
            var caseBytes: [String: Int] = [:]
            // Authorities this push already looked up in the register.
            var authorities: [String: AuthorityStanding] = [:]
            var outcomes: [MutationOutcome] = []
            outcomes.reserveCapacity(request.mutations.count)
            let decoder = WireCoding.decoder()
            let recordOutcome = try RawStatement(db, sql: PushStatements.outcomeInsert)
            // The bytes the citizen's cases hold, read when a mutation first needs it.
            var stored: Int64?
            for (mutation, fingerprint) in zip(request.mutations, fingerprints) {
                if mutation.mutationId <= last {
                    outcomes.append(
                        try storedOutcome(
                            db, clientId: session.clientId, mutation: mutation, fingerprint: fingerprint, decoder: decoder))
                    continue
                }
                let storage = StorageCheck(session: session, mutation: mutation, limit: limits.maxAccountBytes)
                let outcome: MutationOutcome
                if let full = try storage.refusal(db, stored: &stored) {
                    outcome = full
                } else {
                    outcome = try apply(
                        mutation, by: actor, now: now, db: db, writer: &writer, cases: &cases, caseBytes: &caseBytes,
                        authorities: &authorities, decoder: decoder)
                    if outcome.status != .rejected { storage.count(into: &stored) }
                }
                try recordOutcome.bind(session.clientId).bind(mutation.mutationId).bind(outcome.jsonBytes).bind(fingerprint).run()
                outcomes.append(outcome)
                try environment.midPush(outcomes.count)
            }
            let newLast = max(last, request.mutations.last?.mutationId ?? last)
            if newLast != last {
                try db.execute(
                    sql: "UPDATE devices SET last_mutation_id = ? WHERE client_id = ?",
                    arguments: [newLast, session.clientId])
            }
            try writer.flushDigests()
            return PushResponse(outcomes: outcomes, lastMutationId: newLast)
        }
    }

    /// A citizen's storage limit: a mutation that could take the bytes their cases hold past it is
    /// rejected (`storage_full`) before the rules run. Officers write into citizens' cases and are
    /// bounded by the text limits and rates instead.
    struct StorageCheck {
        let citizenId: String?
        let growth: Int64
        let limit: Int64
        let mutationId: Int64

        init(session: Session, mutation: Mutation, limit: Int64) {
            citizenId = session.account.role == .citizen ? session.account.id : nil
            growth = PushValidation.storageGrowth(of: mutation.operation)
            self.limit = limit
            mutationId = mutation.mutationId
        }

        /// The rejection, if the mutation would pass the limit.
        func refusal(_ db: Database, stored: inout Int64?) throws -> MutationOutcome? {
            guard let citizenId, growth > 0, limit > 0 else { return nil }
            let current = try stored ?? RecordWriter.storedBytes(db, citizen: citizenId)
            stored = current
            guard current + growth > limit else { return nil }
            return .rejected(
                mutationId, .storageFull,
                "your cases hold \(current) bytes and may hold at most \(limit); this change would add up to \(growth) more: delete a draft you no longer need, or shorten the text")
        }

        /// Counts an applied mutation's bytes.
        func count(into stored: inout Int64?) {
            if citizenId != nil, let current = stored { stored = current + growth }
        }
    }

    /// The row a case's current state was read from (cases are written with these scope columns).
    static func stored(_ current: VersionedCase, bytes: Int) -> RecordWriter.Prior {
        .known(
            citizenId: current.record.citizenId, authorityId: current.deleted ? nil : current.record.authorityVisibility,
            version: current.version, deleted: current.deleted, bytes: bytes)
    }

    /// The outcome a repeated mutation got the first time. A different mutation under a used id means
    /// the device's outbox is out of step with the server (its data was restored, say): refused whole.
    private func storedOutcome(
        _ db: Database, clientId: String, mutation: Mutation, fingerprint: Int64, decoder: JSONDecoder
    ) throws -> MutationOutcome {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT outcome, fingerprint FROM mutation_outcomes WHERE client_id = ? AND mutation_id = ?",
            arguments: [clientId, mutation.mutationId])
        else {
            throw ServiceError(.internalError, "the outcome of an earlier mutation is missing")
        }
        if let stored = row["fingerprint"] as Int64?, stored != fingerprint {
            throw ServiceError(
                .mutationIdReused,
                "mutation \(mutation.mutationId) was used before for a different change; this device is out of step with the server (was its data restored from a backup?); log in again on a fresh --home",
                details: ["mutationId": String(mutation.mutationId)])
        }
        return try decoder.decode(MutationOutcome.self, from: row["outcome"] as Data)
    }

    /// Looks up what the rules need, applies them, and writes what they produce.
    private func apply(
        _ mutation: Mutation, by actor: MutationActor, now: Timestamp, db: Database, writer: inout RecordWriter,
        cases: inout [String: VersionedCase?], caseBytes: inout [String: Int], authorities: inout [String: AuthorityStanding],
        decoder: JSONDecoder
    ) throws -> MutationOutcome {
        let current: VersionedCase?
        if let cached = cases[mutation.caseId] {
            current = cached
        } else {
            let loaded = try loadCase(db, id: mutation.caseId, decoder: decoder)
            current = loaded?.case
            cases[mutation.caseId] = current
            caseBytes[mutation.caseId] = loaded?.bytes
        }
        var context = ApplyContext(now: now, maxTextLength: limits.maxTextLength, makeId: environment.makeId)
        var conflictVersion: Int64 = 0
        switch mutation.operation {
        case .resolveConflict(let conflictId, _):
            if let row = try Row.fetchOne(
                db, sql: "SELECT body, version, citizen_id FROM records WHERE id = ? AND type = 'conflict'",
                arguments: [conflictId])
            {
                context.conflict = try decoder.decode(ConflictRecord.self, from: row["body"] as Data)
                context.conflictRaisedBy = (row["citizen_id"] as String?) != nil ? .citizen : .officer
                conflictVersion = row["version"]
            }
        case .addMessage(let id, _):
            context.messageExists = try recordExists(db, id: id)
        case .create(let newCase):
            context.recordIdInUse = try current == nil && recordExists(db, id: mutation.caseId)
            if authorities[newCase.authorityId] == nil {
                authorities[newCase.authorityId] = try Self.standing(db, authorityId: newCase.authorityId)
            }
            context.authority = authorities[newCase.authorityId] ?? .unchecked
        case .deadline:
            let bodies = try Data.fetchAll(
                db, sql: "SELECT body FROM records WHERE case_id = ? AND type = 'event' AND deleted = 0", arguments: [mutation.caseId])
            context.deadlineChanges = DecisionPeriodChanges(events: try bodies.map { try decoder.decode(TimelineEvent.self, from: $0) })
        default:
            break
        }
        let effect = CaseRules.apply(mutation, by: actor, to: current, context: context)
        guard effect.outcome.status != .rejected else { return effect.outcome }

        let caseState = effect.updatedCase ?? current!
        let record = caseState.record
        if let updated = effect.updatedCase {
            cases[record.id] = updated
            caseBytes[record.id] = try writer.write(
                .case, id: record.id, caseId: record.id, citizenId: record.citizenId,
                authorityId: updated.deleted ? nil : record.authorityVisibility, version: updated.version,
                deleted: updated.deleted, prior: current.map { Self.stored($0, bytes: caseBytes[record.id] ?? 0) } ?? .none,
                body: record)
            let wasVisible = current.map { !$0.deleted && $0.record.authorityVisibility != nil } ?? false
            if updated.deleted {
                try rewriteChildren(db, of: record, writer: &writer, deleted: true)
            } else if current != nil, !wasVisible, record.authorityVisibility != nil {
                try rewriteChildren(db, of: record, writer: &writer, deleted: false)
            }
        }
        for event in effect.events {
            try writer.write(
                .event, id: event.id, caseId: record.id, citizenId: record.citizenId,
                authorityId: record.authorityVisibility, version: 1, deleted: false, prior: .none, body: event)
        }
        for message in effect.messages {
            try writer.write(
                .message, id: message.id, caseId: record.id, citizenId: record.citizenId,
                authorityId: record.authorityVisibility, version: 1, deleted: false, prior: .none, body: message)
        }
        for conflict in effect.conflicts {
            try writer.write(
                .conflict, id: conflict.id, caseId: record.id,
                citizenId: actor.role == .citizen ? record.citizenId : nil,
                authorityId: actor.role == .officer ? record.authorityId : nil, version: 1, deleted: false, prior: .none,
                body: conflict)
        }
        if let resolved = effect.resolvedConflict {
            let raisedBy = context.conflictRaisedBy ?? actor.role
            try writer.write(
                .conflict, id: resolved.id, caseId: record.id,
                citizenId: raisedBy == .citizen ? record.citizenId : nil,
                authorityId: raisedBy == .officer ? record.authorityId : nil, version: conflictVersion + 1,
                deleted: false, body: resolved)
        }
        return effect.outcome
    }

    /// Whether any record, of any type and scope, has this id (record ids are unique across types).
    private func recordExists(_ db: Database, id: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM records WHERE id = ?"), arguments: [id]) != nil
    }

    /// A case as stored, and the bytes of its body.
    func loadCase(_ db: Database, id: String, decoder: JSONDecoder) throws -> (case: VersionedCase, bytes: Int)? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT body, version, deleted FROM records WHERE id = ? AND type = 'case'"),
            arguments: [id])
        else { return nil }
        let body = row["body"] as Data
        let record = try decoder.decode(CaseRecord.self, from: body)
        return (VersionedCase(record: record, version: row["version"], deleted: row["deleted"]), body.count)
    }

    /// Re-sequences a case's records after the case's visibility changed: its events and messages
    /// into the authority's scope on submission; every record of it (conflicts too) out of every scope,
    /// as tombstones, on deletion.
    private func rewriteChildren(_ db: Database, of record: CaseRecord, writer: inout RecordWriter, deleted: Bool) throws {
        let types = deleted ? "'event', 'message', 'conflict'" : "'event', 'message'"
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT id, type, version, citizen_id, authority_id, body FROM records WHERE case_id = ? AND type IN (\(types)) AND deleted = 0 ORDER BY seq",
            arguments: [record.id])
        for row in rows {
            guard let type = RecordType(rawValue: row["type"]) else { continue }
            let body: Data = row["body"]
            if deleted {
                // The tombstone reaches whoever saw the record.
                try writer.write(
                    type, id: row["id"], caseId: record.id, citizenId: row["citizen_id"], authorityId: row["authority_id"],
                    version: (row["version"] as Int64) + 1, deleted: true, bodyData: body)
            } else {
                try writer.write(
                    type, id: row["id"], caseId: record.id, citizenId: record.citizenId,
                    authorityId: record.authorityVisibility, version: row["version"], deleted: false, bodyData: body)
            }
        }
    }
}
