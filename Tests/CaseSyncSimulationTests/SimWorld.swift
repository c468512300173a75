import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerPostgres
import CaseSyncServerSQLite
import CaseSyncTesting
import Foundation

/// One device in the simulation: a real client on a real SQLite file, behind a faulty network.
final class SimDevice {
    let name: String
    let role: ActorRole
    let authority: String?
    let path: String
    let transport: FaultyTransport
    var client: CaseSyncClient
    /// Every mutation this device queued, by id (the outbox drains; this does not).
    var queued: [Int64: Mutation] = [:]
    var refusedLocally = 0

    init(name: String, role: ActorRole, authority: String?, path: String, transport: FaultyTransport, source: SimSource) throws {
        self.name = name
        self.role = role
        self.authority = authority
        self.path = path
        self.transport = transport
        client = CaseSyncClient(database: try LocalDatabase(path: path), environment: source.clientEnvironment)
    }

    /// Closes the local database and opens it again, as after the app was killed.
    func restart(source: SimSource) throws {
        client = CaseSyncClient(database: try LocalDatabase(path: path), environment: source.clientEnvironment)
    }

    /// Notes the mutations the last action queued.
    func recordQueued() throws {
        for pending in try client.pendingMutations() where queued[pending.mutation.mutationId] == nil {
            queued[pending.mutation.mutationId] = pending.mutation
        }
    }

    var clientId: String { transport.credentials?.clientId ?? "" }
    var token: String { transport.credentials?.token ?? "" }
    var accountId: String { transport.credentials?.account.id ?? "" }
}

/// A device that sends mutations the rules must refuse, bypassing the client library's own checks.
struct RogueDevice {
    let credentials: RedeemResponse
    var nextMutationId: Int64 = 1
    var sent: [Mutation] = []
    /// Hand-crafted pushes the server refused (each must be).
    var craftedRefused = 0
}

/// One schedule: a server, five devices and a rogue, driven by one seed.
final class SimWorld {
    let source: SimSource
    let directory: URL
    let server: SimServer
    var devices: [SimDevice] = []
    var rogue: RogueDevice
    var trace: [String] = []
    /// Broken guarantees found so far.
    var findings: [String] = []
    var stats = (steps: 0, syncs: 0, failedSyncs: 0, serverRestarts: 0, serverCrashes: 0, clientRestarts: 0)

    init(seed: UInt64, backend: StoreBackend = .sqlite) async throws {
        source = SimSource(seed: seed)
        // Real SQLite files; on a memory file system where there is one, so thousands of schedules stay quick.
        let base = FileManager.default.fileExists(atPath: "/dev/shm")
            ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
        directory = base.appendingPathComponent("casesync-sim-\(seed)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch backend {
        case .sqlite:
            server = try SimServer(backend: .sqlite, location: directory.appendingPathComponent("server.sqlite").path, source: source)
        case .postgres:
            let url = try await TestPostgres.freshSchema()
            let setup = try PostgresSyncStore(url: url, maxConnections: 1, logger: simLogger)
            try await setup.whileRunning { try await $0.migrate() }
            server = try SimServer(backend: .postgres, location: url, source: source)
        }
        let store = try requireStore(server)
        try await store.addAuthorities([
            Authority(id: "gm0344", name: "Gemeente Utrecht", postalAddress: ["Postbus 16200", "3500 CE Utrecht"]),
            Authority(id: "gm0193", name: "Gemeente Zwolle", postalAddress: ["Postbus 10007", "8000 GA Zwolle"]),
        ])
        // Two devices of one citizen, a second citizen, and officers of two authorities.
        let anna = try await store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        let annaLaptop = try await store.inviteDevice(accountId: anna.accountId, validFor: 7)
        let bert = try await store.invite(role: .citizen, authorityId: nil, displayName: "Bert", validFor: 7)
        let olga = try await store.invite(role: .officer, authorityId: "gm0344", displayName: "Olga", validFor: 7)
        let zeno = try await store.invite(role: .officer, authorityId: "gm0193", displayName: "Zeno", validFor: 7)
        let rogueCode = try await store.inviteDevice(accountId: bert.accountId, validFor: 7)
        rogue = RogueDevice(credentials: try await store.redeem(RedeemRequest(code: rogueCode.code, deviceName: "rogue")))
        for (name, role, authority, code) in [
            ("anna-phone", ActorRole.citizen, String?.none, anna.code), ("anna-laptop", .citizen, nil, annaLaptop.code),
            ("bert", .citizen, nil, bert.code), ("olga", .officer, "gm0344", olga.code), ("zeno", .officer, "gm0193", zeno.code),
        ] {
            let device = try SimDevice(
                name: name, role: role, authority: authority, path: directory.appendingPathComponent("\(name).sqlite").path,
                transport: FaultyTransport(server: server, source: source), source: source)
            try await device.client.login(serverURL: "sim://server", code: code, deviceName: name, transport: device.transport)
            devices.append(device)
        }
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func log(_ line: String) { trace.append("[\(stats.steps)] \(line)") }
}

/// The store of a running server (a failed start is a broken harness, not a finding).
func requireStore(_ server: SimServer) throws -> any SyncStore {
    guard let store = server.store else { throw SimulationFailure("the server did not start") }
    return store
}

struct SimulationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
