/// The versions of the CaseSync delta protocol and the HTTP names every request uses.
public enum ProtocolVersion {
    /// The version this build speaks by default.
    public static let current = 1
    /// Every version this build can serve or speak.
    public static let supported: ClosedRange<Int> = 1...1
    /// The request header that names the protocol version of a sync request.
    public static let headerName = "CaseSync-Protocol-Version"
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
