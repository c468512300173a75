/// The versions of the CaseSync delta protocol and the HTTP names every request uses.
public enum ProtocolVersion {
    /// The version this build speaks by default.
    public static let current = 1
    /// Every version this build can serve or speak.
    public static let supported: ClosedRange<Int> = 1...1
    /// The request header that names the protocol version of a sync request.
    public static let headerName = "CaseSync-Protocol-Version"
}

/// Limits a server announces in discovery and enforces on every request.
public struct ProtocolLimits: Codable, Sendable, Hashable {
    /// The largest request body, in bytes.
    public var maxBodyBytes: Int
    /// The most mutations one push may carry.
    public var maxMutationsPerPush: Int
    /// The most changes one pull page may carry.
    public var maxPageSize: Int
    /// The page size used when a pull names none.
    public var defaultPageSize: Int
    /// The longest a text field (grounds, message body) may be, in characters.
    public var maxTextLength: Int

    public init(
        maxBodyBytes: Int = 4 * 1024 * 1024,
        maxMutationsPerPush: Int = 500,
        maxPageSize: Int = 5_000,
        defaultPageSize: Int = 1_000,
        maxTextLength: Int = 100_000
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxMutationsPerPush = maxMutationsPerPush
        self.maxPageSize = maxPageSize
        self.defaultPageSize = defaultPageSize
        self.maxTextLength = maxTextLength
    }
}

/// The answer of `GET /.well-known/casesync`.
public struct DiscoveryResponse: Codable, Sendable, Hashable {
    public var server: String
    public var protocolVersions: [Int]
    public var limits: ProtocolLimits

    public init(server: String, protocolVersions: [Int], limits: ProtocolLimits) {
        self.server = server
        self.protocolVersions = protocolVersions
        self.limits = limits
    }
}
