import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerPostgres
import CaseSyncServerSQLite
import CaseSyncTesting
import Foundation
import Synchronization

/// The schedule's only source of chance, time and identity. Every draw happens on the scheduler's
/// one task, in program order, so a seed replays exactly.
final class SimSource: Sendable {
    private let random: Mutex<SeededGenerator>
    private let clock: Mutex<Int64>
    private let ids = Mutex(0)
    let seed: UInt64

    init(seed: UInt64) {
        self.seed = seed
        random = Mutex(SeededGenerator(state: seed))
        clock = Mutex(Timestamp(iso8601: "2026-03-02T08:00:00.000Z")!.millisecondsSince1970)
    }

    func int(_ range: Range<Int>) -> Int { random.withLock { Int.random(in: range, using: &$0) } }
    func chance(_ probability: Double) -> Bool { random.withLock { Double.random(in: 0..<1, using: &$0) } < probability }
    func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[int(0..<items.count)] }
    func bytes(_ count: Int) -> [UInt8] { random.withLock { generator in (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) } } }

    /// The wall clock moves a millisecond per reading, and more when the scheduler lets time pass.
    func now() -> Timestamp { clock.withLock { $0 += 1; return Timestamp(millisecondsSince1970: $0) } }
    func advance(milliseconds: Int64) { clock.withLock { $0 += milliseconds } }

    func makeId() -> String {
        let number = ids.withLock { $0 += 1; return $0 }
        let digits = String(number)
        return "5eed0000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
    }

    var clientEnvironment: ClientEnvironment {
        ClientEnvironment(now: { self.now() }, makeId: { self.makeId() }, sleep: { _ in })
    }
}

/// An error the simulated server throws to stop in the middle of a push transaction.
struct SimulatedCrash: Error {}

/// The server: its real logic and its real store — a SQLite file, or a PostgreSQL schema of its own —,
/// restartable (closed and opened again) and crashable inside a push transaction.
final class SimServer: Sendable {
    /// Where the store lives: a SQLite file's path, or a PostgreSQL URL.
    let location: String
    let backend: StoreBackend
    let source: SimSource
    private let state: Mutex<(service: SyncService?, lifetime: StoreLifetime?, crashAfter: Int?, down: Bool)>

    init(backend: StoreBackend, location: String, source: SimSource) throws {
        self.backend = backend
        self.location = location
        self.source = source
        state = Mutex((nil, nil, nil, false))
        try start()
    }

    var environment: ServerEnvironment {
        ServerEnvironment(
            now: { self.source.now() }, makeId: { self.source.makeId() }, randomBytes: { self.source.bytes($0) },
            midPush: { applied in try self.crashIfArmed(applied) })
    }

    private func crashIfArmed(_ applied: Int) throws {
        let crash = state.withLock { state -> Bool in
            guard let after = state.crashAfter, applied >= after else { return false }
            state.crashAfter = nil
            state.down = true
            return true
        }
        if crash { throw SimulatedCrash() }
    }

    /// Opens the store again (after a restart, or a crash that left it down): the SQLite file, or a new
    /// pool to the PostgreSQL schema (the old one ends with its lifetime).
    func start() throws {
        let store: any SyncStore
        var lifetime: StoreLifetime?
        switch backend {
        case .sqlite:
            store = try SQLiteSyncStore(path: location, environment: environment, limits: ProtocolLimits(), logger: simLogger)
        case .postgres:
            let postgres = try PostgresSyncStore(url: location, environment: environment, maxConnections: 2, logger: simLogger)
            lifetime = StoreLifetime(Task { try? await postgres.run() })
            store = postgres
        }
        state.withLock {
            $0.service = SyncService(store: store, limits: ProtocolLimits())
            $0.lifetime = lifetime
            $0.down = false
        }
    }

    func restart() throws {
        stop()
        try start()
    }

    /// Closes the store (a PostgreSQL pool ends with its lifetime). The store's environment refers to
    /// this server, so a world that ends must stop its server for either to be freed.
    func stop() {
        state.withLock {
            $0.service = nil
            $0.lifetime = nil
        }
    }

    /// The next push stops after `mutations` mutations, inside its transaction.
    func armCrash(afterMutations mutations: Int) { state.withLock { $0.crashAfter = mutations } }

    func disarm() { state.withLock { $0.crashAfter = nil } }

    var isDown: Bool { state.withLock { $0.down } }
    var store: (any SyncStore)? { state.withLock { $0.service?.store } }

    /// The server as a transport, or nil while it is down.
    var transport: InProcessTransport? {
        state.withLock { $0.down ? nil : $0.service.map { InProcessTransport(service: $0) } }
    }
}

import Logging

let simLogger: Logger = {
    var logger = Logger(label: "casesync-simulation")
    logger.logLevel = .critical
    return logger
}()
