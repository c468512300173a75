import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerSQLite
import CaseSyncTesting
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// Time, ids and random bytes that replay exactly: the clock moves one second per reading, ids count up.
final class Determinism: Sendable {
    private let state: Mutex<(millis: Int64, id: Int, random: SeededGenerator)>
    private let stepMillis: Int64

    /// `stepMillis` is how far the clock moves per reading (0: it stands still).
    init(start: String = "2026-03-02T09:00:00.000Z", seed: UInt64 = 42, stepMillis: Int64 = 1_000) {
        state = Mutex((Timestamp(iso8601: start)!.millisecondsSince1970, 0, SeededGenerator(state: seed)))
        self.stepMillis = stepMillis
    }

    func now() -> Timestamp {
        state.withLock {
            $0.millis += stepMillis
            return Timestamp(millisecondsSince1970: $0.millis)
        }
    }

    /// Moves the clock on, as days passing would.
    func advance(millis: Int64) {
        state.withLock { $0.millis += millis }
    }

    func makeId() -> String {
        state.withLock {
            $0.id += 1
            let digits = String($0.id)
            return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
        }
    }

    func randomBytes(_ count: Int) -> [UInt8] {
        state.withLock { state in (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &state.random) } }
    }

    var server: ServerEnvironment {
        ServerEnvironment(now: { self.now() }, makeId: { self.makeId() }, randomBytes: { self.randomBytes($0) })
    }

    var client: ClientEnvironment {
        ClientEnvironment(now: { self.now() }, makeId: { self.makeId() }, sleep: { _ in })
    }
}

/// The register the README and the tests use (`authorities/starter.csv`).
let starterAuthorities: [Authority] = {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("authorities/starter.csv")
    return try! AuthorityCSV.parse(String(contentsOf: file, encoding: .utf8))
}()

var quietLogger: Logger {
    var logger = Logger(label: "casesync-test")
    logger.logLevel = .critical
    return logger
}

/// A server with deterministic time and ids: on an in-memory SQLite database, or on a schema of its
/// own in the run's PostgreSQL (the store contract: the same test against each `StoreBackend`).
struct TestServer {
    let store: any SyncStore
    let service: SyncService
    let determinism: Determinism
    let backend: StoreBackend
    /// Keeps the store's pool running as long as the server is used.
    let lifetime: StoreLifetime

    init(limits: ProtocolLimits = .init(), determinism: Determinism = Determinism()) throws {
        self.determinism = determinism
        let store = try SQLiteSyncStore(writer: DatabaseQueue(), environment: determinism.server, limits: limits, logger: quietLogger)
        try store.seedAuthorities(starterAuthorities)
        self.store = store
        service = SyncService(store: store, limits: limits, now: { [determinism] in determinism.now() })
        backend = .sqlite
        lifetime = StoreLifetime()
    }

    init(_ backend: StoreBackend, limits: ProtocolLimits = .init(), determinism: Determinism = Determinism()) async throws {
        self.determinism = determinism
        (store, lifetime) = try await backend.makeStore(environment: determinism.server, limits: limits, logger: quietLogger)
        try await store.addAuthorities(starterAuthorities, replacingAll: false)
        service = SyncService(store: store, limits: limits, now: { [determinism] in determinism.now() })
        self.backend = backend
    }

    /// A server over a store the test opened (a file database, say), seeded already.
    init(store: any SyncStore, limits: ProtocolLimits = .init(), determinism: Determinism) {
        self.determinism = determinism
        self.store = store
        service = SyncService(store: store, limits: limits, now: { [determinism] in determinism.now() })
        backend = .sqlite
        lifetime = StoreLifetime()
    }

    var transport: InProcessTransport { InProcessTransport(service: service) }
    var router: Router<CaseSyncRequestContext> { router() }

    func router(trustedProxies: TrustedProxies = .none) -> Router<CaseSyncRequestContext> {
        buildRouter(service: service, now: { [determinism] in determinism.now() }, trustedProxies: trustedProxies)
    }

    /// Invites an account and redeems its code: a logged-in device's token and client id.
    func device(_ role: ActorRole, name: String, authority: String? = nil) async throws -> RedeemResponse {
        let invitation = try await store.invite(role: role, authorityId: authority, displayName: name, validFor: 7)
        return try await store.redeem(RedeemRequest(code: invitation.code, deviceName: "test"))
    }

