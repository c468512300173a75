import CaseSyncDomain
import CaseSyncProtocol
import Foundation

/// The logged-in account of this device.
public struct LocalAccount: Sendable, Hashable, Codable {
    public var serverURL: String
    public var clientId: String
    public var account: AccountInfo
    public var cursor: String?
    public var nextMutationId: Int64
    public var lastSyncAt: Timestamp?
    public var lastSyncError: String?
    /// Why the server no longer accepts this device (`logout`, `revoked`, `expired`, `account_disabled`);
    /// nil while it does.
    public var signedOut: String?
}

/// A change made on this device that the server has not acknowledged yet.
public struct PendingMutation: Sendable, Hashable, Codable {
    public var mutation: Mutation
    public var createdAt: Timestamp
    /// What the rules predict the server will make of it, given the state pulled so far.
    public var predicted: MutationOutcome?
}

/// A mutation the server rejected, with its reason.
public struct DeadLetter: Sendable, Hashable, Codable {
    public var mutation: Mutation
    public var code: ErrorCode
    public var message: String
    public var rejectedAt: Timestamp
}

/// A case as this device shows it: the server's state with this device's pending edits rebased on top.
public struct LocalCase: Sendable, Hashable, Codable {
    /// The visible state (server state plus pending edits).
    public var record: CaseRecord
    /// The version last pulled from the server; nil while the case exists only on this device.
    public var serverVersion: Int64?
    /// Number of edits of this case waiting in the outbox.
    public var pendingCount: Int

    public var id: String { record.id }
    public func field(_ field: CaseField) -> String? { record.fields[field.rawValue] }
}

/// Everything `show` needs about one case.
public struct CaseDetail: Sendable, Hashable, Codable {
    public var local: LocalCase
    public var events: [TimelineEvent]
    public var messages: [CaseMessage]
    public var pending: [PendingMutation]
    public var conflicts: [ConflictRecord]
    public var deadLetters: [DeadLetter]
    /// The case's authority as the register this device holds has it; nil when the device holds no
    /// register or the authority has left it (see `authorityUnregistered`).
    public var authority: Authority?
    /// The register this device holds no longer has the case's authority: the case is flagged, never
    /// silently orphaned.
    public var authorityUnregistered: Bool
}

/// The state of this device's sync, for `status`.
public struct SyncStatus: Sendable, Hashable, Codable {
    public var serverURL: String
    public var accountName: String
    public var role: ActorRole
    public var authorityId: String?
    public var clientId: String
    public var lastSyncAt: Timestamp?
    public var lastSyncError: String?
    public var pending: Int
    public var deadLetters: Int
    public var openConflicts: Int
    public var cases: Int
    /// Why the server no longer accepts this device; nil while it does.
    public var signedOut: String?
}

/// What one sync did.
public struct SyncReport: Sendable, Hashable, Codable {
    public var pushed = 0
    public var applied = 0
    public var merged = 0
    public var rejected = 0
    public var pulled = 0
    public var pages = 0
    /// True when the client pulled its whole scope again (its checksum disagreed, its cursor was
    /// compacted, or an earlier re-pull was cut off and went on).
    public var repaired = false
    public init() {}
}

/// One record of the server state a device holds.
public struct StoredRecord: Sendable, Hashable {
    public var type: RecordType
    public var id: String
    public var caseId: String
    public var version: Int64
    public var seq: Int64
    /// The record as the protocol's JSON (sorted keys).
    public var data: Data
}
