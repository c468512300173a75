import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB
import Logging

/// The client library's entry point: one device's local cache, outbox and sync engine.
/// Every operation but `login` and `sync` works without a network.
///
/// Threads: the network calls (`login`, `sync`, `watch`, …) are async. Reads and edits (`cases(_:)`,
/// `detail(caseId:)`, `edit`, `move`, …) are synchronous SQLite transactions of a few milliseconds (a
/// screen's page of cases takes 1–5 ms on a device holding 95,000; BENCHMARKS.md, "Screens"); they are
/// safe from any thread or task, and an app calls them off its main thread, or reads through the
/// observation streams (`observeCases`, `observeCase`, `observeStatus`, `observeSyncProgress`), which
/// read on a background pool and deliver to the task that iterates them.
public struct CaseSyncClient: Sendable {
    public let database: LocalDatabase
    public let environment: ClientEnvironment
    public var retryPolicy: RetryPolicy
    /// The most mutations sent in one push (the server's limit applies too).
    public var pushBatchSize: Int
    /// The page size asked for on pull.
    public var pullPageSize: Int
    /// The longest text the client accepts before it asks the server (the server announces its own).
    public var maxTextLength: Int
    let logger: Logger

    public init(
        database: LocalDatabase, environment: ClientEnvironment = .live, retryPolicy: RetryPolicy = .init(),
        pushBatchSize: Int = 200, pullPageSize: Int = 1_000, maxTextLength: Int = 100_000,
        logger: Logger = Logger(label: "casesync.client")
    ) {
        self.database = database
        self.environment = environment
        self.retryPolicy = retryPolicy
        self.pushBatchSize = pushBatchSize
        self.pullPageSize = pullPageSize
        self.maxTextLength = maxTextLength
        self.logger = logger
    }

    /// Redeems a login code at the server and stores this device's token and client id. A device the
    /// server signed out (`LocalAccount.signedOut`) may log in again: its local state is replaced, and
    /// edits it never sent (or that were refused) are kept unless `discardPending` says to drop them.
    @discardableResult
    public func login(
        serverURL: String, code: String, deviceName: String?, transport: any SyncTransport, discardPending: Bool = false
    ) async throws -> LocalAccount {
        if let existing = try account() {
            guard existing.signedOut != nil else {
                throw ClientError(.alreadyLoggedIn, "this device is logged in already")
            }
            try checkNothingUnsent(discarding: discardPending)
        }
        let discovery: DiscoveryResponse
        let response: RedeemResponse
        do {
            discovery = try await transport.discover()
            guard discovery.protocolVersions.contains(ProtocolVersion.current) else {
                throw ClientError(
                    .server,
                    "the server speaks protocol versions \(discovery.protocolVersions.map(String.init).joined(separator: ", ")), this client \(ProtocolVersion.current); update the client")
            }
            response = try await transport.redeem(RedeemRequest(code: code, deviceName: deviceName))
        } catch let error as SyncTransportError {
            if case .unreachable(let reason) = error {
                throw ClientError(
                    .unreachable, "cannot reach the server at \(serverURL) (\(reason)); check the address and that the server runs")
            }
            throw ClientError.from(error)
        }
        // The token first: an account kept without its token could neither sync nor log out.
        try database.tokens.write(response.token)
        try await database.writer.write { db in
            // A device signed out before logs in anew: what it held of the account goes.
            try LocalDatabase.forgetAccount(db, profile: false)
            try db.execute(
                sql: """
                    INSERT INTO account (id, server_url, token, client_id, account_id, role, authority_id, display_name)
                    VALUES (1, ?, '', ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    serverURL, response.clientId, response.account.id, response.account.role.rawValue,
                    response.account.authorityId, response.account.displayName,
                ])
        }
        guard let account = try account() else { throw ClientError(.notLoggedIn, "login was not stored") }
        // The register, so that filing can be checked offline; a failure here is mended by a later sync.
        do {
            try await refreshAuthorities(transport: transport)
        } catch {
            logger.notice("the register of authorities could not be fetched at login; the next sync fetches it")
        }
        return account
    }

    /// The logged-in account, or nil.
    public func account() throws -> LocalAccount? {
        try database.writer.read { db in try Self.account(db) }
    }

    static func account(_ db: Database) throws -> LocalAccount? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = 1") else { return nil }
        return LocalAccount(
            serverURL: row["server_url"], clientId: row["client_id"],
            account: AccountInfo(
                id: row["account_id"], role: ActorRole(rawValue: row["role"]) ?? .citizen,
                authorityId: row["authority_id"], displayName: row["display_name"]),
            cursor: row["cursor"], nextMutationId: row["next_mutation_id"],
            lastSyncAt: (row["last_sync_at"] as Int64?).map(Timestamp.init(millisecondsSince1970:)),
            lastSyncError: row["last_sync_error"], signedOut: row["signed_out"])
    }

    static func requireAccount(_ db: Database) throws -> LocalAccount {
        guard let account = try account(db) else {
            throw ClientError.notLoggedIn
        }
        return account
    }

    /// This device's token, from its token store (or, if the store could not take it when the database
    /// was opened, where an earlier version kept it).
    func deviceToken() throws -> String {
        guard try account() != nil else { throw ClientError.notLoggedIn }
        if let token = try database.tokens.read() { return token }
        if let legacy = try database.writer.read({ db in try String.fetchOne(db, sql: "SELECT token FROM account WHERE token <> ''") }) {
            return legacy
        }
        throw ClientError(.signedOut, "this device's token is missing from its token store", reason: "token_missing")
    }

    static func actor(_ account: LocalAccount) -> MutationActor {
        MutationActor(
            accountId: account.account.id, role: account.account.role, authorityId: account.account.authorityId,
            displayName: account.account.displayName, clientId: account.clientId)
    }
}
