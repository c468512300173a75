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
    /// The longest a text field (grounds, message body) may be, in bytes of UTF-8.
    public var maxTextLength: Int
    /// How far ahead of the server's clock a mutation's clock reading may be, in milliseconds.
    public var maxClockSkewMillis: Int64

    public init(
        maxBodyBytes: Int = 4 * 1024 * 1024,
        maxMutationsPerPush: Int = 500,
        maxPageSize: Int = 5_000,
        defaultPageSize: Int = 1_000,
        maxTextLength: Int = 100_000,
        maxClockSkewMillis: Int64 = 300_000
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxMutationsPerPush = maxMutationsPerPush
        self.maxPageSize = maxPageSize
        self.defaultPageSize = defaultPageSize
        self.maxTextLength = maxTextLength
        self.maxClockSkewMillis = maxClockSkewMillis
    }

    private enum CodingKeys: String, CodingKey {
        case maxBodyBytes, maxMutationsPerPush, maxPageSize, defaultPageSize, maxTextLength, maxClockSkewMillis
    }

    /// Limits a server does not announce keep their defaults (servers announce more limits over time).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ProtocolLimits()
        maxBodyBytes = try container.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? defaults.maxBodyBytes
        maxMutationsPerPush = try container.decodeIfPresent(Int.self, forKey: .maxMutationsPerPush) ?? defaults.maxMutationsPerPush
        maxPageSize = try container.decodeIfPresent(Int.self, forKey: .maxPageSize) ?? defaults.maxPageSize
        defaultPageSize = try container.decodeIfPresent(Int.self, forKey: .defaultPageSize) ?? defaults.defaultPageSize
        maxTextLength = try container.decodeIfPresent(Int.self, forKey: .maxTextLength) ?? defaults.maxTextLength
        maxClockSkewMillis = try container.decodeIfPresent(Int64.self, forKey: .maxClockSkewMillis) ?? defaults.maxClockSkewMillis
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
