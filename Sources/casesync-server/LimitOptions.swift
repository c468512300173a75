import ArgumentParser
import CaseSyncProtocol
import Foundation

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
    @Option(help: "Largest file a case may hold, in bytes (default 26214400).") var maxAttachmentBytes: Int64?
    @Option(help: "Most bytes of files one case may hold (default 104857600).") var maxCaseAttachmentBytes: Int64?
    @Option(
        help: "Types of file a case may hold, found by content, comma-separated (default all: application/pdf,image/heic,image/heif,image/jpeg,image/png).",
        transform: { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } })
    var attachmentTypes: [String]?

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
        for (name, value) in [("--max-attachment-bytes", maxAttachmentBytes), ("--max-case-attachment-bytes", maxCaseAttachmentBytes)] {
            if let value, value < 1 { throw ValidationError("\(name) must be 1 or more") }
        }
        if let attachmentTypes, let unknown = attachmentTypes.first(where: { !AttachmentRules.defaultTypes.contains($0) }) {
            throw ValidationError(
                "--attachment-types: \(unknown) is not a type the server can recognise; choose from \(AttachmentRules.defaultTypes.joined(separator: ", "))")
        }
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
        if let maxAttachmentBytes { limits.maxAttachmentBytes = maxAttachmentBytes }
        if let maxCaseAttachmentBytes { limits.maxCaseAttachmentBytes = maxCaseAttachmentBytes }
        if let attachmentTypes { limits.attachmentTypes = attachmentTypes }
        return limits
    }
}
