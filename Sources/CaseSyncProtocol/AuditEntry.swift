import Foundation

/// One line of the audit trail: who acted (a device of an account, the operator, or the server
/// itself), when, from which address, and what — the case, the operation and the names of the fields it
/// changed, never their content. The trail is appended to in the transaction of what it records; its
/// entries are never changed, and deleted only by an erasure (which leaves one entry that it happened);
/// it survives compaction; the protocol serves it only in an account's own export.
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
    /// A citizen's account and cases were erased (all that the trail keeps of them).
    public static let accountErased = AuditAction(rawValue: "account_erased")
    /// A case closed longer than the operator keeps cases was disposed of (its records left without content).
    public static let caseDisposed = AuditAction(rawValue: "case_disposed")
    /// A copy of the database was taken.
    public static let backup = AuditAction(rawValue: "backup")
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

