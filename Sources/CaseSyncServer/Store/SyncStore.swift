import CaseSyncDomain
import CaseSyncProtocol

/// A device's authenticated session: which client it is and whose account.
public struct Session: Sendable, Hashable {
    public var clientId: String
    public var account: AccountInfo
    /// The address the request came from (for the audit trail); nil when not over HTTP.
    public var address: String?

    public init(clientId: String, account: AccountInfo, address: String? = nil) {
        self.clientId = clientId
        self.account = account
        self.address = address
    }
}

/// A new account's (or a new device's) one-time login code.
public struct Invitation: Sendable, Hashable {
    public var accountId: String
    public var code: String
    public var expiresAt: Timestamp
}

/// Where the server keeps accounts, cases and the change feed. One adapter per backend (the
/// embedded SQLite default, PostgreSQL for several instances); every adapter passes the same contract
/// tests. What the protocol decides — validation, exactly-once, the rules, scopes, checksums, pages —
/// is decided above the adapters (`PushPlanner`, `PullPageBuilder`, `AccountRules`, `AuthorityRules`,
/// `CompactionPlan`); an adapter reads and writes what they ask, in its transactions.
public protocol SyncStore: Sendable {
    /// Creates an account and a login code for its first device.
    func invite(role: ActorRole, authorityId: String?, displayName: String, validFor days: Int) async throws -> Invitation
    /// A login code for another device of an existing account.
    func inviteDevice(accountId: String, validFor days: Int) async throws -> Invitation
    /// Trades a login code for a device token (`address`: where the request came from, for the audit trail).
    func redeem(_ request: RedeemRequest, address: String?) async throws -> RedeemResponse
    /// The session a device token belongs to, or nil for a token the server never gave. A token that
    /// no longer works throws `device_revoked` or `session_expired` (`SessionRules`); its use is noted
    /// (`DeviceInfo.lastSeenAt`). With `fresh`, the database is asked even when the instance remembers it.
    func session(token: String, fresh: Bool) async throws -> Session?
    /// The devices of an account, those still working first, then the newest.
    func devices(accountId: String) async throws -> [DeviceInfo]
    /// Stops a device's token at once, on every instance: by a device (`session`: only a device of its
    /// account; another one is `not_found`, as one that does not exist) or by the operator (nil).
    /// Stopping a stopped device changes nothing.
    func revokeDevice(clientId: String, by session: Session?, reason: RevocationReason) async throws -> DeviceInfo
    /// Disables an account (its devices stop at once and its login codes stop working) or enables it
    /// again (it then needs new login codes); returns how many devices were stopped.
    func setAccountDisabled(accountId: String, disabled: Bool) async throws -> Int
    /// Applies a push exactly once per (client, mutation id), all of it in one transaction.
    func push(_ request: PushRequest, session: Session) async throws -> PushResponse
    /// The changes in the session's scope after `cursor`, at most `limit` (`fromStart`: the cursor
    /// continues a pull from the start, `PullPageBuilder`).
    func pull(after cursor: Int64, fromStart: Bool, limit: Int, session: Session) async throws -> RawPullResponse
    /// The register of authorities this server serves.
    func authorityRegister() async throws -> AuthorityRegister
    /// Adds authorities to the register, or replaces those with the same id; with `replacingAll`, the
    /// register becomes exactly `authorities`.
    func addAuthorities(_ authorities: [Authority], replacingAll: Bool) async throws
    /// Takes an authority out of the register. Its cases stay; devices show them as flagged.
    func removeAuthority(id: String) async throws
    /// The audit trail of a case or an account, oldest first, at most `limit` entries after entry `after`.
    func audit(_ query: AuditQuery, after: Int64, limit: Int) async throws -> [AuditEntry]
    /// Erases a citizen for good (`ErasurePlan`); returns what it did. Officers' devices drop the cases on
    /// their next pull; the citizen's devices are unknown from then on.
    func erase(accountId: String) async throws -> ErasureReport
    /// Marks the database as restored from a backup (`RestoreRules`): every device pulls again from the
    /// start, new changes take places above any the lost history handed out, and each device's next push
    /// may skip mutation ids the lost history acknowledged. Returns the new floor.
    func markRestored() async throws -> Int64
    /// Drops tombstones older than the retention.
    func compact(retentionDays: Int) async throws -> CompactionReport
    /// The devices waiting for news of their scope, woken by every change this store commits or hears of.
    var changes: ScopeChanges { get }
    /// Disposes of cases closed or withdrawn, and unchanged, for `closedCaseDays` (`DisposalPlan`).
    func dispose(closedCaseDays: Int) async throws -> DisposalReport
    /// The citizen scopes whose running byte count differs from the bytes their records hold (none,
    /// unless something wrote records behind the store's back).
    func storageCountMismatches() async throws -> [String]
    /// Returns when the database answers a trivial query; throws `unavailable` when it does not
    /// within a couple of seconds.
    func checkReady() async throws

