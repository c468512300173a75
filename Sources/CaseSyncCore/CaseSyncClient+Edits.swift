import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB

/// Edits: each is checked against the rules on the case as this device shows it, then shown at once
/// and queued in the outbox. None needs a network.
extension CaseSyncClient {
    /// Files a new objection with the authority `authorityId` names (its id, or an unambiguous part
    /// of its name, in the register this device holds); with `submit`, also submits it. Returns the
    /// case id. An authority the register does not hold is refused here, offline, with the closest names.
    @discardableResult
    public func createObjection(authorityId: String, fields: [CaseField: String], submit: Bool) throws -> String {
        let authority = try resolveAuthority(authorityId)
        let newCase = NewCase(
            kind: .objection, authorityId: authority.id,
            fields: Dictionary(uniqueKeysWithValues: fields.map { ($0.key.rawValue, $0.value) }))
        return try database.writer.write { db in
            let caseId = try createdId(db)
            try enqueue(db, caseId: caseId, operation: .create(newCase))
            if submit { try enqueue(db, caseId: caseId, operation: .transition(StatusTransition(to: .submitted))) }
            return caseId
        }
    }

    /// Changes fields (nil clears one). Each change carries the value this device showed as its base.
    public func edit(caseId: String, set values: [CaseField: String?]) throws {
        try database.writer.write { db in
            let visible = try visibleCase(db, caseId: caseId)
            let changes = values.keys.sorted { $0.rawValue < $1.rawValue }.compactMap { field -> FieldChange? in
                let from = visible.record.fields[field.rawValue]
                let to = values[field] ?? nil
                return from == to ? nil : FieldChange(field: field.rawValue, from: from, to: to)
            }
            guard !changes.isEmpty else { throw ClientError(.invalidInput, "nothing to change: the case already has these values") }
            try enqueue(db, caseId: caseId, operation: .edit(changes))
        }
    }

    /// Moves a case to another status, with the officer-owned fields the move sets.
    public func move(caseId: String, to status: CaseStatus, note: String? = nil, fields: [CaseField: String] = [:]) throws {
        let transition = StatusTransition(
            to: status, note: note,
            fields: fields.isEmpty ? nil : Dictionary(uniqueKeysWithValues: fields.map { ($0.key.rawValue, $0.value) }))
        try database.writer.write { db in try enqueue(db, caseId: caseId, operation: .transition(transition)) }
    }

    /// Adds a message to a case. Returns the message id.
    @discardableResult
    public func sendMessage(caseId: String, body: String) throws -> String {
        try database.writer.write { db in
            let id = try createdId(db)
            try enqueue(db, caseId: caseId, operation: .addMessage(id: id, body: body))
            return id
        }
    }

    /// Resolves a conflict record by keeping one of its values.
    public func resolve(conflictId: String, keep: ConflictResolutionChoice) throws {
        try database.writer.write { db in
            guard let conflict = try LocalDatabase.conflictsById(db)[conflictId] else {
                throw ClientError(.notFound, "no conflict \(conflictId) on this device", subject: .conflict)
            }
            try enqueue(db, caseId: conflict.caseId, operation: .resolveConflict(conflictId: conflictId, keep: keep))
        }
    }

    /// Postpones or pauses a case's decision period, or lets it run again (officers; Awb 7:10).
    public func changeDeadline(caseId: String, _ change: DeadlineChange) throws {
        try database.writer.write { db in try enqueue(db, caseId: caseId, operation: .deadline(change)) }
    }

    /// Deletes a case that is still a draft.
    public func deleteDraft(caseId: String) throws {
        try database.writer.write { db in try enqueue(db, caseId: caseId, operation: .delete) }
    }

    private func visibleCase(_ db: Database, caseId: String) throws -> VersionedCase {
        let account = try Self.requireAccount(db)
        let rebased = try Self.rebased(
            db, caseId: caseId, actor: Self.actor(account), maxTextLength: maxTextLength)
        guard let visible = rebased.result.visible else {
            throw ClientError(.notFound, "no case \(caseId) on this device", subject: .caseRecord)
        }
        return visible
    }

    /// Checks `operation` against the rebased case and, if the rules allow it, appends it to the outbox.
    /// A new id in this device's part of the id space (PROTOCOL.md §2).
    func createdId(_ db: Database) throws -> String {
        CreatedId.make(from: environment.makeId(), clientId: try Self.requireAccount(db).clientId)
    }

    func enqueue(_ db: Database, caseId: String, operation: MutationOperation) throws {
        let account = try Self.requireAccount(db)
        let actor = Self.actor(account)
        let now = environment.now()
        let isDeadlineChange = if case .deadline = operation { true } else { false }
        let rebased = try Self.rebased(
            db, caseId: caseId, actor: actor, maxTextLength: maxTextLength, withEvents: isDeadlineChange)
        var clock = try Self.clock(db, account: account)
        let clockNow = try Self.clockTime(db, now: now)
        // The edit must sort after every write this device has seen of the case.
        if let seen = rebased.server?.record.clocks.values.max() { clock.observe(seen, now: clockNow) }
        let mutation = Mutation(
            mutationId: account.nextMutationId, caseId: caseId, baseVersion: rebased.server?.version,
            hlc: clock.tick(now: clockNow), operation: operation)

        var context = ApplyContext(now: now, maxTextLength: maxTextLength, makeId: { "pending" })
        if case .resolveConflict(let id, _) = operation {
            context.conflict = try LocalDatabase.conflictsById(db, caseId: caseId)[id]
            context.conflictRaisedBy = actor.role
        }
        if case .create(let newCase) = operation {
            context.authority = try Self.standing(db, authorityId: newCase.authorityId)
        }
        if case .attach(let attachment) = operation {
            context.attachments.blob = try LocalDatabase.pendingFiles(db)[attachment.sha256]
            context.attachments.caseBytes = try LocalDatabase.records(db, type: .attachment, caseId: caseId, as: AttachmentRecord.self)
                .reduce(rebased.result.attachments.reduce(0) { $0 + $1.size }) { $0 + $1.size }
        }
        if isDeadlineChange {
            context.deadlineChanges = DecisionPeriodChanges(events: rebased.events + rebased.result.events)
        }
        let prediction = CaseRules.apply(mutation, by: actor, to: rebased.result.visible, context: context)
        if prediction.outcome.status == .rejected {
            throw ClientError(
                .refused, prediction.outcome.message ?? "the change is not allowed", ruleCode: prediction.outcome.code)
        }
        try db.execute(
            sql: "INSERT INTO outbox (mutation_id, case_id, body, created_at) VALUES (?, ?, ?, ?)",
            arguments: [mutation.mutationId, caseId, try LocalDatabase.encoder.encode(mutation), now.millisecondsSince1970])
        try db.execute(
            sql: "UPDATE account SET next_mutation_id = ?, hlc = ?",
            arguments: [mutation.mutationId + 1, clock.last.description])
        try refreshCaseIndex(db)
    }
}
