import ArgumentParser
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerApp
import Foundation
import NIOCore
import Hummingbird
import Logging

@main
struct CaseSyncServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "casesync-server",
        abstract: "The CaseSync sync server: keeps citizens' cases and serves the delta protocol.",
        subcommands: [Serve.self, Invite.self, Devices.self, Accounts.self, Erase.self, Audit.self, Authorities.self, Backup.self, Restore.self, Migrate.self, Compact.self],
        defaultSubcommand: Serve.self)
}

/// Flags every subcommand shares.
struct StorageOptions: ParsableArguments {
    @Option(
        name: .customLong("data-dir"),
        help: "Directory holding the SQLite database (env CASESYNC_DATA_DIR; default ./casesync-data).")
    var dataDirectory: String?
    @Option(
        name: .customLong("database"),
        help: "A PostgreSQL database instead of SQLite, for several instances: postgres://user:password@host:5432/casesync (env CASESYNC_DATABASE_URL).")
    var databaseURL: String?

    var resolvedDataDirectory: String {
        dataDirectory ?? ProcessInfo.processInfo.environment["CASESYNC_DATA_DIR"] ?? "./casesync-data"
    }

    var resolvedDatabaseURL: String? {
        databaseURL ?? ProcessInfo.processInfo.environment["CASESYNC_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var configuration: ServerConfiguration {
        ServerConfiguration(dataDirectory: resolvedDataDirectory, databaseURL: resolvedDatabaseURL)
    }

    /// Runs `body` with the store open, for a command that uses it once; errors become messages.
    func withStore<T: Sendable>(_ body: (any SyncStore) async throws -> T) async throws -> T {
        var logger = Logger(label: "casesync-server")
        logger.logLevel = .warning
        let configuration = configuration
        return try await exitOnServiceError(configuration) { try await Backend.withStore(configuration, logger: logger, body) }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server.")

    @OptionGroup var storage: StorageOptions
    @Option(help: "Address to listen on (env CASESYNC_HOST).") var host: String?
    @Option(help: "Port to listen on (env CASESYNC_PORT; default 8080).") var port: Int?
    @Option(help: "Log level: trace, debug, info (with a line per request), notice, warning, error, critical.")
    var logLevel: String = "info"
    @Option(help: "This instance's name in the access log (env CASESYNC_INSTANCE; default: host name and port).")
    var instance: String?
    @Option(help: "A register file (CSV) to import when the register is empty, e.g. authorities/starter.csv.")
    var seedAuthorities: String?
    @Option(
        name: .customLong("trusted-proxy"),
        help: ArgumentHelp(
            "A load balancer (address or range, e.g. 10.0.0.0/8; repeatable; env CASESYNC_TRUSTED_PROXIES, comma-separated) whose X-Forwarded-For the limits per address believe.",
            valueName: "address"))
    var trustedProxyEntries: [String] = []
    @Flag(
        help: "SQLite: give every push a transaction and a flush of its own instead of letting pushes that arrive together share them (slower; for measuring).")
    var noGroupCommit = false
    @Option(
        help: ArgumentHelp(
            "Serve HTTPS with this certificate chain (PEM, the server's certificate first; env CASESYNC_TLS_CERTIFICATE). Needs --tls-key.",
            valueName: "file"))
    var tlsCertificate: String?
    @Option(help: ArgumentHelp("The certificate's private key (PEM; env CASESYNC_TLS_KEY).", valueName: "file"))
    var tlsKey: String?
    @OptionGroup(title: "Limits (announced in discovery)") var limitOptions: LimitOptions

    /// The TLS files from the flags, or else the environment.
    var tlsFiles: ServerConfiguration.TLSFiles? {
        let environment = ProcessInfo.processInfo.environment
        let certificate = tlsCertificate ?? environment["CASESYNC_TLS_CERTIFICATE"].flatMap { $0.isEmpty ? nil : $0 }
        let key = tlsKey ?? environment["CASESYNC_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        guard let certificate, let key else { return nil }
        return ServerConfiguration.TLSFiles(certificateChain: certificate, privateKey: key)
    }

    func validate() throws {
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ValidationError("HTTPS needs both --tls-certificate and --tls-key")
        }
        if let port, !(1...65_535).contains(port) { throw ValidationError("--port must be between 1 and 65535") }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        do { _ = try trustedProxies } catch { throw ValidationError("--trusted-proxy: \(error.message)") }
    }

    /// The flags' trusted proxies, or the environment's when no flag names one.
    var trustedProxies: TrustedProxies {
        get throws(TrustedProxyError) {
            let entries = trustedProxyEntries.isEmpty
                ? (ProcessInfo.processInfo.environment["CASESYNC_TRUSTED_PROXIES"] ?? "").split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.filter { !$0.isEmpty }
                : trustedProxyEntries
            return try TrustedProxies(entries)
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let resolvedPort = port ?? environment["CASESYNC_PORT"].flatMap(Int.init) ?? 8080
        let logger = Logger(label: "casesync-server")
        var limits = limitOptions.limits
        fitConnectionsToOpenFileLimit(&limits, logger: logger)
        let configuration = ServerConfiguration(
            host: host ?? environment["CASESYNC_HOST"] ?? "127.0.0.1", port: resolvedPort,
            dataDirectory: storage.resolvedDataDirectory, databaseURL: storage.resolvedDatabaseURL, limits: limits,
            logLevel: Logger.Level(rawValue: logLevel) ?? .info, instance: instance ?? environment["CASESYNC_INSTANCE"],
            trustedProxies: try trustedProxies, groupCommit: !noGroupCommit, tls: tlsFiles)
        if let seedAuthorities {
            try await Authorities.Import.seed(from: seedAuthorities, storage: storage, logger: logger)
        }
        // One server a data directory; a restore waits for it to stop.
        let lock = try configuration.databaseURL == nil
            ? exitOnError {
                try DataDirectoryLock(
                    configuration.dataDirectory, what: "another server is serving \(configuration.dataDirectory) (or a restore runs): stop it first")
            } : nil
        defer { _ = lock }
        let app = try await exitOnServiceError(configuration) { try await buildApplication(configuration) }
        logger.info("serving the \(Backend.describe(configuration)) over \(configuration.tls == nil ? "HTTP" : "HTTPS")")
        do {
            try await app.runService()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            FileHandle.standardError.write(
                Data("casesync-server: port \(resolvedPort) on \(configuration.host) is in use; stop the other server or pass --port\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct Invite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an account (or another device of one) and print its one-time login code.")

    @OptionGroup var storage: StorageOptions
    @Option(help: "citizen or officer.") var role: String?
    @Option(help: "The authority an officer works for: its id in the register (e.g. gm0344).") var authority: String?
    @Option(help: "The person's name, as others will see it on messages.") var name: String?
    @Option(help: "Make a code for another device of this existing account id instead.") var account: String?
    @Option(help: "Days the code stays valid.") var days: Int = 7
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        if account != nil {
            if role != nil || name != nil || authority != nil {
                throw ValidationError("--account makes a code for an existing account; leave out --role, --name and --authority")
            }
        } else {
            guard let role, let parsed = ActorRole(rawValue: role) else {
                throw ValidationError("--role must be citizen or officer")
            }
            guard let name, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--name is needed: the person's name")
            }
            if parsed == .officer, authority?.isEmpty ?? true {
                throw ValidationError("an officer works for an authority: add --authority ID")
            }
        }
        guard (1...90).contains(days) else { throw ValidationError("--days must be between 1 and 90") }
    }

    func run() async throws {
        let (account, role, authority, name, days) = (account, role, authority, name, days)
        let invitation = try await storage.withStore { store in
            if let account { return try await store.inviteDevice(accountId: account, validFor: days) }
            return try await store.invite(role: ActorRole(rawValue: role!)!, authorityId: authority, displayName: name!, validFor: days)
        }
        if json {
            let object = ["accountId": invitation.accountId, "code": invitation.code, "expiresAt": invitation.expiresAt.description]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("login code: \(invitation.code)")
            print("account:    \(invitation.accountId)")
            print("valid until \(invitation.expiresAt) — use it once: casesync login <server URL> \(invitation.code)")
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the database, then exit.")
    @OptionGroup var storage: StorageOptions

    func run() async throws {
        try await storage.withStore { _ in }
        print("the \(Backend.describe(storage.configuration)) is up to date")
    }
}

struct Compact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop deletion records older than the retention horizon; dispose of closed cases kept long enough.",
        discussion: """
            Clients whose last sync is older than the horizon then pull their cases again in full, keeping their unsent changes.
            With --closed-case-days, a case closed or withdrawn on which nothing changed for that many days is disposed of first: \
            its records are left without content, the citizen's and the officers' devices drop it on their next sync, and the audit \
            trail keeps what was done to it. Run it daily (a cron job or a systemd timer) with the periods your records schedule sets.
            """)
    @OptionGroup var storage: StorageOptions
    @Option(help: "Keep deletion records this many days.") var retentionDays: Int = 90
    @Option(help: "Dispose of cases closed or withdrawn, and unchanged, for this many days (default: keep them).")
    var closedCaseDays: Int?
    @Flag(help: "Check every file held against the attachments that name it (after a crash between a deletion and its sweep).")
    var sweepFiles = false

    func validate() throws {
        guard retentionDays >= 0 else { throw ValidationError("--retention-days must be 0 or more") }
        if let closedCaseDays, closedCaseDays < 1 { throw ValidationError("--closed-case-days must be 1 or more") }
    }

    func run() async throws {
        let (retentionDays, closedCaseDays, sweepFiles) = (retentionDays, closedCaseDays, sweepFiles)
        let (disposal, report, sweep) = try await storage.withStore { store in
            var disposal: DisposalReport?
            if let closedCaseDays { disposal = try await store.dispose(closedCaseDays: closedCaseDays) }
            let report = try await store.compact(retentionDays: retentionDays)
            // Uploads never attached expire; files nothing refers to go.
            let sweep = try await BlobSweep(store: store).collect(now: ServerEnvironment.live.now(), everything: sweepFiles)
            return (disposal, report, sweep)
        }
        if let disposal, let closedCaseDays {
            print("disposed of \(disposal.cases) case(s) closed for \(closedCaseDays) days or more (\(disposal.records) record(s) left without content)")
        }
        print("removed \(report.tombstonesRemoved) deletion record(s); cursors below \(report.compactedThrough) will pull again in full")
        print("removed \(sweep.blobsDeleted) file(s) nothing refers to; \(sweep.uploadsExpired) upload(s) never attached expired")
    }
}

/// Runs `body`, turning a service error (or a database that cannot be used) into a message on
/// standard error and exit code 1.
func exitOnServiceError<T>(_ configuration: ServerConfiguration = ServerConfiguration(), _ body: () async throws -> T)
    async throws -> T
{
    do {
        return try await body()
    } catch let error as ServiceError {
        FileHandle.standardError.write(Data("casesync-server: \(error.message)\n".utf8))
        throw ExitCode.failure
    } catch {
        guard let message = Backend.explain(error, configuration) else { throw error }
        FileHandle.standardError.write(Data("casesync-server: \(message)\n".utf8))
        throw ExitCode.failure
    }
}