    // MARK: Attachments: which account may use which blob; the bytes are in `blobs`.

    /// Where this store's blobs are kept.
    var blobs: any BlobStore { get }
    /// An account's upload of a blob, begun or whole; nil when there is none.
    func upload(_ key: UploadKey) async throws -> StoredUpload?
    /// Notes an upload begun with the size it declares; one begun already is returned as it is.
    func beginUpload(_ key: UploadKey, size: Int64, at now: Timestamp) async throws -> StoredUpload
    /// The upload arrived whole and matched its hash: from now on the account may attach the blob.
    func completeUpload(_ key: UploadKey, blob: UploadedBlob, at now: Timestamp) async throws
    /// The bytes of the account's uploads that no attachment of it names yet (begun or whole).
    func pendingUploadBytes(accountId: String) async throws -> Int64
    /// Forgets an upload (its part is discarded by the caller).
    func forgetUpload(_ key: UploadKey) async throws
    /// The live attachment on case `caseId` that names the blob, if the session sees the case.
    func attachment(caseId: String, sha256: String, session: Session) async throws -> AttachmentRecord?
    /// Of `candidates`, the blobs a live attachment or an upload not yet attached still names.
    func blobsInUse(_ candidates: Set<String>) async throws -> Set<String>
    /// Forgets every account's upload of these blobs (they are being deleted).
    func forgetUploads(of blobs: Set<String>) async throws
    /// Blobs that deletions released (a draft deleted, a citizen erased), queued for `BlobSweep`.
    func queuedSweeps(limit: Int) async throws -> Set<String>
    /// Takes swept blobs off the queue.
    func dequeueSweeps(_ blobs: Set<String>) async throws
    /// Forgets uploads begun or made whole before `cutoff`; returns them (their parts to discard, their
    /// blobs to sweep).
    func expireUploads(before cutoff: Timestamp) async throws -> [UploadKey]
}

/// An account's upload of a blob as a store keeps it.
public struct StoredUpload: Sendable, Hashable {
    /// The size the upload declared.
    public var size: Int64
    public var startedAt: Timestamp
    /// Set once the upload arrived whole and matched its hash.
    public var blob: UploadedBlob?

    public init(size: Int64, startedAt: Timestamp, blob: UploadedBlob?) {
        self.size = size
        self.startedAt = startedAt
        self.blob = blob
    }
}

extension SyncStore {
    /// The changes in the session's scope after `cursor`, at most `limit`.
    public func pull(after cursor: Int64, limit: Int, session: Session) async throws -> RawPullResponse {
        try await pull(after: cursor, fromStart: false, limit: limit, session: session)
    }

    /// Trades a login code for a device token.
    public func redeem(_ request: RedeemRequest) async throws -> RedeemResponse {
        try await redeem(request, address: nil)
    }

    /// The session a device token belongs to (see `session(token:fresh:)`), as the instance remembers it.
    public func session(token: String) async throws -> Session? {
        try await session(token: token, fresh: false)
    }

    /// Adds authorities to the register, or replaces those with the same id.
    public func addAuthorities(_ authorities: [Authority]) async throws {
        try await addAuthorities(authorities, replacingAll: false)
    }
}
