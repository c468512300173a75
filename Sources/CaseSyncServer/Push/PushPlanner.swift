import CaseSyncDomain
import CaseSyncProtocol
import Foundation

/// A push, decided without a database: what it must read, what the rules make of each mutation, and
/// what it writes. Exactly-once bookkeeping, the rules, the scopes each write touches, who may see what
/// (drafts are never an officer's) and every scope's checksum and byte count are decided here, the same
/// for every backend. A store runs it in one transaction:
///
///     let planner = try PushPlanner(request, session: session, limits: limits, environment: environment)
///     // in the transaction, having locked the device's row:
///     let reads = try planner.reads(lastMutationId: last)
///     let plan = try planner.plan(lastMutationId: last, snapshot: /* the store loads `reads` */)
///     // the store writes `plan`, giving each write the next place in its change sequence.
public struct PushPlanner: Sendable {
    public let request: PushRequest
    public let session: Session
    public let now: Timestamp
    let limits: ProtocolLimits
    let environment: ServerEnvironment
    let actor: MutationActor
    let fingerprints: [Int64]

    /// Checks what needs no database (`PushValidation`) and reads the server's clock once.
    public init(_ request: PushRequest, session: Session, limits: ProtocolLimits, environment: ServerEnvironment) throws {
        let now = environment.now()
        try PushValidation.check(request, session: session, limits: limits, now: now)
        self.request = request
        self.session = session
        self.now = now
        self.limits = limits
        self.environment = environment
        actor = MutationActor(
            accountId: session.account.id, role: session.account.role, authorityId: session.account.authorityId,
            displayName: session.account.displayName, clientId: session.clientId)
        fingerprints = request.mutations.map { Int64(bitPattern: $0.fingerprint) }
    }

    /// The last mutation id to plan from: the stored one, unless the database was restored from a backup
    /// since this device last pushed (`gapAllowed`): then mutations the lost history had acknowledged are
    /// gone from the device's outbox, and its next push may begin past them (RestoreRules), once.
    public func lastMutationId(stored: Int64, gapAllowed: Bool) -> Int64 {
        guard gapAllowed, let first = request.mutations.first?.mutationId, first - 1 > stored else { return stored }
        // No device had this many mutations acknowledged between a backup and its restore: a larger gap
        // is refused as any gap is.
        return first - 1 - stored <= RestoreRules.maxForgivenGap ? first - 1 : stored
    }

    /// What the push reads, given the last mutation id the server applied for this device; refuses a
    /// push that skips ids.
    public func reads(lastMutationId last: Int64) throws -> PushReads {
        if let first = request.mutations.first, first.mutationId - 1 > last {
            throw PushValidation.gap(expected: last + 1, got: first.mutationId)
        }
        var reads = PushReads()
        if let first = request.mutations.first, first.mutationId <= last {
            reads.repeated = first.mutationId...min(last, request.mutations.last!.mutationId)
        }
        var growth: Int64 = 0
        for mutation in request.mutations where mutation.mutationId > last {
            reads.records.insert(mutation.caseId)
            growth += PushValidation.storageGrowth(of: mutation.operation)
            switch mutation.operation {
            case .create(let newCase): reads.authorities.insert(newCase.authorityId)
            case .addMessage(let id, _): reads.records.insert(id)
            case .resolveConflict(let conflictId, _):
                reads.records.insert(conflictId)
                reads.childrenOf.insert(mutation.caseId)
            case .transition: reads.childrenOf.insert(mutation.caseId)
            case .delete:
                // Its attachments' bodies name the blobs the deletion releases.
                reads.childrenOf.insert(mutation.caseId)
                reads.bodiesOf.insert(mutation.caseId)
            case .deadline: reads.bodiesOf.insert(mutation.caseId)
            case .attach(let attachment):
                reads.records.insert(attachment.id)
                reads.bodiesOf.insert(mutation.caseId)
                reads.blobs.insert(attachment.sha256)
            case .edit: break
            }
        }
        if session.account.role == .citizen, limits.maxAccountBytes > 0, growth > 0 { reads.storedBytesOf = session.account.id }
        if !reads.blobs.isEmpty { reads.blobsOf = session.account.id }
        return reads
    }

