import CaseSyncProtocol

/// One line of the audit trail: who acted (a device of an account, the operator, or the server
/// itself), when, from which address, and what — the case, the operation and the names of the fields it
/// changed, never their content. The trail is appended to in the transaction of what it records, is
/// never changed or served through the protocol, and survives compaction.
public struct AuditEntry: Sendable, Hashable, Codable {
    /// Who acted.
    public enum Actor: String, Sendable, Codable {
        case device
        case `operator`
        /// The server on its own (a device's session expiring).
        case server
    }

    /// The trail's order (set when read).
    public var id: Int64?
    public var at: Timestamp
    public var actor: Actor
    public var accountId: String?
    public var clientId: String?
    public var address: String?
    public var action: AuditAction
    /// What the action was done to, when not a case: the device shut out, the authority removed.
    public var subject: String?
    public var caseId: String?
    /// For a mutation: its operation (`create`, `edit`, …) and outcome (`applied`, `merged`).
    public var operation: String?
    /// The names of the fields it set, never their values.
    public var fields: [String]?
    public var outcome: String?

    public init(
        id: Int64? = nil, at: Timestamp, actor: Actor, accountId: String? = nil, clientId: String? = nil, address: String? = nil,
        action: AuditAction, subject: String? = nil, caseId: String? = nil, operation: String? = nil, fields: [String]? = nil,
        outcome: String? = nil
    ) {
        self.id = id
        self.at = at
        self.actor = actor
        self.accountId = accountId
        self.clientId = clientId
        self.address = address
        self.action = action
        self.subject = subject
        self.caseId = caseId
        self.operation = operation
        self.fields = fields
        self.outcome = outcome
    }

    /// An entry for what a device did, as its session says.
    public static func by(_ session: Session, at: Timestamp, _ action: AuditAction, caseId: String? = nil) -> AuditEntry {
        AuditEntry(
            at: at, actor: .device, accountId: session.account.id, clientId: session.clientId, address: session.address, action: action,
            caseId: caseId)
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

/// What an audit entry records.
public struct AuditAction: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// A mutation applied (or merged) to a case.
    public static let mutation = AuditAction(rawValue: "mutation")
    /// A login code redeemed: a new device.
    public static let login = AuditAction(rawValue: "login")
    public static let logout = AuditAction(rawValue: "logout")
    /// A device shut out (by another device of its account, or by the operator).
    public static let deviceRevoked = AuditAction(rawValue: "device_revoked")
    public static let sessionExpired = AuditAction(rawValue: "session_expired")
    public static let accountCreated = AuditAction(rawValue: "account_created")
    /// A login code made for another device of an account.
    public static let deviceInvited = AuditAction(rawValue: "device_invited")
    public static let accountDisabled = AuditAction(rawValue: "account_disabled")
    public static let accountEnabled = AuditAction(rawValue: "account_enabled")
    public static let authoritiesChanged = AuditAction(rawValue: "authorities_changed")
    public static let authorityRemoved = AuditAction(rawValue: "authority_removed")
    public static let compaction = AuditAction(rawValue: "compaction")
    /// The database was restored from a backup.
    public static let restored = AuditAction(rawValue: "restored")

    /// The audit action of a revocation for this reason.
    public static func revocation(_ reason: RevocationReason) -> AuditAction {
        switch reason {
        case .logout: logout
        case .revoked: deviceRevoked
        case .expired: sessionExpired
        case .accountDisabled: accountDisabled
        }
    }
}

/// Which part of the trail to read.
public enum AuditQuery: Sendable, Hashable {
    case caseId(String)
    /// What an account did, and what was done to it.
    case accountId(String)
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
/// `resync_required` (the device pulls its scope again, keeping its outbox) and new changes take places
/// above it, so no old cursor can ever pass a new change unseen. And each device may skip, once, the
/// mutation ids the lost history acknowledged (they are gone from its outbox).
public enum RestoreRules {
    /// How far above the backup's last place the floor goes: more changes than any server makes between
    /// a backup and a restore.
    public static let floorGap: Int64 = 1 << 32

    public static func floor(after last: Int64) -> Int64 { last + floorGap }

    public static func entry(floor: Int64, at now: Timestamp) -> AuditEntry {
        var entry = AuditEntry.byOperator(at: now, .restored)
        entry.outcome = "cursors below \(floor) pull again"
        return entry
    }
}
