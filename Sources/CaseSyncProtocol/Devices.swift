/// One device of an account, as `GET /devices` lists it.
public struct DeviceInfo: Codable, Sendable, Hashable {
    /// The device's client id (not a secret; `DELETE /devices/{clientId}` names it).
    public var clientId: String
    /// The name given at login, if any.
    public var name: String?
    public var createdAt: Timestamp
    /// When the device last used its token, to within `DeviceInfo.lastSeenPrecisionMillis`.
    public var lastSeenAt: Timestamp
    /// When its token stopped working (logged out, revoked, expired, or the account disabled); nil while it works.
    public var revokedAt: Timestamp?
    /// Why it stopped working: `logout`, `revoked`, `expired` or `account_disabled`.
    public var revokedReason: String?
    /// Whether this is the device that asked.
    public var current: Bool

    public init(
        clientId: String, name: String?, createdAt: Timestamp, lastSeenAt: Timestamp, revokedAt: Timestamp? = nil,
        revokedReason: String? = nil, current: Bool = false
    ) {
        self.clientId = clientId
        self.name = name
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.revokedAt = revokedAt
        self.revokedReason = revokedReason
        self.current = current
    }

    /// A device's last use is written down at most this often (a sync does not write for it every time).
    public static let lastSeenPrecisionMillis: Int64 = 15 * 60 * 1000

    /// Whether its token still works.
    public var isActive: Bool { revokedAt == nil }
}

/// `GET /devices`: the account's devices, those still working first, then the newest.
public struct DeviceList: Codable, Sendable, Hashable {
    public var devices: [DeviceInfo]

    public init(devices: [DeviceInfo]) { self.devices = devices }
}

/// Why a device's token stopped working.
public enum RevocationReason: String, Codable, Sendable, CaseIterable {
    /// The device logged itself out.
    case logout
    /// Another device of the account, or an operator, shut it out.
    case revoked
    /// It went unused longer than the server's `sessionIdleDays`.
    case expired
    /// An operator disabled the account.
    case accountDisabled = "account_disabled"
}

/// `GET /account/export`: everything the server holds about the caller's account (GDPR art. 15 and 20):
/// the account, its devices, the records of a citizen's cases as a pull delivers them (cases with their
/// timelines, messages and conflicts; none for an officer, whose authority's cases are other people's),
/// and the audit trail's entries about the account.
public struct AccountExport: Codable, Sendable, Hashable {
    public static let currentFormat = "casesync-account-export-1"

    public var format: String
    public var exportedAt: Timestamp
    public var server: String
    public var account: AccountInfo
    public var devices: [DeviceInfo]
    public var records: [SyncChange]
    public var activity: [AuditEntry]

    public init(
        exportedAt: Timestamp, server: String, account: AccountInfo, devices: [DeviceInfo], records: [SyncChange], activity: [AuditEntry]
    ) {
        format = Self.currentFormat
        self.exportedAt = exportedAt
        self.server = server
        self.account = account
        self.devices = devices
        self.records = records
        self.activity = activity
    }
}
