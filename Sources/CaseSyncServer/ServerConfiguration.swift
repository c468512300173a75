import CaseSyncProtocol
import Logging

/// Everything the server needs to start, parsed from flags and the environment by the executable.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Where the SQLite database lives; created on first start.
    public var dataDirectory: String
    /// A PostgreSQL database (`postgres://…`) instead of SQLite, for several instances.
    public var databaseURL: String?
    public var limits: ProtocolLimits
    public var logLevel: Logger.Level
    /// This instance's name in the access log (default: host name and port).
    public var instance: String?
    /// The load balancers whose `X-Forwarded-For` the limits per address believe.
    public var trustedProxies: TrustedProxies
    /// SQLite: pushes that arrive together share one transaction and one flush (on by default).
    public var groupCommit: Bool
    /// Serve HTTPS with this certificate chain and key (PEM files); nil: plain HTTP (on loopback, or
    /// behind a proxy that ends TLS).
    public var tls: TLSFiles?

    /// A certificate chain and its private key, as PEM files.
    public struct TLSFiles: Sendable, Hashable {
        public var certificateChain: String
        public var privateKey: String

        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    public init(
        host: String = "127.0.0.1", port: Int = 8080, dataDirectory: String = "./casesync-data", databaseURL: String? = nil,
        limits: ProtocolLimits = .init(), logLevel: Logger.Level = .info, instance: String? = nil,
        trustedProxies: TrustedProxies = .none, groupCommit: Bool = true, tls: TLSFiles? = nil
    ) {
        self.groupCommit = groupCommit
        self.tls = tls
        self.instance = instance
        self.trustedProxies = trustedProxies
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.limits = limits
        self.logLevel = logLevel
    }

    /// The database file inside the data directory.
    public var databasePath: String { dataDirectory + "/casesync.sqlite" }
}