    /// Runs the rules over what the store read; returns every write, outcome and scope change, in order.
    public func plan(lastMutationId last: Int64, snapshot: PushSnapshot) throws -> PushPlan {
        var state = PushState(snapshot)
        var outcomes: [MutationOutcome] = []
        outcomes.reserveCapacity(request.mutations.count)
        let decoder = WireCoding.decoder()
        var stored: Int64? = snapshot.storedBytes
        var audit: [AuditEntry] = []
        for (mutation, fingerprint) in zip(request.mutations, fingerprints) {
            if mutation.mutationId <= last {
                outcomes.append(try repeated(mutation, fingerprint: fingerprint, snapshot: snapshot, decoder: decoder))
                continue
            }
            let storage = StorageCheck(session: session, mutation: mutation, limit: limits.maxAccountBytes)
            let outcome: MutationOutcome
            if let full = storage.refusal(stored: stored) {
                outcome = full
            } else {
                outcome = try apply(mutation, state: &state, decoder: decoder)
                if outcome.status != .rejected { storage.count(into: &stored) }
            }
            state.outcomes.append(NewOutcome(mutationId: mutation.mutationId, outcome: outcome.kept.jsonBytes, fingerprint: fingerprint))
            outcomes.append(outcome)
            if outcome.status != .rejected {
                var entry = AuditEntry.by(session, at: now, .mutation, caseId: mutation.caseId)
                (entry.operation, entry.fields, entry.outcome) = (mutation.operation.name, mutation.auditedFields, outcome.status.rawValue)
                audit.append(entry)
            }
            try environment.midPush(state.outcomes.count)
        }
        let newLast = max(last, request.mutations.last?.mutationId ?? last)
        return PushPlan(
            writes: state.writes, outcomes: state.outcomes, lastMutationId: newLast, previousLastMutationId: last,
            scopes: state.scopes, response: PushResponse(outcomes: outcomes, lastMutationId: newLast), audit: audit,
            releasedBlobs: state.releasedBlobs, attachedBlobs: state.attachedBlobs, accountId: session.account.id)
    }

    /// The outcome a repeated mutation got the first time. A different mutation under a used id means
    /// the device's outbox is out of step with the server (its data was restored, say): refused whole.
    private func repeated(
        _ mutation: Mutation, fingerprint: Int64, snapshot: PushSnapshot, decoder: JSONDecoder
    ) throws -> MutationOutcome {
        guard let stored = snapshot.outcomes[mutation.mutationId] else {
            throw ServiceError(.internalError, "the outcome of an earlier mutation is missing")
        }
        if let first = stored.fingerprint, first != fingerprint {
            throw ServiceError(
                .mutationIdReused,
                "mutation \(mutation.mutationId) was used before for a different change; this device is out of step with the server (was its data restored from a backup?); log in again on a fresh --home",
                details: ["mutationId": String(mutation.mutationId)])
        }
        return try decoder.decode(MutationOutcome.self, from: stored.outcome)
    }

