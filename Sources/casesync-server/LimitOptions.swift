import ArgumentParser
import CaseSyncProtocol

/// The limits an operator sets when serving; every one is announced in discovery.
struct LimitOptions: ParsableArguments {
    @Option(help: "Most connections open at once (default 4096).") var maxConnections: Int?
    @Option(help: "Most connections open at once from one address (default 256).") var maxConnectionsPerAddress: Int?
    @Option(help: "Seconds a silent connection stays open, headers included (default 30).") var idleTimeout: Int?
    @Option(help: "Seconds a request's body may take to arrive (default 60).") var requestTimeout: Int?
    @Option(help: "Most record bytes in one pull page (default 4194304).") var maxPageBytes: Int?
    @Option(help: "Most bytes a citizen's cases may hold; 0 for no limit (default 52428800).") var maxAccountBytes: Int64?
    @Option(help: "Login-code attempts per address per minute; 0 for no limit (default 10).") var redeemPerMinute: Int?
    @Option(help: "Sync requests per device per minute; 0 for no limit (default 600).") var syncPerMinute: Int?
    @Option(help: "Days a device may go unused before it must log in again; 0 for never (default 180).") var sessionIdleDays: Int?
    @Option(help: "Longest wait for news a device may ask for, in seconds; keep it below your proxy's read timeout (default 55).")
    var maxWaitSeconds: Int?

    func validate() throws {
        for (name, value) in [
            ("--max-connections", maxConnections), ("--max-connections-per-address", maxConnectionsPerAddress),
            ("--idle-timeout", idleTimeout), ("--request-timeout", requestTimeout), ("--max-page-bytes", maxPageBytes),
            ("--max-wait-seconds", maxWaitSeconds),
        ] {
            if let value, value < 1 { throw ValidationError("\(name) must be 1 or more") }
        }
        if let maxWaitSeconds, maxWaitSeconds > 3_600 { throw ValidationError("--max-wait-seconds must be at most 3600") }
        if let sessionIdleDays, sessionIdleDays > 36_500 { throw ValidationError("--session-idle-days must be at most 36500 (0: never)") }
        if let maxAccountBytes, maxAccountBytes < 0 { throw ValidationError("--max-account-bytes must be 0 (no limit) or more") }
        for (name, value) in [
            ("--redeem-per-minute", redeemPerMinute), ("--sync-per-minute", syncPerMinute), ("--session-idle-days", sessionIdleDays),
        ] {
            if let value, value < 0 { throw ValidationError("\(name) must be 0 (no limit) or more") }
        }
    }

    /// The defaults with what the operator set.
    var limits: ProtocolLimits {
        var limits = ProtocolLimits()
        if let maxConnections { limits.maxConnections = maxConnections }
        if let maxConnectionsPerAddress { limits.maxConnectionsPerAddress = maxConnectionsPerAddress }
        if let idleTimeout { limits.idleTimeoutSeconds = idleTimeout }
        if let requestTimeout { limits.requestTimeoutSeconds = requestTimeout }
        if let maxPageBytes { limits.maxPageBytes = maxPageBytes }
        if let maxAccountBytes { limits.maxAccountBytes = maxAccountBytes }
        if let redeemPerMinute { limits.redeemAttemptsPerMinute = redeemPerMinute }
        if let syncPerMinute { limits.syncRequestsPerMinute = syncPerMinute }
        if let sessionIdleDays { limits.sessionIdleDays = sessionIdleDays }
        if let maxWaitSeconds { limits.maxWaitSeconds = maxWaitSeconds }
        return limits
    }
}
