/// Limits a server announces in discovery and enforces on every request. The operator sets them
/// (`casesync-server serve --help`); a client reads them to shape what it sends and how it waits.
public struct ProtocolLimits: Codable, Sendable, Hashable {
    /// The largest request body, in bytes.
    public var maxBodyBytes: Int
    /// The most mutations one push may carry.
    public var maxMutationsPerPush: Int
    /// The most changes one pull page may carry.
    public var maxPageSize: Int
    /// The page size used when a pull names none.
    public var defaultPageSize: Int
    /// The most record bytes one pull page carries: a page stops before the change that would pass
    /// it (it always carries at least one change).
    public var maxPageBytes: Int
    /// The longest a text field (grounds, message body) may be, in bytes of UTF-8.
    public var maxTextLength: Int
    /// How far ahead of the server's clock a mutation's clock reading may be, in milliseconds.
    public var maxClockSkewMillis: Int64
    /// The most bytes of records a citizen's cases may hold; a change that would pass it is
    /// rejected with `storage_full`. 0: no limit.
    public var maxAccountBytes: Int64
    /// The most connections the server holds open at once, and from one address.
    public var maxConnections: Int
    public var maxConnectionsPerAddress: Int
    /// Seconds a connection may stay silent (no request, or a request's headers not complete) before
    /// the server closes it.
    public var idleTimeoutSeconds: Int
    /// Seconds a request's body may take to arrive; a slower one is answered `408 request_timeout`.
    public var requestTimeoutSeconds: Int
    /// Login-code redemptions one address may try per minute, and sync requests (push or pull) one
    /// device may make per minute; more are answered `429 rate_limited` with `Retry-After`. 0: no limit.
    public var redeemAttemptsPerMinute: Int
    public var syncRequestsPerMinute: Int
    /// Days a device's token may go unused before it stops working (`401 session_expired`). 0: never.
    public var sessionIdleDays: Int
    /// The longest a `GET /sync/wait` may wait for news, in seconds.
    public var maxWaitSeconds: Int
    /// The largest file one attachment may be, and the most bytes the attachments of one case may
    /// hold together, in bytes.
    public var maxAttachmentBytes: Int64
    public var maxCaseAttachmentBytes: Int64
    /// The types of file a case may hold, as found by their content (`AttachmentRules.sniff`).
    public var attachmentTypes: [String]

    public init(
        maxBodyBytes: Int = 4 * 1024 * 1024,
        maxMutationsPerPush: Int = 500,
        maxPageSize: Int = 5_000,
        defaultPageSize: Int = 1_000,
        maxPageBytes: Int = 4 * 1024 * 1024,
        maxTextLength: Int = 100_000,
        maxClockSkewMillis: Int64 = 300_000,
        maxAccountBytes: Int64 = 50 * 1024 * 1024,
        maxConnections: Int = 4_096,
        maxConnectionsPerAddress: Int = 256,
        idleTimeoutSeconds: Int = 30,
        requestTimeoutSeconds: Int = 60,
        redeemAttemptsPerMinute: Int = 10,
        syncRequestsPerMinute: Int = 600,
        sessionIdleDays: Int = 180,
        maxWaitSeconds: Int = 55,
        maxAttachmentBytes: Int64 = 25 * 1024 * 1024,
        maxCaseAttachmentBytes: Int64 = 100 * 1024 * 1024,
        attachmentTypes: [String] = AttachmentRules.defaultTypes
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxMutationsPerPush = maxMutationsPerPush
        self.maxPageSize = maxPageSize
        self.defaultPageSize = defaultPageSize
        self.maxPageBytes = maxPageBytes
        self.maxTextLength = maxTextLength
        self.maxClockSkewMillis = maxClockSkewMillis
        self.maxAccountBytes = maxAccountBytes
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.redeemAttemptsPerMinute = redeemAttemptsPerMinute
        self.syncRequestsPerMinute = syncRequestsPerMinute
        self.sessionIdleDays = sessionIdleDays
        self.maxWaitSeconds = maxWaitSeconds
        self.maxAttachmentBytes = maxAttachmentBytes
        self.maxCaseAttachmentBytes = maxCaseAttachmentBytes
        self.attachmentTypes = attachmentTypes
    }

    private enum CodingKeys: String, CodingKey {
        case maxBodyBytes, maxMutationsPerPush, maxPageSize, defaultPageSize, maxPageBytes, maxTextLength, maxClockSkewMillis
        case maxAccountBytes, maxConnections, maxConnectionsPerAddress, idleTimeoutSeconds, requestTimeoutSeconds
        case redeemAttemptsPerMinute, syncRequestsPerMinute, sessionIdleDays, maxWaitSeconds
        case maxAttachmentBytes, maxCaseAttachmentBytes, attachmentTypes
    }

    /// Limits a server does not announce keep their defaults (servers announce more limits over time).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        func read<T: Decodable>(_ key: CodingKeys, into value: inout T) throws {
            if let decoded = try container.decodeIfPresent(T.self, forKey: key) { value = decoded }
        }
        try read(.maxBodyBytes, into: &maxBodyBytes)
        try read(.maxMutationsPerPush, into: &maxMutationsPerPush)
        try read(.maxPageSize, into: &maxPageSize)
        try read(.defaultPageSize, into: &defaultPageSize)
        try read(.maxPageBytes, into: &maxPageBytes)
        try read(.maxTextLength, into: &maxTextLength)
        try read(.maxClockSkewMillis, into: &maxClockSkewMillis)
        try read(.maxAccountBytes, into: &maxAccountBytes)
        try read(.maxConnections, into: &maxConnections)
        try read(.maxConnectionsPerAddress, into: &maxConnectionsPerAddress)
        try read(.idleTimeoutSeconds, into: &idleTimeoutSeconds)
        try read(.requestTimeoutSeconds, into: &requestTimeoutSeconds)
        try read(.redeemAttemptsPerMinute, into: &redeemAttemptsPerMinute)
        try read(.syncRequestsPerMinute, into: &syncRequestsPerMinute)
        try read(.sessionIdleDays, into: &sessionIdleDays)
        try read(.maxWaitSeconds, into: &maxWaitSeconds)
        try read(.maxAttachmentBytes, into: &maxAttachmentBytes)
        try read(.maxCaseAttachmentBytes, into: &maxCaseAttachmentBytes)
        try read(.attachmentTypes, into: &attachmentTypes)
    }
}