    /// Looks up what the rules need, applies them, and plans what they produce.
    private func apply(_ mutation: Mutation, state: inout PushState, decoder: JSONDecoder) throws -> MutationOutcome {
        let current = try state.currentCase(mutation.caseId)
        var context = ApplyContext(now: now, maxTextLength: limits.maxTextLength, makeId: environment.makeId)
        var conflictVersion: Int64 = 0
        switch mutation.operation {
        case .resolveConflict(let conflictId, _):
            // (A tombstone keeps no content: a deleted conflict is not found.)
            if let stored = state.records[conflictId], stored.type == .conflict, !stored.deleted, let body = stored.body {
                context.conflict = try decoder.decode(ConflictRecord.self, from: body)
                context.conflictRaisedBy = stored.citizenId != nil ? .citizen : .officer
                conflictVersion = stored.version
            }
        case .addMessage(let id, _):
            context.messageExists = state.records[id] != nil
        case .create(let newCase):
            context.recordIdInUse = current == nil && state.records[mutation.caseId] != nil
            context.authority = state.authorities[newCase.authorityId] ?? .unchecked
        case .deadline:
            context.deadlineChanges = DecisionPeriodChanges(events: try state.liveEvents(of: mutation.caseId))
        case .attach(let attachment):
            context.recordIdInUse = state.records[attachment.id] != nil
            context.attachments = AttachmentContext(limits: limits)
            context.attachments.blob = state.blobs[attachment.sha256]
            context.attachments.caseBytes = try state.liveAttachments(of: mutation.caseId).reduce(0) { $0 + $1.size }
        default:
            break
        }
        let effect = CaseRules.apply(mutation, by: actor, to: current, context: context)
        guard effect.outcome.status != .rejected else { return effect.outcome }

        let caseState = effect.updatedCase ?? current!
        let record = caseState.record
        if let updated = effect.updatedCase {
            let body = record.jsonBytes
            state.cases[record.id] = updated
            try state.write(
                .case, id: record.id, caseId: record.id, citizenId: record.citizenId,
                authorityId: updated.deleted ? nil : record.authorityVisibility, version: updated.version,
                deleted: updated.deleted, body: body)
            let wasVisible = current.map { !$0.deleted && $0.record.authorityVisibility != nil } ?? false
            if updated.deleted {
                try state.rewriteChildren(of: record, deleted: true)
            } else if current != nil, !wasVisible, record.authorityVisibility != nil {
                try state.rewriteChildren(of: record, deleted: false)
            }
        }
        for event in effect.events {
            try state.write(
                .event, id: event.id, caseId: record.id, citizenId: record.citizenId,
                authorityId: record.authorityVisibility, version: 1, deleted: false, body: event.jsonBytes)
        }
        for message in effect.messages {
            try state.write(
                .message, id: message.id, caseId: record.id, citizenId: record.citizenId,
                authorityId: record.authorityVisibility, version: 1, deleted: false, body: message.jsonBytes)
        }
        for attachment in effect.attachments {
            state.attachedBlobs.insert(attachment.sha256)
            try state.write(
                .attachment, id: attachment.id, caseId: record.id, citizenId: record.citizenId,
                authorityId: record.authorityVisibility, version: 1, deleted: false, body: attachment.jsonBytes)
        }
        for conflict in effect.conflicts {
            try state.write(
                .conflict, id: conflict.id, caseId: record.id,
                citizenId: actor.role == .citizen ? record.citizenId : nil,
                authorityId: actor.role == .officer ? record.authorityId : nil, version: 1, deleted: false, body: conflict.jsonBytes)
        }
        if let resolved = effect.resolvedConflict {
            let raisedBy = context.conflictRaisedBy ?? actor.role
            try state.write(
                .conflict, id: resolved.id, caseId: record.id,
                citizenId: raisedBy == .citizen ? record.citizenId : nil,
                authorityId: raisedBy == .officer ? record.authorityId : nil, version: conflictVersion + 1,
                deleted: false, body: resolved.jsonBytes)
        }
        return effect.outcome
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
        func refusal(stored: Int64?) -> MutationOutcome? {
            guard citizenId != nil, growth > 0, limit > 0 else { return nil }
            let current = stored ?? 0
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
}

/// What a push reads, known from the request and the device's last applied mutation id before any
/// rule runs. A store loads it inside the push's transaction, locking what it must.
public struct PushReads: Sendable, Hashable {
    /// The ids of this push's mutations that were applied before: their stored outcomes.
    public var repeated: ClosedRange<Int64>?
    /// Records by id, with their bodies: the cases the push touches, the conflicts it resolves, and the
    /// ids of records it creates (an id in use is refused).
    public var records: Set<String> = []
    /// Cases whose visibility may change (a transition, a resolved conflict, a deletion): the places of
    /// their live events, messages and conflicts, bodies not needed.
    public var childrenOf: Set<String> = []
    /// Cases whose live events and attachments the rules read, with bodies: a decision period that
    /// changes, the bytes a case's files hold.
    public var bodiesOf: Set<String> = []
    /// Blobs that attachments name: whether the account `blobsOf` uploaded each whole (its grants).
    public var blobs: Set<String> = []
    public var blobsOf: String?
    /// The authorities filed with: whether the register holds them.
    public var authorities: Set<String> = []
    /// The citizen whose stored bytes the storage limit is checked against.
    public var storedBytesOf: String?

    public init() {}
}

/// A record's place: what it is, where it belongs, who sees it, and its version.
public struct RecordRow: Sendable, Hashable {
    public var type: RecordType
    public var id: String
    public var caseId: String
    /// Set when the citizen sees the record; `authorityId` when the authority does.
    public var citizenId: String?
    public var authorityId: String?
    public var version: Int64
    public var deleted: Bool

    public init(
        type: RecordType, id: String, caseId: String, citizenId: String?, authorityId: String?, version: Int64, deleted: Bool
    ) {
        self.type = type
        self.id = id
        self.caseId = caseId
        self.citizenId = citizenId
        self.authorityId = authorityId
        self.version = version
        self.deleted = deleted
    }
}

/// A record as a store holds it, as much of it as a push reads.
@dynamicMemberLookup
public struct StoredRecord: Sendable, Hashable {
    public var row: RecordRow
    /// Its place in the change sequence (children are kept in this order).
    public var seq: Int64
    /// The length of its stored body (what it counts against its citizen's storage).
    public var bytes: Int
    /// The body, when it was read.
    public var body: Data?

    public init(_ row: RecordRow, seq: Int64, bytes: Int, body: Data?) {
        self.row = row
        self.seq = seq
        self.bytes = bytes
        self.body = body
    }

    public subscript<T>(dynamicMember keyPath: KeyPath<RecordRow, T>) -> T { row[keyPath: keyPath] }
}

/// What a store read for a push's `PushReads`.
public struct PushSnapshot: Sendable {
    /// The first outcome of each repeated mutation, as stored, and its fingerprint.
    public var outcomes: [Int64: (outcome: Data, fingerprint: Int64?)] = [:]
    /// The records asked for by id that exist.
    public var records: [StoredRecord] = []
    /// The live children of the cases asked for (any order; their `seq` orders them).
    public var children: [StoredRecord] = []
    /// Whether the register holds each authority asked for.
    public var authorities: [String: AuthorityStanding] = [:]
    /// The bytes the citizen's records hold, as of the last push.
    public var storedBytes: Int64 = 0
    /// The cases all of whose live children are in `children`.
    public var childrenRead: Set<String> = []
    /// The cases whose live events and attachments are in `children` with their bodies.
    public var bodiesRead: Set<String> = []
    /// The blobs asked for that the pushing account uploaded whole, by SHA-256.
    public var blobs: [String: UploadedBlob] = [:]

    public init() {}
}

/// One write of a push. The store gives each the next place in its change sequence, in order.
@dynamicMemberLookup
public struct RecordWrite: Sendable, Hashable {
    public var row: RecordRow
    /// The new body; nil keeps the stored one (a record moved into a scope); empty for a tombstone.
    public var body: [UInt8]?

    public subscript<T>(dynamicMember keyPath: KeyPath<RecordRow, T>) -> T { row[keyPath: keyPath] }
}

/// The outcome of a mutation applied for the first time, to answer its repeats alike.
public struct NewOutcome: Sendable, Hashable {
    public var mutationId: Int64
    public var outcome: [UInt8]
    public var fingerprint: Int64
}

/// What a push changes in one scope: its checksum of live records, and (a citizen's) stored bytes.
public struct ScopeDelta: Sendable, Hashable {
    public var checksum = ChecksumAccumulator()
    public var bytes: Int64 = 0
}

/// Everything a push writes, for a store to write in the push's transaction.
public struct PushPlan: Sendable {
    public var writes: [RecordWrite]
    /// The outcomes kept for a device that sends the same mutations again (`MutationOutcome.kept`).
    public var outcomes: [NewOutcome]
    public var lastMutationId: Int64
    public var previousLastMutationId: Int64
    /// By scope key (`ScopeKey`): what to add to its stored checksum and byte count.
    public var scopes: [String: ScopeDelta]
    public var response: PushResponse
    /// The audit trail's entries: one for every mutation applied or merged.
    public var audit: [AuditEntry]
    /// Blobs that attachments this push deleted named (a deleted draft's files): the store drops the
    /// pushing account's grants of them and queues them for the sweep (`BlobSweep`), which deletes
    /// those nothing else refers to.
    public var releasedBlobs: Set<String>
    /// Blobs this push's attachments name: the pushing account's uploads of them are attached (no longer
    /// count as pending).
    public var attachedBlobs: Set<String>
    public var accountId: String
}

/// The keys of the scopes a store keeps a checksum (and, for a citizen, a byte count) of.
public enum ScopeKey {
    public static func citizen(_ id: String) -> String { "c:" + id }
    public static func authority(_ id: String) -> String { "a:" + id }

    /// The scope a session pulls.
    public static func of(_ account: AccountInfo) -> String {
        switch account.role {
        case .citizen: citizen(account.id)
        case .officer: authority(account.authorityId ?? "")
        }
    }

    static func of(citizenId: String?, authorityId: String?) -> [String] {
        [citizenId.map(citizen), authorityId.map(authority)].compactMap { $0 }
    }
}

/// The records a push has read and written so far, so that a batch that files a case and then edits
/// it sees its own writes, and every scope's change is known before the store writes.
struct PushState {
    var records: [String: StoredRecord] = [:]
    /// Each case's children's ids in change order (written ones move to the end).
    var children: [String: [String]] = [:]
    /// What the store read: cases all of whose children are known, whose events are, and the ids it found.
    let childrenRead: Set<String>
    let bodiesRead: Set<String>
    let blobs: [String: UploadedBlob]
    let stored: Set<String>
    var cases: [String: VersionedCase?] = [:]
    let authorities: [String: AuthorityStanding]
    var writes: [RecordWrite] = []
    var outcomes: [NewOutcome] = []
    var scopes: [String: ScopeDelta] = [:]
    var releasedBlobs: Set<String> = []
    var attachedBlobs: Set<String> = []

    init(_ snapshot: PushSnapshot) {
        for record in snapshot.records { records[record.id] = record }
        stored = Set(records.keys)
        var seen: Set<String> = []
        for child in snapshot.children.sorted(by: { $0.seq < $1.seq }) {
            if records[child.id]?.body == nil { records[child.id] = child }
            if seen.insert(child.id).inserted { children[child.caseId, default: []].append(child.id) }
        }
        childrenRead = snapshot.childrenRead
        bodiesRead = snapshot.bodiesRead
        blobs = snapshot.blobs
        authorities = snapshot.authorities
    }

    /// A case as stored or as this push left it; nil if there is none, or only its tombstone (which keeps
    /// no content; its id stays in use).
    mutating func currentCase(_ id: String) throws -> VersionedCase? {
        if let known = cases[id] { return known }
        var current: VersionedCase?
        if let stored = records[id], stored.type == .case, !stored.deleted, let body = stored.body {
            current = VersionedCase(record: try CaseRecord(json: body), version: stored.version, deleted: stored.deleted)
        }
        cases[id] = current
        return current
    }

    /// The live events of a case, read or written by this push, in change order.
    func liveEvents(of caseId: String) throws -> [TimelineEvent] {
        try require(bodiesRead, caseId)
        return try (children[caseId] ?? []).compactMap { id in
            guard let record = records[id], record.type == .event, !record.deleted else { return nil }
            guard let body = record.body else { throw ServiceError(.internalError, "an event of the case was read without its body") }
            return try TimelineEvent(json: body)
        }
    }

    /// The live attachments of a case, read or written by this push.
    func liveAttachments(of caseId: String) throws -> [AttachmentRecord] {
        try require(bodiesRead, caseId)
        return try (children[caseId] ?? []).compactMap { id in
            guard let record = records[id], record.type == .attachment, !record.deleted else { return nil }
            guard let body = record.body else { throw ServiceError(.internalError, "an attachment of the case was read without its body") }
            return try WireCoding.decode(AttachmentRecord.self, from: body)
        }
    }

    /// A case's children are known if the store read them, or if the case is new in this push (the
    /// store found no record with its id): then they are all this push's.
    private func require(_ read: Set<String>, _ caseId: String) throws {
        guard read.contains(caseId) || !stored.contains(caseId) else {
            throw ServiceError(.internalError, "a push needed the records of a case that were not read")
        }
    }

    /// Plans one record's new state, and what it changes in each scope's checksum and byte count.
    mutating func write(
        _ type: RecordType, id: String, caseId: String, citizenId: String?, authorityId: String?, version: Int64,
        deleted: Bool, body: [UInt8]?
    ) throws {
        let old = records[id]
        if let old, !old.deleted {
            for scope in ScopeKey.of(citizenId: old.citizenId, authorityId: old.authorityId) {
                scopes[scope, default: ScopeDelta()].checksum.remove(type: type, id: id, version: old.version)
            }
        }
        // A tombstone keeps no content (a deleted draft's text is gone at once, not at compaction): its
        // body is empty, and its bytes no longer count.
        // (A record moved without its body read keeps its stored body, and its byte count.)
        let kept = deleted ? [] : body ?? old?.body.map { [UInt8]($0) }
        let bytes = deleted ? 0 : body?.count ?? old?.bytes ?? 0
        if let old, let citizen = old.citizenId { scopes[ScopeKey.citizen(citizen), default: ScopeDelta()].bytes -= Int64(old.bytes) }
        if let citizenId { scopes[ScopeKey.citizen(citizenId), default: ScopeDelta()].bytes += Int64(bytes) }
        if !deleted {
            for scope in ScopeKey.of(citizenId: citizenId, authorityId: authorityId) {
                scopes[scope, default: ScopeDelta()].checksum.add(type: type, id: id, version: version)
            }
        }
        // What the server stores must read back strictly (checked in debug builds, which the tests run).
        assert(deleted || body.map { (try? WireCoding.validate($0)) != nil } ?? true, "a stored record body is not strict JSON")
        let row = RecordRow(
            type: type, id: id, caseId: caseId, citizenId: citizenId, authorityId: authorityId, version: version, deleted: deleted)
        writes.append(RecordWrite(row: row, body: kept))
        records[id] = StoredRecord(row, seq: 0, bytes: bytes, body: kept.map { Data($0) })
        if type != .case {
            children[caseId, default: []].removeAll { $0 == id }
            children[caseId, default: []].append(id)
        }
    }

    /// Moves a case's records after its visibility changed: its events, messages and attachments into
    /// the authority's scope on submission; every record of it (conflicts too) out of every scope, as
    /// tombstones, on deletion.
    mutating func rewriteChildren(of record: CaseRecord, deleted: Bool) throws {
        try require(childrenRead, record.id)
        let types: Set<RecordType> = deleted ? [.event, .message, .conflict, .attachment] : [.event, .message, .attachment]
        for id in children[record.id] ?? [] {
            guard let child = records[id], !child.deleted, types.contains(child.type) else { continue }
            if deleted {
                if child.type == .attachment, let body = child.body {
                    releasedBlobs.insert(try WireCoding.decode(AttachmentRecord.self, from: body).sha256)
                }
                // The tombstone reaches whoever saw the record.
                try write(
                    child.type, id: id, caseId: record.id, citizenId: child.citizenId, authorityId: child.authorityId,
                    version: child.version + 1, deleted: true, body: nil)
            } else {
                try write(
                    child.type, id: id, caseId: record.id, citizenId: record.citizenId, authorityId: record.authorityVisibility,
                    version: child.version, deleted: false, body: nil)
            }
        }
    }
}

/// Who may see the records that belong to a case.
extension CaseRecord {
    /// The authority sees a case and its events and messages once it is no longer a draft.
    var authorityVisibility: String? { status == .draft ? nil : authorityId }
}