    /// Another device of an existing account.
    func device(of account: String) async throws -> RedeemResponse {
        let invitation = try await store.inviteDevice(accountId: account, validFor: 7)
        return try await store.redeem(RedeemRequest(code: invitation.code, deviceName: "test"))
    }

    /// A client (in-memory local database) logged in with a fresh login code.
    func client(
        _ role: ActorRole, name: String, authority: String? = nil, account: String? = nil, transport: any SyncTransport
    ) async throws -> CaseSyncClient {
        let invitation =
            if let account {
                try await store.inviteDevice(accountId: account, validFor: 7)
            } else {
                try await store.invite(role: role, authorityId: authority, displayName: name, validFor: 7)
            }
        let client = CaseSyncClient(database: try LocalDatabase.inMemory(), environment: determinism.client)
        try await client.login(serverURL: "http://test", code: invitation.code, deviceName: name, transport: transport)
        return client
    }

    /// Runs the server on an ephemeral port of 127.0.0.1 for the duration of `body` (over HTTPS with `tls`).
    func live<T: Sendable>(
        trustedProxies: TrustedProxies = .none, tls: ServerConfiguration.TLSFiles? = nil, _ body: @Sendable (URL) async throws -> T
    ) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let connections = ConnectionLimits(service.limits, trustedProxies: trustedProxies)
        let app = Application(
            router: router(trustedProxies: trustedProxies),
            server: try connections.server(tls: try tls.map(ServerTLS.configuration)),
            configuration: connections.configuration(address: .hostname("127.0.0.1", port: 0), logger: quietLogger),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            defer { group.cancelAll() }
            return try await body(URL(string: "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)")!)
        }
    }
}

/// Runs a plain router (a server that is not CaseSync's: a hostile one, a redirecting one) on an
/// ephemeral port of 127.0.0.1 for the duration of `body`, which gets the server's URL.
func serveLocally<T: Sendable>(_ router: Router<BasicRequestContext>, _ body: @Sendable (URL) async throws -> T) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quietLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        defer { group.cancelAll() }
        return try await body(URL(string: "http://127.0.0.1:\(port)")!)
    }
}

extension Mutation {
    static func create(_ id: Int64, caseId: String, authority: String = "gm0344", grounds: String = "My permit was valid") -> Mutation {
        Mutation(
            mutationId: id, caseId: caseId, baseVersion: nil, hlc: HLCTimestamp(millis: 1_000 + id, counter: 0, node: "t"),
            operation: .create(
                NewCase(
                    kind: .objection, authorityId: authority,
                    fields: ["title": "Parking fine", "grounds": grounds, "decisionReference": "PT-1", "decisionDate": "2026-03-02"])))
    }

    static func submit(_ id: Int64, caseId: String) -> Mutation {
        Mutation(
            mutationId: id, caseId: caseId, baseVersion: 1, hlc: HLCTimestamp(millis: 1_000 + id, counter: 0, node: "t"),
            operation: .transition(StatusTransition(to: .submitted)))
    }
}

extension PushRequest {
    /// A push whose clock readings carry the pushing device's client id as their node, as a real
    /// device's do (the server refuses readings of another node).
    init(stamping clientId: String, mutations: [Mutation]) {
        self.init(clientId: clientId, mutations: mutations.map { mutation in
            var mutation = mutation
            mutation.hlc.node = clientId
            return mutation
        })
    }
}

/// A lower-case UUID that spells a short test name (at most 16 bytes) in its last hex digits, so ids
/// in failing tests stay readable: `testId("a")` is `00000000-0000-0000-0000-000000000061`.
func testId(_ name: String) -> String {
    precondition(name.utf8.count <= 16)
    let hex = Array(name.utf8).map { String($0, radix: 16) }.joined()
    let digits = Array(String(repeating: "0", count: 32 - hex.count) + hex)
    return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(digits[$0]) }.joined(separator: "-")
}

/// The id the device with `clientId` gives a case or message it creates, spelling a test name of at
/// most 9 bytes (PROTOCOL.md §2: created ids carry the creating device's tag).
func testId(_ name: String, by clientId: String) -> String {
    precondition(name.utf8.count <= 9)
    return CreatedId.make(from: testId(name), clientId: clientId)
}
