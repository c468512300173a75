import CaseSyncProtocol

extension AuditEntry {
    /// An entry for what a device did, as its session says.
    public static func by(_ session: Session, at: Timestamp, _ action: AuditAction, caseId: String? = nil) -> AuditEntry {
        AuditEntry(
            at: at, actor: .device, accountId: session.account.id, clientId: session.clientId, address: session.address, action: action,
            caseId: caseId)
    }

    /// The entry of a revocation, by a device (its session) or by the operator (nil); the store sets the
    /// account and the device it stopped (`subject`).
    public static func revocation(_ reason: RevocationReason, by session: Session?, at now: Timestamp) -> AuditEntry {
        session.map { by($0, at: now, .revocation(reason)) } ?? byOperator(at: now, .revocation(reason))
    }

    /// An entry for what the operator did (from the command line of the server's machine).
    public static func byOperator(at: Timestamp, _ action: AuditAction, accountId: String? = nil, subject: String? = nil) -> AuditEntry {
        AuditEntry(at: at, actor: .operator, accountId: accountId, action: action, subject: subject)
    }

    /// The columns of the trail's table, in the order stores write and read them (after `id`).
    public static let columns = "at, actor, account_id, client_id, address, action, subject, case_id, operation, fields, outcome"

    /// The field names as stored: comma-separated (names are checked against the known fields before
    /// any mutation applies, so none holds a comma).
    /// (None: nil, as is an empty list.)
    public var storedFields: String? { fields.flatMap { $0.isEmpty ? nil : $0.joined(separator: ",") } }

    public static func fields(stored: String?) -> [String]? {
        stored.flatMap { $0.isEmpty ? nil : $0.split(separator: ",").map(String.init) }
    }
}

/// Which part of the trail to read.
public enum AuditQuery: Sendable, Hashable {
    case caseId(String)
    /// What an account did, and what was done to it.
    case accountId(String)
    /// What the operator did.
    case `operator`

    /// The column that selects it, and its value (names of this file's, never input).
    public var selection: (column: String, value: String) {
        switch self {
        case .caseId(let id): ("case_id", id)
        case .accountId(let id): ("account_id", id)
        case .operator: ("actor", AuditEntry.Actor.operator.rawValue)
        }
    }
}

extension Mutation {
    /// The names of the fields a mutation sets, for the audit trail (never their values).
    public var auditedFields: [String] {
        switch operation {
        case .create(let new): new.fields.keys.sorted()
        case .edit(let changes): changes.map(\.field).sorted()
        case .transition(let transition): ["status"] + (transition.fields?.keys.sorted() ?? [])
        case .addMessage: ["message"]
        case .resolveConflict: ["conflict"]
        case .delete: []
        case .deadline(let change): ["deadline." + change.action.rawValue]
        case .attach: ["attachment"]
        }
    }
}

/// The operator's entries whose detail is a count.
public enum AuditRules {
    public static func authoritiesChanged(_ count: Int, replacingAll: Bool, at now: Timestamp) -> AuditEntry {
        var entry = AuditEntry.byOperator(at: now, .authoritiesChanged)
        entry.operation = replacingAll ? "replace" : "add"
        entry.outcome = "\(count) authorities"
        return entry
    }

    public static func compaction(_ report: CompactionReport, retentionDays: Int, at now: Timestamp) -> AuditEntry {
        var entry = AuditEntry.byOperator(at: now, .compaction)
        entry.operation = "retention \(retentionDays) days"
        entry.outcome = "\(report.tombstonesRemoved) deletion records removed"
        return entry
    }
}

/// What a restore from a backup must not break. The backup holds the change feed up to some place; the
/// lost server had handed out cursors, and acknowledged mutations, beyond it. So a restore sets a
/// *floor* far above any place the lost history can have reached: every cursor below it is answered
/// `resync_required` (the device pulls its scope again, keeping its outbox), every record moves above it
/// in its order (so the pages of that pull hand out cursors above it), and new changes take places above
/// it, so no old cursor can ever pass a new change unseen. And each device may skip, once, the
/// mutation ids the lost history acknowledged (they are gone from its outbox).
public enum RestoreRules {
    /// How far above the backup's last place the floor goes: more changes than any server makes between
    /// a backup and a restore.
    public static let floorGap: Int64 = 1 << 32

    public static func floor(after last: Int64) -> Int64 { last + floorGap }

    /// The most mutation ids a device's first push after a restore may skip.
    public static let maxForgivenGap: Int64 = 1_000_000

    public static func entry(floor: Int64, at now: Timestamp) -> AuditEntry {
        var entry = AuditEntry.byOperator(at: now, .restored)
        entry.outcome = "cursors below \(floor) pull again"
        return entry
    }
}
